//! The ordered classification rules (docs/behaviour.md, "How a reply is classified"), applied to
//! every request of both kinds: 3xx, oversized bodies, known codes at any status, 5xx/429 with
//! Retry-After, HTML pages, malformed JSON, statuses the protocol does not use, duplicate keys,
//! and polling answers, which only a poll has.

use crate::support::*;
use oauth_device_flow::http::{parse_retry_after, read_body_needed};
use oauth_device_flow::{
    process_code_exchange, process_device_authorization, process_poll, process_refresh,
    process_revocation, AfterPoll, CodeExchange, Error, ErrorCode, HttpResponse, PollResult,
    Provider, RefreshInput, RequestKind, Secret, MAX_BODY_BYTES,
};

const REQUESTS: [RequestKind; 5] = [
    RequestKind::DeviceAuthorization,
    RequestKind::Poll,
    RequestKind::CodeExchange,
    RequestKind::Refresh,
    RequestKind::Revocation,
];

/// What a request made of a reply, reduced to something comparable.
#[derive(Debug, PartialEq)]
enum Outcome {
    Success,
    Pending,
    SlowDown,
}

fn providers() -> Vec<Provider> {
    vec![
        codex(),
        rfc(Auth::Public),
        rfc(Auth::Post),
        rfc(Auth::Basic),
    ]
}

fn exchange(p: &Provider) -> CodeExchange {
    CodeExchange {
        request: oauth_device_flow::code_exchange_request(
            p,
            &Secret::new(AUTH_CODE),
            &Secret::new(CODE_VERIFIER),
        ),
        authorization_code: Secret::new(AUTH_CODE),
        code_verifier: Secret::new(CODE_VERIFIER),
    }
}

/// Runs `resp` through `request` of `p` (the code exchange only exists for openai-codex, but its
/// reply rules are the same for any provider).
fn run(request: RequestKind, p: &Provider, resp: &HttpResponse) -> Result<Outcome, Error> {
    match request {
        RequestKind::DeviceAuthorization => {
            process_device_authorization(p, resp, NOW).map(|_| Outcome::Success)
        }
        RequestKind::Poll => process_poll(p, &device_code(), resp, NOW).map(|s| match s {
            AfterPoll::Exchange(_) | AfterPoll::Done(PollResult::Success(_)) => Outcome::Success,
            AfterPoll::Done(PollResult::Pending { .. }) => Outcome::Pending,
            AfterPoll::Done(PollResult::SlowDown { .. }) => Outcome::SlowDown,
        }),
        RequestKind::CodeExchange => {
            process_code_exchange(p, &exchange(p), resp, NOW).map(|_| Outcome::Success)
        }
        RequestKind::Refresh => process_refresh(
            p,
            &RefreshInput {
                refresh_token: Secret::new(REFRESH),
                previous: None,
            },
            resp,
            NOW,
        )
        .map(|_| Outcome::Success),
        RequestKind::Revocation => {
            process_revocation(p, &Secret::new(REFRESH), resp, NOW).map(|()| Outcome::Success)
        }
    }
}

/// A success body for `request` of `p`.
fn success_body(request: RequestKind, p: &Provider) -> String {
    let codex = p.kind() == oauth_device_flow::ProviderKind::OpenAiCodex;
    match (request, codex) {
        (RequestKind::DeviceAuthorization, true) => {
            format!(r#"{{"device_auth_id":"{DEVICE_CODE}","user_code":"{USER_CODE}"}}"#)
        }
        (RequestKind::DeviceAuthorization, false) => format!(
            r#"{{"device_code":"{DEVICE_CODE}","user_code":"{USER_CODE}","verification_uri":"https://idp.example.com/device","expires_in":600}}"#
        ),
        (RequestKind::Poll, true) => {
            format!(r#"{{"authorization_code":"{AUTH_CODE}","code_verifier":"{CODE_VERIFIER}"}}"#)
        }
        _ => format!(r#"{{"access_token":"{ACCESS}","refresh_token":"{REFRESH_NEW}"}}"#),
    }
}

#[test]
fn every_step_of_both_kinds_accepts_its_success_reply() {
    for p in providers() {
        for request in REQUESTS {
            assert_eq!(
                run(request, &p, &reply(200, &success_body(request, &p))),
                Ok(Outcome::Success),
                "{request:?} {:?}",
                p.kind()
            );
        }
    }
}

#[test]
fn a_3xx_is_a_retryable_redirect_on_every_step_even_with_a_code_in_the_body() {
    for p in providers() {
        for request in REQUESTS {
            for status in [300, 301, 302, 303, 304, 307, 308, 399] {
                for body in [
                    "",
                    r#"{"error":"access_denied"}"#,
                    r#"{"error":"authorization_pending"}"#,
                ] {
                    expect_err(
                        run(request, &p, &reply(status, body)),
                        want(ErrorCode::Redirect, true, Some(status)),
                    );
                }
            }
            expect_err(
                read_body_needed(request, 302, None),
                want(ErrorCode::Redirect, true, Some(302)),
            );
        }
    }
}

#[test]
fn a_body_over_64_kib_is_invalid_response_on_every_step_except_a_2xx_revocation() {
    let oversized = format!(
        r#"{{"error":"invalid_grant","pad":"{}"}}"#,
        "a".repeat(MAX_BODY_BYTES)
    );
    assert!(oversized.len() > MAX_BODY_BYTES);
    for p in providers() {
        for request in REQUESTS {
            for status in [200, 400, 401, 403, 404, 503] {
                if request == RequestKind::Revocation && status == 200 {
                    continue;
                }
                expect_err(
                    run(request, &p, &reply(status, &oversized)),
                    want(ErrorCode::InvalidResponse, true, Some(status)),
                );
            }
        }
    }
}

#[test]
fn a_body_of_exactly_64_kib_is_still_read() {
    for p in providers() {
        for request in REQUESTS {
            let body = success_body(request, &p);
            let padded = format!("{body}{}", " ".repeat(MAX_BODY_BYTES - body.len()));
            assert_eq!(padded.len(), MAX_BODY_BYTES);
            assert_eq!(
                run(request, &p, &reply(200, &padded)),
                Ok(Outcome::Success),
                "{request:?}"
            );
            let over = format!("{padded} ");
            if request != RequestKind::Revocation {
                expect_err(
                    run(request, &p, &reply(200, &over)),
                    want(ErrorCode::InvalidResponse, true, Some(200)),
                );
            }
        }
    }
}

#[test]
fn the_64_kib_cap_counts_utf8_bytes_not_characters() {
    // 30_000 'é' are 30_000 characters but 60_000 bytes; 40_000 of them are 80_000 bytes.
    let fits = format!(
        r#"{{"access_token":"{ACCESS}","pad":"{}"}}"#,
        "é".repeat(30_000)
    );
    assert!(fits.len() <= MAX_BODY_BYTES);
    assert_eq!(
        run(RequestKind::Refresh, &codex(), &reply(200, &fits)),
        Ok(Outcome::Success)
    );
    let over = format!(
        r#"{{"access_token":"{ACCESS}","pad":"{}"}}"#,
        "é".repeat(40_000)
    );
    assert!(over.chars().count() < MAX_BODY_BYTES && over.len() > MAX_BODY_BYTES);
    expect_err(
        run(RequestKind::Refresh, &codex(), &reply(200, &over)),
        want(ErrorCode::InvalidResponse, true, Some(200)),
    );
}

#[test]
fn read_body_needed_refuses_an_announced_body_over_64_kib() {
    for request in REQUESTS {
        for status in [200, 400, 401, 503] {
            if request == RequestKind::Revocation && status == 200 {
                continue;
            }
            for len in ["65537", " 65537 ", "1000000", "99999999999999999999999999"] {
                expect_err(
                    read_body_needed(request, status, Some(len)),
                    want(ErrorCode::InvalidResponse, true, Some(status)),
                );
            }
            for len in [
                None,
                Some("0"),
                Some("65536"),
                Some("garbage"),
                Some(""),
                Some("-5"),
            ] {
                assert_eq!(read_body_needed(request, status, len), Ok(true), "{len:?}");
            }
        }
    }
}

#[test]
fn statuses_the_protocol_does_not_use_are_invalid_response() {
    for p in providers() {
        for request in REQUESTS {
            for (status, body) in [
                (100, String::new()),
                (101, "{}".to_owned()),
                (199, String::new()),
                (204, String::new()),
                (418, String::new()),
                (418, "{}".to_owned()),
                (600, String::new()),
                (999, r#"{"detail":"x"}"#.to_owned()),
            ] {
                if request == RequestKind::Revocation && status == 204 {
                    continue;
                }
                expect_err(
                    run(request, &p, &reply(status, &body)),
                    want(ErrorCode::InvalidResponse, true, Some(status)),
                );
            }
        }
    }
}

#[test]
fn html_pages_are_invalid_response_below_500_and_server_error_from_500() {
    for p in providers() {
        for request in REQUESTS {
            for status in [200, 400, 403] {
                if request == RequestKind::Revocation && status == 200 {
                    continue;
                }
                expect_err(
                    run(request, &p, &reply(status, &html_page())),
                    want(ErrorCode::InvalidResponse, true, Some(status)),
                );
            }
            for status in [500, 502, 503, 504, 429] {
                expect_err(
                    run(request, &p, &reply(status, &html_page())),
                    want(ErrorCode::ServerError, true, Some(status)),
                );
            }
        }
    }
}

#[test]
fn malformed_json_is_invalid_response_on_every_step() {
    for p in providers() {
        for request in REQUESTS {
            for body in [
                "{",
                r#"{"error":"authorization_pending""#,
                r#"{"a":1,}"#,
                "{'error':'slow_down'}",
                "NaN",
                "\u{FEFF}{}",
            ] {
                let status = if request == RequestKind::Revocation {
                    400
                } else {
                    200
                };
                expect_err(
                    run(request, &p, &reply(status, body)),
                    want(ErrorCode::InvalidResponse, true, Some(status)),
                );
            }
        }
    }
}

#[test]
fn a_body_that_is_not_utf8_is_invalid_response() {
    for request in REQUESTS {
        let resp = HttpResponse::new(400, vec![0xff, 0xfe, b'{', b'}']);
        expect_err(
            run(request, &codex(), &resp),
            want(ErrorCode::InvalidResponse, true, Some(400)),
        );
    }
}

#[test]
fn known_codes_decide_at_any_status_on_every_step() {
    for p in providers() {
        for request in REQUESTS {
            for status in [200, 400, 401, 403, 404, 428, 500, 503] {
                if request == RequestKind::Revocation && (200..300).contains(&status) {
                    continue;
                }
                for (server, code) in [
                    ("access_denied", ErrorCode::AccessDenied),
                    ("authorization_declined", ErrorCode::AccessDenied),
                    ("expired_token", ErrorCode::ExpiredToken),
                    ("deviceauth_expired", ErrorCode::ExpiredToken),
                    ("invalid_grant", ErrorCode::InvalidGrant),
                    ("refresh_token_expired", ErrorCode::RefreshTokenExpired),
                    ("refresh_token_reused", ErrorCode::RefreshTokenReused),
                    (
                        "refresh_token_invalidated",
                        ErrorCode::RefreshTokenInvalidated,
                    ),
                ] {
                    expect_err(
                        run(
                            request,
                            &p,
                            &reply(status, &format!(r#"{{"error":"{server}"}}"#)),
                        ),
                        want(code, false, Some(status)).server(server),
                    );
                }
            }
        }
    }
}

#[test]
fn pending_and_slow_down_codes_only_mean_that_on_a_poll() {
    for p in providers() {
        for status in [200, 400, 403, 428, 503] {
            for body in [
                r#"{"error":"authorization_pending"}"#,
                r#"{"error":{"code":"deviceauth_authorization_pending"}}"#,
                r#"{"code":"authorization_pending"}"#,
            ] {
                assert_eq!(
                    run(RequestKind::Poll, &p, &reply(status, body)),
                    Ok(Outcome::Pending)
                );
            }
            assert_eq!(
                run(
                    RequestKind::Poll,
                    &p,
                    &reply(status, r#"{"error":"slow_down"}"#)
                ),
                Ok(Outcome::SlowDown)
            );
        }
        for request in [
            RequestKind::DeviceAuthorization,
            RequestKind::CodeExchange,
            RequestKind::Refresh,
            RequestKind::Revocation,
        ] {
            expect_err(
                run(request, &p, &reply(400, r#"{"error":"slow_down"}"#)),
                want(ErrorCode::OAuthError, false, Some(400)).server("slow_down"),
            );
        }
    }
}

/// The other requests have no polling answer: a pending or slow_down code is an OAuth error
/// (with its code), and OpenAI's poll conventions (403 without a code, 404) are not "pending".
#[test]
fn polling_answers_to_any_other_request_are_errors() {
    let not_polls = [
        RequestKind::DeviceAuthorization,
        RequestKind::CodeExchange,
        RequestKind::Refresh,
        RequestKind::Revocation,
    ];
    for p in providers() {
        for request in not_polls {
            for (body, code) in [
                (
                    r#"{"error":"authorization_pending"}"#,
                    "authorization_pending",
                ),
                (
                    r#"{"error":{"code":"deviceauth_authorization_pending"}}"#,
                    "deviceauth_authorization_pending",
                ),
                (r#"{"error":"slow_down"}"#, "slow_down"),
            ] {
                expect_err(
                    run(request, &p, &reply(400, body)),
                    want(ErrorCode::OAuthError, false, Some(400)).server(code),
                );
                // A 2xx revocation succeeds whatever its body; the others need their fields.
                if request != RequestKind::Revocation {
                    expect_err(
                        run(request, &p, &reply(200, body)),
                        want(ErrorCode::OAuthError, false, Some(200)).server(code),
                    );
                }
            }
        }
    }
    let codex = codex();
    for request in [
        RequestKind::CodeExchange,
        RequestKind::Refresh,
        RequestKind::Revocation,
    ] {
        for (status, body) in [(403, ""), (403, "{}"), (404, ""), (404, "{}")] {
            expect_err(
                run(request, &codex, &reply(status, body)),
                want(ErrorCode::InvalidResponse, true, Some(status)),
            );
        }
    }
}

#[test]
fn a_known_code_beats_success_fields_in_the_same_body() {
    let body = format!(r#"{{"access_token":"{ACCESS}","error":"authorization_pending"}}"#);
    assert_eq!(
        run(RequestKind::Poll, &rfc(Auth::Public), &reply(200, &body)),
        Ok(Outcome::Pending)
    );
    let body = format!(r#"{{"access_token":"{ACCESS}","error":"invalid_grant"}}"#);
    expect_err(
        run(RequestKind::Refresh, &codex(), &reply(200, &body)),
        want(ErrorCode::InvalidGrant, false, Some(200)).server("invalid_grant"),
    );
}

#[test]
fn duplicate_error_keys_last_one_wins() {
    let p = rfc(Auth::Public);
    assert_eq!(
        run(
            RequestKind::Poll,
            &p,
            &reply(
                400,
                r#"{"error":"access_denied","error":"authorization_pending"}"#
            )
        ),
        Ok(Outcome::Pending)
    );
    expect_err(
        run(
            RequestKind::Poll,
            &p,
            &reply(
                400,
                r#"{"error":"authorization_pending","error":"access_denied"}"#,
            ),
        ),
        want(ErrorCode::AccessDenied, false, Some(400)).server("access_denied"),
    );
}

#[test]
fn other_codes_on_4xx_are_oauth_error_and_on_5xx_server_error_with_the_code() {
    for p in providers() {
        for request in REQUESTS {
            for status in [400, 401, 403, 404, 409, 422] {
                let got = run(
                    request,
                    &p,
                    &reply(status, r#"{"error":{"code":"Some_Other.Code-9"}}"#),
                );
                // Rule 3 (the openai-codex user-code 404) comes first.
                if status == 404
                    && request == RequestKind::DeviceAuthorization
                    && p.kind() == oauth_device_flow::ProviderKind::OpenAiCodex
                {
                    expect_err(got, want(ErrorCode::DeviceFlowDisabled, false, Some(404)));
                    continue;
                }
                expect_err(
                    got,
                    want(ErrorCode::OAuthError, false, Some(status)).server("some_other.code-9"),
                );
            }
            for status in [429, 500, 599] {
                expect_err(
                    run(
                        request,
                        &p,
                        &reply_after(status, r#"{"error":"overloaded"}"#, "1"),
                    ),
                    want(ErrorCode::ServerError, true, Some(status))
                        .server("overloaded")
                        .after(1000.0),
                );
            }
        }
    }
}

#[test]
fn retry_after_is_read_as_seconds_or_an_http_date_relative_to_now() {
    for (value, ms) in [
        ("0", Some(0.0)),
        ("120", Some(120_000.0)),
        ("  30\t", Some(30_000.0)),
        (NOW_PLUS_30S_HTTP_DATE, Some(30_000.0)),
        ("Tuesday, 14-Nov-23 22:13:50 GMT", Some(30_000.0)),
        ("Tue Nov 14 22:13:50 2023", Some(30_000.0)),
        (PAST_HTTP_DATE, Some(0.0)),
        ("Thu, 01 Jan 1970 00:00:00 GMT", Some(0.0)),
        ("", None),
        ("-5", None),
        ("1.5", None),
        ("+5", None),
        ("soon", None),
        ("Tue, 14 Nov 2023 25:00:00 GMT", None),
    ] {
        assert_eq!(parse_retry_after(value, NOW), ms, "{value:?}");
        let mut w = want(ErrorCode::ServerError, true, Some(503));
        w.retry_after_ms = ms;
        expect_err(
            run(RequestKind::Refresh, &codex(), &reply_after(503, "", value)),
            w,
        );
    }
}

#[test]
fn retry_after_date_moves_with_the_clock_reading() {
    assert_eq!(
        parse_retry_after(NOW_PLUS_30S_HTTP_DATE, NOW + 29_000.0),
        Some(1000.0)
    );
    assert_eq!(
        parse_retry_after(NOW_PLUS_30S_HTTP_DATE, NOW + 31_000.0),
        Some(0.0)
    );
}

#[test]
fn retry_after_is_reported_on_redirects_oversized_replies_and_unusable_success_replies() {
    use oauth_device_flow::{process_device_authorization, HttpResponse};
    let p = codex();
    for (resp, code) in [
        (HttpResponse::new(302, ""), ErrorCode::Redirect),
        (
            HttpResponse::new(200, "x".repeat(65_537)),
            ErrorCode::InvalidResponse,
        ),
        (
            HttpResponse::new(200, r#"{"user_code":"U"}"#),
            ErrorCode::InvalidResponse,
        ),
    ] {
        let e = process_device_authorization(&p, &resp.with_retry_after("5"), NOW).unwrap_err();
        assert_eq!((e.code, e.retry_after_ms), (code, Some(5000.0)));
    }
}
