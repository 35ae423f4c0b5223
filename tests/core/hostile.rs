//! The hostile-reply corpus (`tests/fixtures/hostile.json`) through the native core, exactly as
//! the wasm adapter drives it: `read_body_needed` on the status and `Content-Length` first (a
//! redirect or an announced oversized body is settled unread), then the step's `process_*`
//! function on one clock reading. Each case must give its expected code or result; every error
//! carries the reply's status and keeps every secret of the request, the raw body and any HTML
//! out of its message, `Display`, `Debug` and JSON. The same file is replayed through the wasm
//! module by tests/ts/hostile.test.ts.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use oauth_device_flow::http::read_body_needed;
use oauth_device_flow::json::{self, Value};
use oauth_device_flow::{
    code_exchange_request, openai_codex_provider, process_code_exchange,
    process_device_authorization, process_poll, process_refresh, process_revocation,
    rfc8628_provider, AfterPoll, CodeExchange, DeviceCode, Error, ErrorCode, HttpResponse,
    PollResult, Provider, RefreshInput, RequestKind, Secret, Tokens,
};
use std::collections::BTreeSet;

const FIXTURE: &str = include_str!("../fixtures/hostile.json");

struct Corpus {
    now: f64,
    secrets: Vec<String>,
    raw_body_marker: String,
    cases: Vec<Value>,
    doc: Value,
}

fn corpus() -> Corpus {
    let doc = json::parse(FIXTURE.as_bytes()).expect("tests/fixtures/hostile.json is JSON");
    let secrets = doc
        .get("secrets")
        .map(|s| {
            s.members()
                .iter()
                .filter_map(|(_, v)| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let cases = match doc.get("cases") {
        Some(Value::Array(items)) => items.clone(),
        _ => panic!("hostile.json has no cases"),
    };
    Corpus {
        now: doc.get("now").and_then(Value::as_f64).expect("now"),
        raw_body_marker: str_of(&doc, "rawBodyMarker").to_owned(),
        secrets,
        cases,
        doc,
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing string {key}"))
}

fn secret(c: &Corpus, name: &str) -> String {
    str_of(c.doc.get("secrets").expect("secrets"), name).to_owned()
}

/// The body bytes a case describes: a string, `{base64}`, or `{generate}`.
pub fn body_bytes(body: &Value) -> Vec<u8> {
    match body {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Object(_) => {
            if let Some(b64) = body.get("base64").and_then(Value::as_str) {
                return STANDARD.decode(b64).expect("base64 body");
            }
            let g = body.get("generate").expect("body.generate");
            let text = |k: &str| g.get(k).and_then(Value::as_str).unwrap_or("");
            let (prefix, fill, suffix) = (text("prefix"), text("fill"), text("suffix"));
            let count = match (g.get("count"), g.get("totalBytes")) {
                (Some(n), _) => n.as_f64().expect("count") as usize,
                (None, Some(t)) => {
                    let room =
                        t.as_f64().expect("totalBytes") as usize - prefix.len() - suffix.len();
                    assert_eq!(room % fill.len(), 0, "totalBytes must be reachable");
                    room / fill.len()
                }
                _ => panic!("generate needs count or totalBytes"),
            };
            format!("{prefix}{}{suffix}", fill.repeat(count)).into_bytes()
        }
        _ => panic!("body must be a string or an object"),
    }
}

fn header<'a>(case: &'a Value, name: &str) -> Option<&'a str> {
    case.get("headers")?
        .members()
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

fn provider(c: &Corpus, kind: &str) -> Provider {
    let options = match kind {
        "openai-codex" => r#"{"issuer":"https://auth.example.com"}"#.to_owned(),
        "rfc8628" => format!(
            r#"{{"clientId":"hostile-client","clientAuth":"client_secret_post","clientSecret":"{}","deviceAuthorizationEndpoint":"https://idp.example.com/device","tokenEndpoint":"https://idp.example.com/token","revocationEndpoint":"https://idp.example.com/revoke","scope":"openid"}}"#,
            secret(c, "clientSecret")
        ),
        other => panic!("unknown kind {other}"),
    };
    let v = json::parse(options.as_bytes()).expect("provider options");
    match kind {
        "openai-codex" => openai_codex_provider(&v),
        _ => rfc8628_provider(&v),
    }
    .expect("provider")
}

/// What a case produced.
#[derive(Debug)]
enum Outcome {
    Error(Error),
    Device(DeviceCode),
    Pending(f64),
    SlowDown(f64),
    Approved,
    Tokens(Tokens),
    Revoked,
}

fn run(c: &Corpus, case: &Value) -> Outcome {
    let p = provider(c, str_of(case, "kind"));
    let status = case.get("status").and_then(Value::as_f64).expect("status") as u16;
    let op = str_of(case, "op");
    let step = match op {
        "device" => RequestKind::DeviceAuthorization,
        "poll" => RequestKind::Poll,
        "exchange" => RequestKind::CodeExchange,
        "refresh" => RequestKind::Refresh,
        "revoke" => RequestKind::Revocation,
        other => panic!("unknown op {other}"),
    };
    let read = match read_body_needed(step, status, header(case, "content-length")) {
        Ok(read) => read,
        Err(e) => return Outcome::Error(e),
    };
    let resp = HttpResponse {
        status,
        retry_after: header(case, "retry-after").map(str::to_owned),
        body: if read {
            body_bytes(case.get("body").expect("body"))
        } else {
            Vec::new()
        },
    };
    let now = c.now;
    let code = DeviceCode {
        device_code: Secret::new(secret(c, "deviceCode")),
        user_code: "WDJB-MJHT".into(),
        verification_uri: "https://idp.example.com/device".into(),
        verification_uri_complete: None,
        interval_ms: 5000.0,
        expires_at: now + 900_000.0,
    };
    let result = match op {
        "device" => process_device_authorization(&p, &resp, now).map(Outcome::Device),
        "poll" => process_poll(&p, &code, &resp, now).map(|s| match s {
            AfterPoll::Done(PollResult::Pending { interval_ms }) => Outcome::Pending(interval_ms),
            AfterPoll::Done(PollResult::SlowDown { interval_ms }) => Outcome::SlowDown(interval_ms),
            AfterPoll::Done(PollResult::Success(t)) => Outcome::Tokens(t),
            AfterPoll::Exchange(_) => Outcome::Approved,
        }),
        "exchange" => {
            let (ac, cv) = (
                Secret::new(secret(c, "authorizationCode")),
                Secret::new(secret(c, "codeVerifier")),
            );
            let exchange = CodeExchange {
                request: code_exchange_request(&p, &ac, &cv),
                authorization_code: ac,
                code_verifier: cv,
            };
            process_code_exchange(&p, &exchange, &resp, now).map(Outcome::Tokens)
        }
        "refresh" => {
            let input = RefreshInput {
                refresh_token: Secret::new(secret(c, "refreshToken")),
                previous: Some(Tokens {
                    access_token: Secret::new(secret(c, "accessToken")),
                    token_type: "Bearer".into(),
                    refresh_token: Some(Secret::new(secret(c, "refreshToken"))),
                    id_token: None,
                    scope: Some("openid".into()),
                    expires_at: Some(now),
                }),
            };
            process_refresh(&p, &input, &resp, now).map(Outcome::Tokens)
        }
        _ => process_revocation(&p, &Secret::new(secret(c, "refreshToken")), &resp, now)
            .map(|()| Outcome::Revoked),
    };
    result.unwrap_or_else(Outcome::Error)
}

/// Compares one outcome with the case's `expect`; returns what differs.
fn check(c: &Corpus, case: &Value, outcome: &Outcome) -> Vec<String> {
    let expect = case.get("expect").expect("expect");
    let want = str_of(expect, "code");
    let status = case.get("status").and_then(Value::as_f64).map(|s| s as u16);
    let mut diffs = Vec::new();
    let mut diff = |what: &str, got: String, wanted: String| {
        if got != wanted {
            diffs.push(format!("{what}: got {got}, want {wanted}"));
        }
    };
    let num = |key: &str| expect.get(key).map(|v| v.as_f64());
    let got_code = match outcome {
        Outcome::Error(e) => e.code.as_str(),
        Outcome::Device(_) | Outcome::Tokens(_) => "success",
        Outcome::Pending(_) => "pending",
        Outcome::SlowDown(_) => "slow_down",
        Outcome::Approved => "approved",
        Outcome::Revoked => "ok",
    };
    diff("code", got_code.into(), want.into());
    match outcome {
        Outcome::Error(e) => {
            diff("status", format!("{:?}", e.status), format!("{status:?}"));
            let retryable = ErrorCode::parse(want).map(ErrorCode::retryable);
            diff(
                "retryable",
                format!("{:?}", Some(e.retryable())),
                format!("{retryable:?}"),
            );
            if let Some(v) = expect.get("serverCode") {
                diff(
                    "serverCode",
                    format!("{:?}", e.server_code.as_deref()),
                    format!("{:?}", v.as_str()),
                );
            }
            if let Some(ms) = num("retryAfterMs") {
                diff(
                    "retryAfterMs",
                    format!("{:?}", e.retry_after_ms),
                    format!("{ms:?}"),
                );
            }
            let views = [
                e.message.clone(),
                e.to_string(),
                format!("{e:?}"),
                e.to_json(),
            ];
            for view in views {
                for s in c.secrets.iter().chain([&c.raw_body_marker]) {
                    if view.contains(s.as_str()) {
                        diffs.push(format!("leaks {s}: {view}"));
                    }
                }
                for marker in ["<html", "<!DOCTYPE", "<form", "<script"] {
                    if view
                        .to_ascii_lowercase()
                        .contains(&marker.to_ascii_lowercase())
                    {
                        diffs.push(format!("quotes the raw body ({marker}): {view}"));
                    }
                }
                if view.chars().any(|ch| ch.is_control()) && view == e.message {
                    diffs.push(format!("control character in the message: {view:?}"));
                }
            }
        }
        Outcome::Device(d) => {
            if let Some(ms) = num("intervalMs") {
                diff(
                    "intervalMs",
                    format!("{:?}", Some(d.interval_ms)),
                    format!("{ms:?}"),
                );
            }
            if let Some(ms) = num("expiresInMs") {
                diff(
                    "expiresInMs",
                    format!("{:?}", Some(d.expires_at - c.now)),
                    format!("{ms:?}"),
                );
            }
            if let Some(u) = expect.get("userCode").and_then(Value::as_str) {
                diff("userCode", d.user_code.clone(), u.into());
            }
            if let Some(v) = expect.get("verificationUriComplete") {
                diff(
                    "verificationUriComplete",
                    format!("{:?}", d.verification_uri_complete.as_deref()),
                    format!("{:?}", v.as_str()),
                );
            }
        }
        Outcome::Pending(ms) | Outcome::SlowDown(ms) => {
            if let Some(want) = num("intervalMs") {
                diff(
                    "intervalMs",
                    format!("{:?}", Some(*ms)),
                    format!("{want:?}"),
                );
            }
        }
        Outcome::Tokens(t) => {
            if let Some(ms) = num("expiresInMs") {
                diff(
                    "expiresInMs",
                    format!("{:?}", t.expires_at.map(|at| at - c.now)),
                    format!("{ms:?}"),
                );
            }
            let strings = [
                ("accessToken", Some(t.access_token.expose())),
                ("refreshToken", t.refresh_token.as_ref().map(Secret::expose)),
                ("tokenType", Some(t.token_type.as_str())),
                ("scope", t.scope.as_deref()),
            ];
            for (key, got) in strings {
                if let Some(v) = expect.get(key) {
                    diff(key, format!("{got:?}"), format!("{:?}", v.as_str()));
                }
            }
        }
        Outcome::Approved | Outcome::Revoked => {}
    }
    diffs
}

#[test]
fn every_hostile_reply_gives_its_expected_code_with_no_secret_in_any_error() {
    let c = corpus();
    let mut failures = Vec::new();
    for case in &c.cases {
        let outcome = run(&c, case);
        let diffs = check(&c, case, &outcome);
        if !diffs.is_empty() {
            failures.push(format!(
                "{}:\n    {}",
                str_of(case, "name"),
                diffs.join("\n    ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases fail:\n{}",
        failures.len(),
        c.cases.len(),
        failures.join("\n")
    );
}

#[test]
fn the_hostile_corpus_has_60_cases_in_every_category_the_issue_names() {
    let c = corpus();
    assert!(c.cases.len() >= 60, "{} cases", c.cases.len());
    let categories: BTreeSet<&str> = c.cases.iter().map(|k| str_of(k, "category")).collect();
    for needed in [
        "html",
        "truncated",
        "nesting",
        "types",
        "missing",
        "empty",
        "cap",
        "numbers",
        "status",
        "content-type",
        "duplicates",
        "unicode",
        "urls",
        "bytes",
        "echo",
        "retry-after",
    ] {
        assert!(categories.contains(needed), "no {needed} case");
    }
    let names: BTreeSet<&str> = c.cases.iter().map(|k| str_of(k, "name")).collect();
    assert_eq!(names.len(), c.cases.len(), "case names are unique");
    // Every operation against both kinds where the kind has it.
    for (op, kind) in [
        ("device", "openai-codex"),
        ("device", "rfc8628"),
        ("poll", "openai-codex"),
        ("poll", "rfc8628"),
        ("exchange", "openai-codex"),
        ("refresh", "openai-codex"),
        ("refresh", "rfc8628"),
        ("revoke", "openai-codex"),
        ("revoke", "rfc8628"),
    ] {
        assert!(
            c.cases
                .iter()
                .any(|k| str_of(k, "op") == op && str_of(k, "kind") == kind),
            "no {op} case for {kind}"
        );
    }
    // Every status family the issue lists.
    for family in [100, 204, 300, 418, 999] {
        assert!(
            c.cases
                .iter()
                .any(|k| k.get("status").and_then(Value::as_f64) == Some(f64::from(family))),
            "no case with status {family}"
        );
    }
}

#[test]
fn generated_bodies_have_the_size_they_claim() {
    let exact = json::parse(
        br#"{"generate":{"prefix":"{\"a\":\"","fill":"\u00e9","totalBytes":65537,"suffix":"\"}x"}}"#,
    )
    .expect("spec");
    let bytes = body_bytes(&exact);
    assert_eq!(bytes.len(), 65_537);
    assert!(String::from_utf8(bytes).is_ok_and(|s| s.chars().count() < 65_537));
    let counted =
        json::parse(br#"{"generate":{"fill":"[","count":3,"suffix":"]"}}"#).expect("spec");
    assert_eq!(body_bytes(&counted), b"[[[]");
}
