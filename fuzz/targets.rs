//! The bodies of the fuzz targets, one `pub fn(&[u8])` per core parser. They live in this one
//! file so that two callers run exactly the same code: the libFuzzer binaries in
//! `fuzz_targets/` (through `cargo fuzz`, see scripts/fuzz.sh) and the native replay of the
//! committed seed corpus in `tests/core/fuzz_corpus.rs` (plain `cargo test`, no nightly).
//!
//! A target does more than "not panic": after each input it checks the invariants a host relies
//! on, and panics (a fuzz finding) when one breaks: no canary secret in any error text, a
//! `serverCode` of at most 64 characters of `[a-z0-9_.-]`, an error from a reply carries that
//! reply's status, only the codes a reply can produce, intervals and expiries inside the
//! bounds docs/behaviour.md gives, and every value the module hands back is finite JSON.
//!
//! Reply targets read one input as `<status> [<provider>] [<Retry-After>]\n<body>`: the first
//! line is lenient (a missing or garbled status means 200; the provider is `codex`, `rfc`,
//! `post` or `basic`), everything after the first newline is the body, byte for byte. Without a
//! newline the whole input is a body answered with 200. Seed files are therefore readable text.

use oauth_device_flow::endpoint::check_endpoint;
use oauth_device_flow::json::{self, Value};
use oauth_device_flow::{
    code_exchange_request, decode_claims, is_access_token_expired, jwt, openai_codex_provider,
    process_code_exchange, process_device_authorization, process_poll, process_refresh,
    process_revocation, rfc8628_provider, AfterPoll, DeviceCode, Error, ErrorCode, HttpResponse,
    PollResult, Provider, ProviderKind, RefreshInput, RequestKind, Secret, Tokens, MAX_INTERVAL_MS,
    MIN_INTERVAL_MS,
};
use std::sync::OnceLock;

/// The clock reading every operation gets (Tue, 14 Nov 2023 22:13:20 GMT).
pub const NOW: f64 = 1_700_000_000_000.0;

// Canary secrets sent in the requests the replies answer: none may ever reach an error.
pub const DEVICE_CODE: &str = "dc_CANARY_fuzz_device";
pub const CLIENT_SECRET: &str = "cs_CANARY_fuzz_secret";
pub const REFRESH_TOKEN: &str = "rt_CANARY_fuzz_refresh";
pub const PREVIOUS_ACCESS: &str = "at_CANARY_fuzz_access";
pub const AUTH_CODE: &str = "ac_CANARY_fuzz_code";
pub const CODE_VERIFIER: &str = "cv_CANARY_fuzz_verifier";

/// Which provider a reply answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Codex,
    Rfc,
    RfcPost,
    RfcBasic,
}

impl Variant {
    fn parse(token: &str) -> Variant {
        match token {
            "rfc" => Variant::Rfc,
            "post" => Variant::RfcPost,
            "basic" => Variant::RfcBasic,
            _ => Variant::Codex,
        }
    }

    pub fn provider(self) -> &'static Provider {
        static PROVIDERS: OnceLock<[Provider; 4]> = OnceLock::new();
        let all = PROVIDERS.get_or_init(|| {
            let rfc = |auth: &str| {
                let text = format!(
                    r#"{{"clientId":"fuzz-client","deviceAuthorizationEndpoint":"https://idp.example.com/device","tokenEndpoint":"https://idp.example.com/token","revocationEndpoint":"https://idp.example.com/revoke","scope":"openid"{auth}}}"#
                );
                let options = json::parse(text.as_bytes()).unwrap_or(Value::Null);
                rfc8628_provider(&options).unwrap_or_else(|e| panic!("fuzz provider: {e}"))
            };
            let secret = format!(r#","clientSecret":"{CLIENT_SECRET}""#);
            [
                openai_codex_provider(&Value::Null)
                    .unwrap_or_else(|e| panic!("fuzz provider: {e}")),
                rfc(""),
                rfc(&format!(r#","clientAuth":"client_secret_post"{secret}"#)),
                rfc(&format!(r#","clientAuth":"client_secret_basic"{secret}"#)),
            ]
        });
        let i = self as usize;
        match all.get(i) {
            Some(p) => p,
            None => unreachable!("four variants, four providers"),
        }
    }
}

/// One reply as the reply targets read it.
pub struct Input {
    pub status: u16,
    pub variant: Variant,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
}

impl Input {
    pub fn parse(data: &[u8]) -> Input {
        let Some(nl) = data.iter().position(|b| *b == b'\n') else {
            return Input {
                status: 200,
                variant: Variant::Codex,
                retry_after: None,
                body: data.to_vec(),
            };
        };
        let (head, body) = data.split_at(nl);
        let head = String::from_utf8_lossy(head);
        let mut tokens = head.split(' ');
        let status = tokens
            .next()
            .and_then(|t| t.trim().parse::<u32>().ok())
            .map_or(200, |s| s.min(u32::from(u16::MAX)) as u16);
        let variant = Variant::parse(tokens.next().unwrap_or("").trim());
        let rest: Vec<&str> = tokens.collect();
        let retry_after = (!rest.is_empty()).then(|| rest.join(" "));
        Input {
            status,
            variant,
            retry_after,
            body: body.get(1..).unwrap_or_default().to_vec(),
        }
    }

    pub fn response(&self) -> HttpResponse {
        HttpResponse {
            status: self.status,
            retry_after: self.retry_after.clone(),
            body: self.body.clone(),
        }
    }
}

/// A pending device code as `requestDeviceCode` would have returned it.
pub fn device_code() -> DeviceCode {
    DeviceCode {
        device_code: Secret::new(DEVICE_CODE),
        user_code: "ABCD-EFGH".to_owned(),
        verification_uri: "https://idp.example.com/device".to_owned(),
        verification_uri_complete: None,
        interval_ms: 5000.0,
        expires_at: NOW + 900_000.0,
    }
}

/// The previous token set of a refresh.
pub fn previous_tokens() -> Tokens {
    Tokens {
        access_token: Secret::new(PREVIOUS_ACCESS),
        token_type: "Bearer".to_owned(),
        refresh_token: Some(Secret::new(REFRESH_TOKEN)),
        id_token: None,
        scope: Some("openid".to_owned()),
        expires_at: Some(NOW),
    }
}

// ---------------------------------------------------------------------------------------------
// Invariants

/// Codes a reply (as opposed to the host, its config or its signal) can produce.
const REPLY_CODES: [ErrorCode; 11] = [
    ErrorCode::AccessDenied,
    ErrorCode::ExpiredToken,
    ErrorCode::DeviceFlowDisabled,
    ErrorCode::InvalidGrant,
    ErrorCode::RefreshTokenExpired,
    ErrorCode::RefreshTokenReused,
    ErrorCode::RefreshTokenInvalidated,
    ErrorCode::OAuthError,
    ErrorCode::ServerError,
    ErrorCode::InvalidResponse,
    ErrorCode::Redirect,
];

/// What must hold for every error built from a reply with `status` to a request that carried
/// `secrets`.
pub fn check_reply_error(e: &Error, status: u16, secrets: &[&str]) {
    assert!(
        REPLY_CODES.contains(&e.code),
        "a reply produced {:?}",
        e.code
    );
    if e.code == ErrorCode::DeviceFlowDisabled {
        assert_eq!(status, 404, "device_flow_disabled only on a 404");
    }
    assert_eq!(
        e.status,
        Some(status),
        "an error from a reply carries its status"
    );
    check_error_text(e, secrets);
}

/// No secret in any printed form (`serverCode` is lowercase: not even lowercased); a bounded
/// message without control characters; a well-formed `serverCode` and `retryAfterMs`.
pub fn check_error_text(e: &Error, secrets: &[&str]) {
    assert!(!e.message.trim().is_empty(), "an error explains itself");
    assert!(
        e.message.chars().count() <= 600,
        "message of {} characters",
        e.message.chars().count()
    );
    assert!(
        !e.message.chars().any(|c| c.is_control()),
        "control character in message"
    );
    let views = [
        e.message.clone(),
        e.to_string(),
        format!("{e:?}"),
        e.to_json(),
    ];
    for view in &views {
        for s in secrets.iter().filter(|s| !s.is_empty()) {
            assert!(!view.contains(s), "an error leaks {s}: {view}");
        }
    }
    if let Some(code) = &e.server_code {
        assert!(
            !code.is_empty()
                && code.len() <= 64
                && code
                    .bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-')),
            "serverCode {code:?}"
        );
        for s in secrets.iter().filter(|s| !s.is_empty()) {
            assert!(
                !code.contains(&s.to_ascii_lowercase()),
                "serverCode echoes {s}: {code}"
            );
        }
    }
    if let Some(ms) = e.retry_after_ms {
        assert!(ms.is_finite() && ms >= 0.0, "retryAfterMs {ms}");
    }
    assert!(json::parse(e.to_json().as_bytes()).is_some(), "error JSON");
}

/// A JSON object the module hands to the host: it parses, and holds no `null` (absent fields
/// are left out, so a `null` is a non-finite number written out, breaking the `number` type).
fn check_output_json(text: &str) -> Value {
    let v = json::parse(text.as_bytes()).unwrap_or_else(|| panic!("output is not JSON: {text}"));
    fn no_null(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::Array(items) => items.iter().all(no_null),
            Value::Object(members) => members.iter().all(|(_, m)| no_null(m)),
            _ => true,
        }
    }
    assert!(no_null(&v), "a non-finite number in {text}");
    v
}

/// The client secret, when the provider sends one.
fn client_secret(p: &Provider) -> &str {
    p.client_secret().map_or("", Secret::expose)
}

pub fn check_tokens(t: &Tokens) {
    assert!(!t.access_token.expose().is_empty(), "empty access token");
    assert!(!t.token_type.is_empty(), "empty token type");
    if let Some(at) = t.expires_at {
        assert!(at.is_finite() && at >= 0.0, "expiresAt {at}");
    }
    check_output_json(&t.to_json());
    assert!(
        !format!("{t:?}").contains("CANARY"),
        "Tokens Debug shows a secret"
    );
}

fn check_device_code(code: &DeviceCode, p: &Provider) {
    assert!(
        (MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&code.interval_ms),
        "interval {}",
        code.interval_ms
    );
    // `expires_in` is in (0, 31 536 000] s; a tiny one (1e-8 s) vanishes in the sum: a code
    // that expires as it is issued, which every later step treats as expired.
    let lifetime = code.expires_at - NOW;
    assert!(
        (0.0..=31_536_000_000.0).contains(&lifetime),
        "lifetime {lifetime}"
    );
    assert!(!code.device_code.expose().is_empty() && !code.user_code.is_empty());
    assert!(
        !code.user_code.chars().any(char::is_control),
        "a user code with control characters"
    );
    for uri in [
        Some(&code.verification_uri),
        code.verification_uri_complete.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        assert!(
            check_endpoint("verificationUri", uri).is_ok(),
            "the user is sent to {uri:?}"
        );
    }
    if p.kind() == ProviderKind::OpenAiCodex {
        assert_eq!(Some(code.verification_uri.as_str()), p.verification_uri());
    } else {
        assert!(!code.verification_uri.is_empty());
    }
    let v = check_output_json(&code.to_json());
    // What the host hands back later must be accepted as it is (numbers within the last
    // binary place: a long exact decimal is not always read back correctly rounded natively).
    let back = DeviceCode::from_json(&v).unwrap_or_else(|e| panic!("DeviceCode round trip: {e}"));
    assert_eq!(back.device_code, code.device_code);
    assert_eq!(back.user_code, code.user_code);
    assert_eq!(back.verification_uri, code.verification_uri);
    assert_eq!(
        back.verification_uri_complete,
        code.verification_uri_complete
    );
    for (a, b) in [
        (back.interval_ms, code.interval_ms),
        (back.expires_at, code.expires_at),
    ] {
        assert!((a - b).abs() <= b.abs() * 1e-15, "{a} read back as {b}");
    }
}

// ---------------------------------------------------------------------------------------------
// Targets

/// The user-code (OpenAI) or device authorization (RFC 8628) reply.
pub fn device_authorization(data: &[u8]) {
    let input = Input::parse(data);
    let p = input.variant.provider();
    match process_device_authorization(p, &input.response(), NOW) {
        Ok(code) => check_device_code(&code, p),
        Err(e) => check_reply_error(&e, input.status, &[client_secret(p)]),
    }
}

/// One poll reply.
pub fn poll(data: &[u8]) {
    let input = Input::parse(data);
    let p = input.variant.provider();
    let code = device_code();
    match process_poll(p, &code, &input.response(), NOW) {
        Ok(AfterPoll::Done(PollResult::Pending { interval_ms })) => {
            assert_eq!(interval_ms, code.interval_ms)
        }
        Ok(AfterPoll::Done(PollResult::SlowDown { interval_ms })) => {
            assert_eq!(interval_ms, code.interval_ms + 5000.0)
        }
        Ok(AfterPoll::Done(PollResult::Success(tokens))) => {
            assert_eq!(
                p.kind(),
                ProviderKind::Rfc8628,
                "codex success needs an exchange"
            );
            check_tokens(&tokens);
        }
        Ok(AfterPoll::Exchange(exchange)) => {
            assert_eq!(p.kind(), ProviderKind::OpenAiCodex);
            assert!(!format!("{exchange:?}").contains("CANARY"));
            assert_eq!(exchange.request.url, p.token_endpoint());
        }
        Err(e) => check_reply_error(&e, input.status, &[DEVICE_CODE, client_secret(p)]),
    }
}

/// OpenAI's authorization-code exchange reply (a token reply).
pub fn token_exchange(data: &[u8]) {
    let input = Input::parse(data);
    let p = Variant::Codex.provider();
    let (ac, cv) = (Secret::new(AUTH_CODE), Secret::new(CODE_VERIFIER));
    let exchange = oauth_device_flow::CodeExchange {
        request: code_exchange_request(p, &ac, &cv),
        authorization_code: ac,
        code_verifier: cv,
    };
    match process_code_exchange(p, &exchange, &input.response(), NOW) {
        Ok(tokens) => check_tokens(&tokens),
        Err(e) => check_reply_error(&e, input.status, &[AUTH_CODE, CODE_VERIFIER]),
    }
}

/// A refresh reply, for a bare refresh token and for a previous token set.
pub fn refresh(data: &[u8]) {
    let input = Input::parse(data);
    let p = input.variant.provider();
    let resp = input.response();
    let bare = RefreshInput {
        refresh_token: Secret::new(REFRESH_TOKEN),
        previous: None,
    };
    let full = RefreshInput {
        refresh_token: Secret::new(REFRESH_TOKEN),
        previous: Some(previous_tokens()),
    };
    let a = process_refresh(p, &bare, &resp, NOW);
    let b = process_refresh(p, &full, &resp, NOW);
    match (&a, &b) {
        (Ok(ta), Ok(tb)) => {
            check_tokens(ta);
            check_tokens(tb);
            assert_eq!(ta.access_token, tb.access_token);
            assert!(
                ta.refresh_token.is_some(),
                "a refresh keeps a refresh token"
            );
            assert_eq!(ta.refresh_token, tb.refresh_token);
            assert!(
                tb.scope.is_some(),
                "the previous scope survives an omitting reply"
            );
        }
        (Err(ea), Err(eb)) => {
            check_reply_error(ea, input.status, &[REFRESH_TOKEN, client_secret(p)]);
            check_reply_error(
                eb,
                input.status,
                &[REFRESH_TOKEN, client_secret(p), PREVIOUS_ACCESS],
            );
            assert_eq!(
                ea.code, eb.code,
                "the previous tokens do not change the outcome"
            );
        }
        _ => panic!("the same reply succeeded for one refresh input only: {a:?} / {b:?}"),
    }
}

/// An error body, read as the answer to every step: a known protocol code decides the same
/// way everywhere (rule 1), and every error keeps the invariants.
pub fn error_body(data: &[u8]) {
    let input = Input::parse(data);
    let p = input.variant.provider();
    let resp = input.response();
    let code = device_code();
    let refresh_input = RefreshInput {
        refresh_token: Secret::new(REFRESH_TOKEN),
        previous: None,
    };
    let token = Secret::new(REFRESH_TOKEN);
    let cs = client_secret(p);
    // Each step's error code, and whether it came from a protocol code in the body.
    let outcomes: [(RequestKind, Option<(ErrorCode, bool)>); 4] = [
        (
            RequestKind::DeviceAuthorization,
            process_device_authorization(p, &resp, NOW)
                .err()
                .map(|e| checked(e, input.status, &[cs])),
        ),
        (
            RequestKind::Poll,
            process_poll(p, &code, &resp, NOW)
                .err()
                .map(|e| checked(e, input.status, &[DEVICE_CODE, cs])),
        ),
        (
            RequestKind::Refresh,
            process_refresh(p, &refresh_input, &resp, NOW)
                .err()
                .map(|e| checked(e, input.status, &[REFRESH_TOKEN, cs])),
        ),
        (
            RequestKind::Revocation,
            process_revocation(p, &token, &resp, NOW)
                .err()
                .map(|e| checked(e, input.status, &[REFRESH_TOKEN, cs])),
        ),
    ];
    // Revocation: any 2xx is a success; a 3xx is a redirect for every step.
    let (_, revoked) = outcomes[3];
    assert_eq!(revoked.is_none(), (200..300).contains(&input.status));
    if (300..400).contains(&input.status) {
        for (step, outcome) in outcomes {
            assert_eq!(outcome.map(|o| o.0), Some(ErrorCode::Redirect), "{step:?}");
        }
    }
    // A terminal protocol code in the body (rule 1) decides alike for every step but a poll.
    let terminal = [
        ErrorCode::AccessDenied,
        ErrorCode::ExpiredToken,
        ErrorCode::InvalidGrant,
        ErrorCode::RefreshTokenExpired,
        ErrorCode::RefreshTokenReused,
        ErrorCode::RefreshTokenInvalidated,
    ];
    if let (_, Some((c, true))) = outcomes[2] {
        if terminal.contains(&c) {
            let (_, device) = outcomes[0];
            assert_eq!(
                device.map(|o| o.0),
                Some(c),
                "device authorization vs refresh"
            );
        }
    }
}

fn checked(e: Error, status: u16, secrets: &[&str]) -> (ErrorCode, bool) {
    check_reply_error(&e, status, secrets);
    (e.code, e.server_code.is_some())
}

/// JWT claims: the input as raw token text (`access\nid`), and (first byte odd) as the payload
/// of an otherwise well-formed token, so the JSON inside is reached too.
pub fn jwt_claims(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (access, id) = match text.split_once('\n') {
        Some((a, i)) => (a.to_owned(), Some(i.to_owned())),
        None => (text.clone().into_owned(), None),
    };
    check_claims(&access, id.as_deref());
    if data.first().is_some_and(|b| b % 2 == 1) {
        let payload = data.get(1..).unwrap_or_default();
        let token = format!("eyJhbGciOiJub25lIn0.{}.", base64url(payload));
        check_claims(&token, Some(&token));
    }
}

fn check_claims(access: &str, id: Option<&str>) {
    let claims = decode_claims(Some(access), id);
    if let Some(at) = claims.expires_at {
        assert!(at.is_finite() && at >= 0.0, "claims expiresAt {at}");
    }
    check_output_json(&claims.to_json());
    if let Some(exp) = jwt::expires_at(access) {
        assert!(exp.is_finite() && exp >= 0.0, "jwt exp {exp}");
    }
    for now in [0.0, NOW, 8.64e15] {
        assert!(is_access_token_expired(None, Some(access), now, 60_000.0).is_ok());
    }
}

/// Unpadded base64url, written here so the targets need no dependency beyond the core.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            let idx = ((n >> (18 - 6 * i)) & 63) as usize;
            out.push(char::from(ALPHABET.get(idx).copied().unwrap_or(b'A')));
        }
    }
    out
}

/// `interval` and `expires_in` as a JSON value (raw) and inside a JSON string, in a device
/// authorization reply of both kinds; the number rule itself against a reference reading of
/// `^\s*[0-9]+(\.[0-9]+)?\s*$`.
pub fn numbers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut quoted = String::new();
    json::write_string(&mut quoted, &text);
    for value in [text.as_ref(), quoted.as_str()] {
        let parsed = json::parse(value.as_bytes());
        if let Some(v) = &parsed {
            let got = json::number_like(v);
            let want = reference_number(v);
            match (got, want, v) {
                // docs/behaviour.md ("Replies"): numeric strings are read exactly up to 15 significant digits; longer
                // ones may differ in the last binary place.
                (Some(g), Some(w), Value::String(s)) if significant_digits(s) > 15 => {
                    assert!(
                        (g - w).abs() <= w.abs() * 1e-15,
                        "number_like({value}): {g} vs {w}"
                    )
                }
                _ => assert_eq!(got, want, "number_like({value})"),
            }
        }
        for variant in [Variant::Codex, Variant::Rfc] {
            let p = variant.provider();
            let body = format!(
                r#"{{"device_auth_id":"d","device_code":"d","user_code":"u","verification_uri":"https://idp.example.com/device","interval":{value},"expires_in":{value}}}"#
            );
            let resp = HttpResponse::new(200, body.into_bytes());
            match process_device_authorization(p, &resp, NOW) {
                Ok(code) => {
                    check_device_code(&code, p);
                    if let Some(n) = parsed.as_ref().and_then(json::number_like) {
                        let want = if (1.0..=3600.0).contains(&n) { n } else { 5.0 };
                        assert_eq!(code.interval_ms, want * 1000.0, "interval {value}");
                        if n > 0.0 && n <= 31_536_000.0 {
                            assert_eq!(code.expires_at, NOW + n * 1000.0, "expires_in {value}");
                        }
                    }
                }
                Err(e) => check_reply_error(&e, 200, &[client_secret(p)]),
            }
        }
    }
}

/// Significant digits of a plain decimal string (leading and trailing zeros not counted).
fn significant_digits(s: &str) -> usize {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let frac = s
        .split_once('.')
        .map_or("", |(_, f)| f.trim_matches(json::is_js_whitespace));
    let trailing = frac.len() - frac.trim_end_matches('0').len();
    digits
        .trim_start_matches('0')
        .len()
        .saturating_sub(trailing)
}

/// The number rule of docs/behaviour.md ("Replies"), written independently of the core.
fn reference_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.is_finite().then_some(*n),
        Value::String(s) => {
            let t = s.trim_matches(json::is_js_whitespace);
            let mut seen_dot = false;
            let mut digits_before = 0;
            let mut digits_after = 0;
            for c in t.chars() {
                match c {
                    '0'..='9' if seen_dot => digits_after += 1,
                    '0'..='9' => digits_before += 1,
                    '.' if !seen_dot => seen_dot = true,
                    _ => return None,
                }
            }
            let ok = digits_before > 0 && (!seen_dot || digits_after > 0);
            if !ok {
                return None;
            }
            t.parse::<f64>().ok().filter(|n| n.is_finite())
        }
        _ => None,
    }
}

/// `Retry-After` (delay-seconds or an HTTP date) and `Content-Length` from one header value.
pub fn retry_after(data: &[u8]) {
    let value = String::from_utf8_lossy(data);
    for now in [0.0, NOW, 8.64e15] {
        if let Some(ms) = oauth_device_flow::http::parse_retry_after(&value, now) {
            assert!(
                ms.is_finite() && ms >= 0.0,
                "Retry-After {value:?} gave {ms}"
            );
        }
    }
    let trimmed = value.trim_matches(json::is_js_whitespace);
    if !trimmed.is_empty() && trimmed.len() <= 15 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        // Delay-seconds as given, unless beyond the range of a JS date (then ignored).
        let ms = trimmed.parse::<f64>().unwrap_or(f64::NAN) * 1000.0;
        let want = (ms <= 8.64e15).then_some(ms);
        assert_eq!(
            oauth_device_flow::http::parse_retry_after(&value, NOW),
            want
        );
    }
    for status in [200, 302, 429, 503] {
        for step in [RequestKind::Refresh, RequestKind::Revocation] {
            match oauth_device_flow::http::read_body_needed(step, status, Some(&value)) {
                Ok(_) => {}
                Err(e) => check_reply_error(&e, status, &[]),
            }
        }
    }
    // The header on a real reply, through the classifier.
    let resp = HttpResponse::new(503, &b""[..]).with_retry_after(&value);
    let input = RefreshInput {
        refresh_token: Secret::new(REFRESH_TOKEN),
        previous: None,
    };
    match process_refresh(Variant::Codex.provider(), &input, &resp, NOW) {
        Ok(t) => panic!("a bare 503 refreshed: {t:?}"),
        Err(e) => {
            check_reply_error(&e, 503, &[REFRESH_TOKEN]);
            assert_eq!(e.code, ErrorCode::ServerError);
        }
    }
}
