//! No secret (tokens, device code, authorization code, code verifier, client secret) and no raw
//! body in any error message, `to_json()`, or `Debug` output of requests, replies, results and
//! errors.

use crate::support::*;
use oauth_device_flow::wait::{WaitAction, WaitDecision};
use oauth_device_flow::{
    device_authorization_request, poll_request, process_code_exchange,
    process_device_authorization, process_poll, process_refresh, process_revocation,
    refresh_request, revocation_request, AfterPoll, CodeExchange, Error, ErrorCode, HttpResponse,
    PollResult, Provider, RefreshInput, Secret, Tokens,
};

fn full_tokens() -> Tokens {
    Tokens {
        access_token: Secret::new(ACCESS),
        token_type: "Bearer".into(),
        refresh_token: Some(Secret::new(REFRESH)),
        id_token: Some(Secret::new(ID_TOKEN)),
        scope: Some("openid".into()),
        expires_at: Some(NOW),
    }
}

fn exchange() -> CodeExchange {
    let AfterPoll::Exchange(x) = process_poll(
        &codex(),
        &device_code(),
        &reply(
            200,
            &format!(r#"{{"authorization_code":"{AUTH_CODE}","code_verifier":"{CODE_VERIFIER}"}}"#),
        ),
        NOW,
    )
    .unwrap() else {
        panic!("expected an exchange")
    };
    x
}

#[test]
fn debug_of_every_value_that_carries_secrets_shows_none_of_them() {
    let input = RefreshInput {
        refresh_token: Secret::new(REFRESH),
        previous: Some(full_tokens()),
    };
    let shown = [
        format!("{:?}", rfc(Auth::Post)),
        format!("{:?}", rfc(Auth::Basic)),
        format!("{:?}", device_code()),
        format!("{:?}", full_tokens()),
        format!("{input:?}"),
        format!("{:?}", exchange()),
        format!("{:?}", AfterPoll::Done(PollResult::Success(full_tokens()))),
        format!(
            "{:?}",
            WaitDecision {
                events: vec![],
                action: WaitAction::Done(full_tokens())
            }
        ),
        format!("{:?}", Secret::new(CLIENT_SECRET)),
        format!(
            "{:?}",
            reply(
                200,
                &format!(r#"{{"access_token":"{ACCESS}","refresh_token":"{REFRESH}"}}"#)
            )
        ),
    ];
    for text in &shown {
        assert_clean_text("Debug", text);
    }
}

#[test]
fn debug_of_every_request_hides_body_and_basic_credentials() {
    let mut requests = vec![
        device_authorization_request(&codex()),
        poll_request(&codex(), &device_code(), NOW).unwrap(),
        exchange().request,
        refresh_request(&codex(), &Secret::new(REFRESH)),
        revocation_request(&codex(), &Secret::new(REFRESH)).unwrap(),
    ];
    for auth in ALL_AUTH {
        let p = rfc(auth);
        requests.push(device_authorization_request(&p));
        requests.push(poll_request(&p, &device_code(), NOW).unwrap());
        requests.push(refresh_request(&p, &Secret::new(REFRESH)));
        requests.push(revocation_request(&p, &Secret::new(REFRESH)).unwrap());
    }
    for req in &requests {
        let shown = format!("{req:?}");
        assert_clean_text("request Debug", &shown);
        assert!(shown.contains(&req.url), "the URL is not a secret: {shown}");
        assert!(shown.contains("POST"), "{shown}");
    }
}

/// A provider's own header can be a secret (an API key), and so can an extra parameter: their
/// values never show in the `Debug` of the provider or of a request, while the URL, the method,
/// the header names and the fixed `Accept`/`Content-Type` values do.
#[test]
fn debug_of_a_provider_and_its_requests_hides_header_values_and_extra_params() {
    const API_KEY: &str = "key_CANARY_api_1";
    const PARAM: &str = "param_CANARY_1";
    for auth in ["client_secret_post", "client_secret_basic"] {
        let p = oauth_device_flow::rfc8628_provider(&parse(&format!(
            r#"{{"clientId":"cid","deviceAuthorizationEndpoint":"{RFC_DEVICE_ENDPOINT}","tokenEndpoint":"{RFC_TOKEN_ENDPOINT}","clientAuth":"{auth}","clientSecret":"{CLIENT_SECRET}","extraParams":{{"audience":"{PARAM}"}},"headers":{{"X-Api-Key":"{API_KEY}"}}}}"#
        )))
        .unwrap();
        let shown = format!("{p:?}");
        assert_clean_text("provider Debug", &shown);
        for visible in [
            RFC_DEVICE_ENDPOINT,
            RFC_TOKEN_ENDPOINT,
            "X-Api-Key",
            "audience",
            "cid",
        ] {
            assert!(shown.contains(visible), "{visible} should show: {shown}");
        }

        let req = device_authorization_request(&p);
        // The canaries are really sent: the Debug output below has something to hide.
        assert_eq!(req.header("X-Api-Key"), Some(API_KEY));
        assert!(req.body.contains(PARAM), "{}", req.body);
        let shown = format!("{req:?}");
        assert_clean_text("request Debug", &shown);
        for visible in [
            "POST",
            RFC_DEVICE_ENDPOINT,
            "X-Api-Key",
            "application/x-www-form-urlencoded",
            "application/json",
        ] {
            assert!(shown.contains(visible), "{visible} should show: {shown}");
        }
        assert_eq!(
            shown.contains("Authorization"),
            auth == "client_secret_basic"
        );
    }
}

/// One step of one provider, with the secrets that step's request carried.
struct Case {
    name: String,
    provider: Provider,
    step_secrets: Vec<&'static str>,
    run: fn(&Provider, &HttpResponse) -> Result<(), Error>,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut providers = vec![("codex", codex())];
    providers.extend(ALL_AUTH.into_iter().map(|a| match a {
        Auth::Public => ("rfc-public", rfc(a)),
        Auth::Post => ("rfc-post", rfc(a)),
        Auth::Basic => ("rfc-basic", rfc(a)),
    }));
    for (name, p) in providers {
        let confidential = p.client_secret().is_some();
        let with_secret = |mut v: Vec<&'static str>| {
            if confidential {
                v.push(CLIENT_SECRET);
            }
            v
        };
        out.push(Case {
            name: format!("{name} device authorization"),
            provider: p.clone(),
            step_secrets: with_secret(vec![]),
            run: |p, r| process_device_authorization(p, r, NOW).map(|_| ()),
        });
        out.push(Case {
            name: format!("{name} poll"),
            provider: p.clone(),
            step_secrets: with_secret(vec![DEVICE_CODE]),
            run: |p, r| process_poll(p, &device_code(), r, NOW).map(|_| ()),
        });
        out.push(Case {
            name: format!("{name} refresh"),
            provider: p.clone(),
            step_secrets: with_secret(vec![REFRESH, ACCESS]),
            run: |p, r| {
                let input = RefreshInput {
                    refresh_token: Secret::new(REFRESH),
                    previous: Some(full_tokens()),
                };
                process_refresh(p, &input, r, NOW).map(|_| ())
            },
        });
        out.push(Case {
            name: format!("{name} revocation"),
            provider: p.clone(),
            step_secrets: with_secret(vec![REFRESH]),
            run: |p, r| process_revocation(p, &Secret::new(REFRESH), r, NOW),
        });
        if name == "codex" {
            out.push(Case {
                name: "codex exchange".into(),
                provider: p.clone(),
                step_secrets: vec![AUTH_CODE, CODE_VERIFIER],
                run: |p, r| process_code_exchange(p, &exchange(), r, NOW).map(|_| ()),
            });
        }
    }
    out
}

/// Error replies carrying every canary outside the description, and the step's own secrets
/// inside it (where docs/behaviour.md, "Messages", allows sanitised server text).
fn nasty_replies(step_secrets: &[&str]) -> Vec<HttpResponse> {
    let echoed = step_secrets.join(" and ");
    let everything = format!(
        r#""device_code":"{DEVICE_CODE}","device_auth_id":"{DEVICE_CODE}","code_verifier":"{CODE_VERIFIER}","refresh_token":"{REFRESH}","id_token":"{ID_TOKEN}","client_secret":"{CLIENT_SECRET}","trace":"{RAW_BODY_MARKER}""#
    );
    let mut out = Vec::new();
    for (status, code) in [
        (400, "invalid_grant"),
        (400, "invalid_request"),
        (401, "refresh_token_reused"),
        (403, "access_denied"),
        (400, "expired_token"),
        (500, "server_error"),
        (429, "rate_limited"),
        (200, "unexpected_thing"),
    ] {
        out.push(reply_after(
            status,
            &format!(
                r#"{{"error":"{code}","error_description":"bad: {echoed}","x":1,{everything}}}"#
            ),
            "5",
        ));
        out.push(reply(
            status,
            &format!(
                r#"{{"error":{{"code":"{code}","message":"nested: {echoed}","type":"invalid_request_error"}},{everything}}}"#
            ),
        ));
    }
    for status in [200, 400, 401, 403, 404, 418, 502, 999] {
        // Bodies that are not error JSON: their content must never be quoted.
        out.push(reply(status, &html_page()));
        out.push(reply(status, &format!(r#"{{{everything}}}"#)));
        out.push(reply(status, &format!(r#"{{"access_token":"{ACCESS}","#)));
        out.push(reply(
            status,
            &format!("{RAW_BODY_MARKER} {ACCESS} {REFRESH}"),
        ));
    }
    // Oversized and redirect replies full of secrets.
    out.push(reply(
        200,
        &format!("{{{everything},\"pad\":\"{}\"}}", "x".repeat(70_000)),
    ));
    out.push(reply(302, &format!("{{{everything}}}")));
    out
}

#[test]
fn no_error_of_any_step_leaks_a_secret_or_the_raw_body() {
    let mut errors = 0;
    for case in cases() {
        for resp in nasty_replies(&case.step_secrets) {
            if let Err(e) = (case.run)(&case.provider, &resp) {
                errors += 1;
                assert_clean(&e);
                assert!(
                    e.status == Some(resp.status),
                    "{}: errors from a reply carry its status: {e:?}",
                    case.name
                );
            }
        }
    }
    assert!(errors > 400, "the sweep exercised {errors} error paths");
}

#[test]
fn an_echoed_secret_in_the_description_is_replaced_by_redacted() {
    for case in cases() {
        let echoed = case.step_secrets.join(" and ");
        let e = (case.run)(
            &case.provider,
            &reply(
                400,
                &format!(r#"{{"error":"invalid_request","error_description":"bad: {echoed}"}}"#),
            ),
        )
        .unwrap_err();
        assert_err(
            &e,
            want(ErrorCode::OAuthError, false, Some(400)).server("invalid_request"),
        );
        if !case.step_secrets.is_empty() {
            assert!(
                e.message.contains("[redacted]"),
                "{}: {}",
                case.name,
                e.message
            );
        }
    }
}

#[test]
fn error_json_has_exactly_the_public_fields() {
    let e = process_refresh(
        &codex(),
        &RefreshInput {
            refresh_token: Secret::new(REFRESH),
            previous: None,
        },
        &reply_after(429, r#"{"error":"Rate_Limited"}"#, "2"),
        NOW,
    )
    .unwrap_err();
    let v = parse(&e.to_json());
    let keys: Vec<&str> = v.members().iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        [
            "code",
            "message",
            "retryable",
            "status",
            "serverCode",
            "retryAfterMs"
        ]
    );
    assert_eq!(v.get("code").and_then(|c| c.as_str()), Some("server_error"));
    assert_eq!(
        v.get("serverCode").and_then(|c| c.as_str()),
        Some("rate_limited")
    );
    assert_eq!(v.get("retryAfterMs").and_then(|c| c.as_f64()), Some(2000.0));
    assert_eq!(v.get("status").and_then(|c| c.as_f64()), Some(429.0));
    assert_eq!(
        v.get("retryable"),
        Some(&oauth_device_flow::json::Value::Bool(true))
    );

    let e = Error::invalid_config("x");
    assert_eq!(
        e.to_json(),
        r#"{"code":"invalid_config","message":"x","retryable":false}"#
    );
}

#[test]
fn a_server_error_code_that_echoes_a_sent_secret_is_not_shown() {
    let input = RefreshInput::from_json(&parse(&format!(r#""{REFRESH}""#))).unwrap();
    let body = format!(r#"{{"error":"{}"}}"#, REFRESH.to_uppercase());
    let e = process_refresh(&codex(), &input, &reply(400, &body), NOW).unwrap_err();
    assert_eq!(
        (e.code, e.server_code.as_deref()),
        (ErrorCode::OAuthError, None)
    );
    let lower = format!("{} {}", e.message, e.to_json()).to_lowercase();
    assert!(!lower.contains(&REFRESH.to_lowercase()), "{lower}");
}
