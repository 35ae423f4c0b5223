//! Step 2: one poll. RFC 8628 polls the token endpoint with a form and reads `error` at any
//! status; OpenAI polls its own JSON endpoint where 403/404 means "not yet" and a 2xx hands over
//! an authorization code to redeem.

use crate::support::*;
use oauth_device_flow::{
    code_exchange_request, poll_request, process_poll, AfterPoll, Error, ErrorCode, PollResult,
    Provider, Secret, Tokens, DEVICE_CODE_GRANT, MAX_INTERVAL_MS,
};

fn poll(p: &Provider, status: u16, body: &str) -> Result<AfterPoll, Error> {
    process_poll(p, &device_code(), &reply(status, body), NOW)
}

fn pending() -> Result<AfterPoll, Error> {
    Ok(AfterPoll::Done(PollResult::Pending {
        interval_ms: 5000.0,
    }))
}

fn slow_down(interval_ms: f64) -> Result<AfterPoll, Error> {
    Ok(AfterPoll::Done(PollResult::SlowDown { interval_ms }))
}

fn rfc_all() -> Vec<Provider> {
    ALL_AUTH.into_iter().map(rfc).collect()
}

// ---- requests ----------------------------------------------------------------------------------

#[test]
fn codex_poll_request_is_json_device_auth_id_and_user_code_to_the_poll_endpoint() {
    let req = poll_request(&codex(), &device_code(), NOW).unwrap();
    assert_request(
        &req,
        "http://127.0.0.1:8080/api/accounts/deviceauth/token",
        &codex_json_headers(),
        r#"{"device_auth_id":"dc_CANARY_device_code_1","user_code":"ABCD-EFGH"}"#,
    );
}

#[test]
fn rfc8628_poll_request_is_the_device_code_grant_form_with_client_auth() {
    assert_eq!(
        DEVICE_CODE_GRANT,
        "urn:ietf:params:oauth:grant-type:device_code"
    );
    for auth in ALL_AUTH {
        let req = poll_request(&rfc(auth), &device_code(), NOW).unwrap();
        assert_request(
            &req,
            RFC_TOKEN_ENDPOINT,
            &rfc_form_headers(auth),
            &format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=dc_CANARY_device_code_1&client_id={RFC_CLIENT_ID_FORM}{}",
                secret_field(auth)
            ),
        );
    }
}

#[test]
fn poll_request_on_or_after_expires_at_is_expired_token_without_a_request() {
    let code = device_code();
    for p in [codex(), rfc(Auth::Public)] {
        for now in [
            code.expires_at,
            code.expires_at + 1.0,
            code.expires_at + 1e9,
        ] {
            expect_err(
                poll_request(&p, &code, now),
                want(ErrorCode::ExpiredToken, false, None),
            );
        }
        assert!(poll_request(&p, &code, code.expires_at - 1.0).is_ok());
    }
}

#[test]
fn poll_request_with_a_bad_clock_reading_is_invalid_config_without_a_request() {
    for p in [codex(), rfc(Auth::Post)] {
        for now in [f64::NAN, -1.0, f64::NEG_INFINITY, f64::INFINITY] {
            expect_err(
                poll_request(&p, &device_code(), now),
                want(ErrorCode::InvalidConfig, false, None),
            );
        }
    }
}

// ---- codex pending conventions -----------------------------------------------------------------

#[test]
fn codex_poll_403_with_empty_body_is_pending() {
    assert_eq!(poll(&codex(), 403, ""), pending());
    assert_eq!(poll(&codex(), 403, " \r\n\t"), pending());
}

#[test]
fn codex_poll_403_or_404_with_json_without_a_code_is_pending() {
    for status in [403, 404] {
        for body in [
            "{}",
            "[]",
            "null",
            r#"{"error":{"message":"pending"}}"#,
            r#"{"detail":"not yet"}"#,
        ] {
            assert_eq!(poll(&codex(), status, body), pending(), "{status} {body}");
        }
    }
}

#[test]
fn codex_poll_404_is_pending_even_with_an_html_body() {
    assert_eq!(poll(&codex(), 404, ""), pending());
    assert_eq!(poll(&codex(), 404, &html_page()), pending());
}

#[test]
fn codex_poll_deviceauth_authorization_pending_code_is_pending_at_any_status() {
    for status in [200, 400, 403, 404, 428] {
        assert_eq!(
            poll(
                &codex(),
                status,
                r#"{"error":{"code":"deviceauth_authorization_pending","message":"waiting"}}"#
            ),
            pending(),
            "{status}"
        );
    }
}

#[test]
fn codex_poll_pending_keeps_the_codes_own_interval() {
    let code = device_code_with(7000.0, NOW + FIFTEEN_MIN_MS);
    assert_eq!(
        process_poll(&codex(), &code, &reply(403, ""), NOW),
        Ok(AfterPoll::Done(PollResult::Pending {
            interval_ms: 7000.0
        }))
    );
}

#[test]
fn codex_poll_403_regional_block_is_oauth_error_with_that_server_code() {
    expect_err(
        poll(
            &codex(),
            403,
            r#"{"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported","param":null,"type":"request_forbidden"}}"#,
        ),
        want(ErrorCode::OAuthError, false, Some(403))
            .server("unsupported_country_region_territory"),
    );
}

#[test]
fn codex_poll_403_html_page_is_invalid_response() {
    expect_err(
        poll(&codex(), 403, &html_page()),
        want(ErrorCode::InvalidResponse, true, Some(403)),
    );
}

#[test]
fn codex_poll_404_with_an_unknown_code_is_oauth_error() {
    // Rule 4 (another code on a 4xx) comes before rule 5 (codex poll 404 -> pending).
    expect_err(
        poll(&codex(), 404, r#"{"error":"not_found"}"#),
        want(ErrorCode::OAuthError, false, Some(404)).server("not_found"),
    );
}

#[test]
fn codex_poll_deviceauth_expired_is_expired_token() {
    expect_err(
        poll(&codex(), 403, r#"{"error":{"code":"deviceauth_expired"}}"#),
        want(ErrorCode::ExpiredToken, false, Some(403)).server("deviceauth_expired"),
    );
}

#[test]
fn codex_poll_slow_down_adds_5_seconds() {
    assert_eq!(
        poll(&codex(), 403, r#"{"error":{"code":"slow_down"}}"#),
        slow_down(10_000.0)
    );
}

// ---- codex approval ----------------------------------------------------------------------------

#[test]
fn codex_poll_2xx_is_an_exchange_whose_request_is_the_exact_pkce_form() {
    for status in [200, 201] {
        let step = poll(
            &codex(),
            status,
            &format!(
                r#"{{"authorization_code":"{AUTH_CODE}","code_challenge":"abc","code_verifier":"{CODE_VERIFIER}"}}"#
            ),
        )
        .unwrap();
        let AfterPoll::Exchange(exchange) = step else {
            panic!("expected an exchange, got {step:?}");
        };
        assert_eq!(exchange.authorization_code, Secret::new(AUTH_CODE));
        assert_eq!(exchange.code_verifier, Secret::new(CODE_VERIFIER));
        assert_request(
            &exchange.request,
            "http://127.0.0.1:8080/oauth/token",
            &codex_form_headers(),
            "grant_type=authorization_code&code=ac_CANARY_authorization_code_1&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fdeviceauth%2Fcallback&client_id=app_EMoamEEZ73f0CkXaXp7hrann&code_verifier=cv_CANARY_code_verifier_1",
        );
        assert_eq!(
            exchange.request,
            code_exchange_request(
                &codex(),
                &exchange.authorization_code,
                &exchange.code_verifier
            )
        );
        let shown = format!("{exchange:?}");
        assert_clean_text("CodeExchange Debug", &shown);
    }
}

#[test]
fn codex_poll_2xx_without_authorization_code_or_code_verifier_is_invalid_response() {
    for body in [
        format!(r#"{{"code_verifier":"{CODE_VERIFIER}"}}"#),
        format!(r#"{{"authorization_code":"{AUTH_CODE}"}}"#),
        format!(r#"{{"authorization_code":"{AUTH_CODE}","code_verifier":""}}"#),
        format!(r#"{{"authorization_code":"","code_verifier":"{CODE_VERIFIER}"}}"#),
        "{}".to_owned(),
        format!(r#"{{"status":"ok","trace":"{RAW_BODY_MARKER}"}}"#),
    ] {
        expect_err(
            poll(&codex(), 200, &body),
            want(ErrorCode::InvalidResponse, true, Some(200)),
        );
    }
}

#[test]
fn codex_poll_200_with_an_unknown_code_and_no_authorization_code_is_oauth_error() {
    expect_err(
        poll(&codex(), 200, r#"{"error":{"code":"workspace_blocked"}}"#),
        want(ErrorCode::OAuthError, false, Some(200)).server("workspace_blocked"),
    );
}

// ---- rfc8628 outcomes --------------------------------------------------------------------------

#[test]
fn rfc8628_poll_400_authorization_pending_is_pending() {
    for p in rfc_all() {
        assert_eq!(
            poll(&p, 400, r#"{"error":"authorization_pending"}"#),
            pending()
        );
    }
}

#[test]
fn github_poll_200_with_authorization_pending_error_is_pending() {
    assert_eq!(
        poll(
            &rfc(Auth::Public),
            200,
            r#"{"error":"authorization_pending","error_description":"The authorization request is still pending.","error_uri":"https://docs.github.com"}"#
        ),
        pending()
    );
}

#[test]
fn google_poll_428_authorization_pending_is_pending() {
    assert_eq!(
        poll(
            &rfc(Auth::Post),
            428,
            r#"{"error":"authorization_pending"}"#
        ),
        pending()
    );
}

#[test]
fn poll_error_codes_are_trimmed_and_lowercased() {
    assert_eq!(
        poll(
            &rfc(Auth::Public),
            400,
            r#"{"error":"  Authorization_PENDING \n"}"#
        ),
        pending()
    );
    assert_eq!(
        poll(&rfc(Auth::Public), 400, r#"{"code":"SLOW_DOWN"}"#),
        slow_down(10_000.0)
    );
}

#[test]
fn rfc8628_poll_slow_down_adds_5_seconds_to_the_codes_interval() {
    let code = device_code_with(10_000.0, NOW + FIFTEEN_MIN_MS);
    for status in [200, 400] {
        assert_eq!(
            process_poll(
                &rfc(Auth::Basic),
                &code,
                &reply(status, r#"{"error":"slow_down"}"#),
                NOW
            ),
            Ok(AfterPoll::Done(PollResult::SlowDown {
                interval_ms: 15_000.0
            }))
        );
    }
}

#[test]
fn slow_down_is_capped_at_3_600_000_ms() {
    for (interval, expected) in [
        (3_597_000.0, 3_600_000.0),
        (3_595_000.0, 3_600_000.0),
        (3_594_000.0, 3_599_000.0),
        (MAX_INTERVAL_MS, MAX_INTERVAL_MS),
    ] {
        let code = device_code_with(interval, NOW + 1e9);
        assert_eq!(
            process_poll(
                &rfc(Auth::Public),
                &code,
                &reply(400, r#"{"error":"slow_down"}"#),
                NOW
            ),
            Ok(AfterPoll::Done(PollResult::SlowDown {
                interval_ms: expected
            })),
            "{interval}"
        );
    }
}

#[test]
fn rfc8628_poll_access_denied_is_access_denied() {
    for p in rfc_all() {
        expect_err(
            poll(
                &p,
                400,
                r#"{"error":"access_denied","error_description":"The user denied"}"#,
            ),
            want(ErrorCode::AccessDenied, false, Some(400)).server("access_denied"),
        );
    }
    expect_err(
        poll(&codex(), 403, r#"{"error":{"code":"access_denied"}}"#),
        want(ErrorCode::AccessDenied, false, Some(403)).server("access_denied"),
    );
}

#[test]
fn codex_poll_authorization_declined_is_access_denied() {
    // How Codex's own tests mock a denial.
    expect_err(
        poll(
            &codex(),
            401,
            r#"{"error":"authorization_declined","error_description":"Denied"}"#,
        ),
        want(ErrorCode::AccessDenied, false, Some(401)).server("authorization_declined"),
    );
}

#[test]
fn rfc8628_poll_expired_token_is_expired_token() {
    for p in rfc_all() {
        expect_err(
            poll(&p, 400, r#"{"error":"expired_token"}"#),
            want(ErrorCode::ExpiredToken, false, Some(400)).server("expired_token"),
        );
    }
}

#[test]
fn rfc8628_poll_success_gives_tokens_with_expiry_from_the_clock_reading() {
    for p in rfc_all() {
        let step = poll(
            &p,
            200,
            &format!(
                r#"{{"access_token":"{ACCESS}","token_type":"bearer","refresh_token":"{REFRESH}","id_token":"{ID_TOKEN}","expires_in":3600,"scope":"openid offline_access"}}"#
            ),
        );
        assert_eq!(
            step,
            Ok(AfterPoll::Done(PollResult::Success(Tokens {
                access_token: Secret::new(ACCESS),
                token_type: "Bearer".into(),
                refresh_token: Some(Secret::new(REFRESH)),
                id_token: Some(Secret::new(ID_TOKEN)),
                scope: Some("openid offline_access".into()),
                expires_at: Some(NOW + 3_600_000.0),
            })))
        );
    }
}

#[test]
fn rfc8628_poll_success_without_expires_in_takes_the_jwt_exp_else_none() {
    let access = jwt(r#"{"exp":1700003600}"#);
    let step = poll(
        &rfc(Auth::Public),
        200,
        &format!(r#"{{"access_token":"{access}"}}"#),
    )
    .unwrap();
    let AfterPoll::Done(PollResult::Success(t)) = step else {
        panic!("{step:?}")
    };
    assert_eq!(t.expires_at, Some(1_700_003_600_000.0));
    assert_eq!(t.token_type, "Bearer");
    assert_eq!((t.refresh_token, t.id_token, t.scope), (None, None, None));

    let step = poll(
        &rfc(Auth::Public),
        200,
        &format!(r#"{{"access_token":"{ACCESS}"}}"#),
    )
    .unwrap();
    let AfterPoll::Done(PollResult::Success(t)) = step else {
        panic!("{step:?}")
    };
    assert_eq!(t.expires_at, None);
}

#[test]
fn poll_result_json_is_the_documented_shape() {
    assert_eq!(
        PollResult::Pending {
            interval_ms: 5000.0
        }
        .to_json(),
        r#"{"status":"pending","intervalMs":5000}"#
    );
    assert_eq!(
        PollResult::SlowDown {
            interval_ms: 10_000.0
        }
        .to_json(),
        r#"{"status":"slow_down","intervalMs":10000}"#
    );
}

#[test]
fn rfc8628_poll_200_without_access_token_is_invalid_response() {
    for body in [
        "{}",
        r#"{"access_token":""}"#,
        r#"{"access_token":null}"#,
        r#"{"access_token":12}"#,
        r#"{"token_type":"bearer"}"#,
    ] {
        expect_err(
            poll(&rfc(Auth::Public), 200, body),
            want(ErrorCode::InvalidResponse, true, Some(200)),
        );
    }
}

#[test]
fn rfc8628_poll_401_invalid_client_is_oauth_error() {
    expect_err(
        poll(&rfc(Auth::Basic), 401, r#"{"error":"invalid_client"}"#),
        want(ErrorCode::OAuthError, false, Some(401)).server("invalid_client"),
    );
}

#[test]
fn rfc8628_poll_bare_401_is_invalid_response_since_rule_5_is_for_token_grants_only() {
    expect_err(
        poll(&rfc(Auth::Public), 401, ""),
        want(ErrorCode::InvalidResponse, true, Some(401)),
    );
}

#[test]
fn rfc8628_poll_403_or_404_is_not_pending() {
    for status in [403, 404] {
        expect_err(
            poll(&rfc(Auth::Public), status, ""),
            want(ErrorCode::InvalidResponse, true, Some(status)),
        );
    }
}

#[test]
fn poll_5xx_and_429_are_server_errors_with_retry_after() {
    for p in [
        codex(),
        rfc(Auth::Public),
        rfc(Auth::Post),
        rfc(Auth::Basic),
    ] {
        expect_err(
            process_poll(&p, &device_code(), &reply_after(503, "", "7"), NOW),
            want(ErrorCode::ServerError, true, Some(503)).after(7000.0),
        );
        expect_err(
            process_poll(
                &p,
                &device_code(),
                &reply_after(429, "{}", NOW_PLUS_30S_HTTP_DATE),
                NOW,
            ),
            want(ErrorCode::ServerError, true, Some(429)).after(30_000.0),
        );
        expect_err(
            process_poll(
                &p,
                &device_code(),
                &reply_after(502, &html_page(), PAST_HTTP_DATE),
                NOW,
            ),
            want(ErrorCode::ServerError, true, Some(502)).after(0.0),
        );
        expect_err(
            process_poll(
                &p,
                &device_code(),
                &reply(500, r#"{"error":"temporarily_unavailable"}"#),
                NOW,
            ),
            want(ErrorCode::ServerError, true, Some(500)).server("temporarily_unavailable"),
        );
    }
}

#[test]
fn known_poll_codes_win_over_5xx() {
    assert_eq!(
        poll(
            &rfc(Auth::Public),
            503,
            r#"{"error":"authorization_pending"}"#
        ),
        pending()
    );
    expect_err(
        poll(&codex(), 500, r#"{"error":{"code":"access_denied"}}"#),
        want(ErrorCode::AccessDenied, false, Some(500)).server("access_denied"),
    );
}

#[test]
fn poll_codes_echoing_the_device_code_are_redacted_from_messages() {
    for auth in ALL_AUTH {
        let secret = if auth == Auth::Public {
            ""
        } else {
            CLIENT_SECRET
        };
        let e = expect_err(
            poll(
                &rfc(auth),
                400,
                &format!(
                    r#"{{"error":"invalid_request","error_description":"device_code {DEVICE_CODE} is malformed; secret {secret}","trace":"{RAW_BODY_MARKER}"}}"#
                ),
            ),
            want(ErrorCode::OAuthError, false, Some(400)).server("invalid_request"),
        );
        assert!(e.message.contains("[redacted]"), "{}", e.message);
    }
}
