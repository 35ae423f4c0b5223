//! Refresh: OpenAI's JSON refresh with single-use rotating refresh tokens, and RFC 6749 section 6
//! as a form; every failure class of docs/behaviour.md ("Errors").

use crate::support::*;
use oauth_device_flow::json::Value;
use oauth_device_flow::{
    process_refresh, refresh_request, Error, ErrorCode, HttpResponse, Provider, RefreshInput,
    Secret, Tokens,
};

fn from_string() -> RefreshInput {
    RefreshInput::from_json(&Value::String(REFRESH.into())).unwrap()
}

fn from_tokens() -> RefreshInput {
    RefreshInput::from_json(&parse(&format!(
        r#"{{"accessToken":"{ACCESS}","tokenType":"Bearer","refreshToken":"{REFRESH}","idToken":"{ID_TOKEN}","scope":"openid profile","expiresAt":1}}"#
    )))
    .unwrap()
}

fn refresh(p: &Provider, resp: &HttpResponse) -> Result<Tokens, Error> {
    process_refresh(p, &from_string(), resp, NOW)
}

fn codex_refresh(status: u16, body: &str) -> Result<Tokens, Error> {
    refresh(&codex(), &reply(status, body))
}

fn all_providers() -> Vec<Provider> {
    let mut v = vec![codex()];
    v.extend(ALL_AUTH.into_iter().map(rfc));
    v
}

const NEW_ACCESS: &str = "at_CANARY_access_2";

// ---- requests ----------------------------------------------------------------------------------

#[test]
fn codex_refresh_request_is_json_client_id_grant_type_refresh_token() {
    assert_request(
        &refresh_request(&codex(), &Secret::new(REFRESH)),
        "http://127.0.0.1:8080/oauth/token",
        &codex_json_headers(),
        r#"{"client_id":"app_EMoamEEZ73f0CkXaXp7hrann","grant_type":"refresh_token","refresh_token":"rt_CANARY_refresh_1"}"#,
    );
    assert_request(
        &refresh_request(&codex_default(), &Secret::new(REFRESH)),
        "https://auth.openai.com/oauth/token",
        &[ACCEPT, JSON_CT],
        r#"{"client_id":"app_EMoamEEZ73f0CkXaXp7hrann","grant_type":"refresh_token","refresh_token":"rt_CANARY_refresh_1"}"#,
    );
}

#[test]
fn rfc8628_refresh_request_is_a_form_with_client_auth_and_no_scope_or_extra_params() {
    for auth in ALL_AUTH {
        assert_request(
            &refresh_request(&rfc(auth), &Secret::new(REFRESH)),
            RFC_TOKEN_ENDPOINT,
            &rfc_form_headers(auth),
            &format!(
                "grant_type=refresh_token&refresh_token=rt_CANARY_refresh_1&client_id={RFC_CLIENT_ID_FORM}{}",
                secret_field(auth)
            ),
        );
    }
}

#[test]
fn refresh_json_body_escapes_the_token_like_json_stringify() {
    let req = refresh_request(&codex(), &Secret::new("a\"b\\c\u{1}"));
    assert_eq!(
        req.body,
        r#"{"client_id":"app_EMoamEEZ73f0CkXaXp7hrann","grant_type":"refresh_token","refresh_token":"a\"b\\c\u0001"}"#
    );
}

// ---- input -------------------------------------------------------------------------------------

#[test]
fn refresh_input_from_a_string_sends_that_token_without_previous_tokens() {
    let input = from_string();
    assert_eq!(input.refresh_token, Secret::new(REFRESH));
    assert_eq!(input.previous, None);
}

#[test]
fn refresh_input_from_tokens_sends_their_refresh_token_and_keeps_them() {
    let input = from_tokens();
    assert_eq!(input.refresh_token, Secret::new(REFRESH));
    let prev = input.previous.expect("previous tokens");
    assert_eq!(prev.id_token, Some(Secret::new(ID_TOKEN)));
    assert_eq!(prev.scope.as_deref(), Some("openid profile"));
}

#[test]
fn refresh_input_object_without_refresh_token_is_invalid_config() {
    for v in [
        format!(r#"{{"accessToken":"{ACCESS}","tokenType":"Bearer"}}"#),
        format!(r#"{{"accessToken":"{ACCESS}","refreshToken":""}}"#),
        format!(r#"{{"accessToken":"{ACCESS}","refreshToken":null}}"#),
    ] {
        expect_err(
            RefreshInput::from_json(&parse(&v)),
            want(ErrorCode::InvalidConfig, false, None),
        );
    }
}

#[test]
fn refresh_input_of_the_wrong_shape_is_invalid_config() {
    for v in [
        r#""""#.to_owned(),
        "42".to_owned(),
        "null".to_owned(),
        "[]".to_owned(),
        format!(r#"{{"refreshToken":"{REFRESH}"}}"#),
        format!(r#"{{"accessToken":7,"refreshToken":"{REFRESH}"}}"#),
        format!(r#"{{"accessToken":"{ACCESS}","refreshToken":5}}"#),
        format!(r#"{{"accessToken":"{ACCESS}","refreshToken":"{REFRESH}","expiresAt":"soon"}}"#),
    ] {
        expect_err(
            RefreshInput::from_json(&parse(&v)),
            want(ErrorCode::InvalidConfig, false, None),
        );
    }
}

// ---- success and rotation ----------------------------------------------------------------------

#[test]
fn refresh_reply_refresh_token_replaces_the_old_one() {
    for p in all_providers() {
        let t = process_refresh(
            &p,
            &from_tokens(),
            &reply(
                200,
                &format!(
                    r#"{{"access_token":"{NEW_ACCESS}","refresh_token":"{REFRESH_NEW}","expires_in":"3600"}}"#
                ),
            ),
            NOW,
        )
        .unwrap();
        assert_eq!(
            t,
            Tokens {
                access_token: Secret::new(NEW_ACCESS),
                token_type: "Bearer".into(),
                refresh_token: Some(Secret::new(REFRESH_NEW)),
                id_token: Some(Secret::new(ID_TOKEN)),
                scope: Some("openid profile".into()),
                expires_at: Some(NOW + 3_600_000.0),
            }
        );
    }
}

#[test]
fn refresh_reply_without_refresh_token_keeps_the_old_one() {
    for extra in ["", r#","refresh_token":null"#, r#","refresh_token":"""#] {
        for input in [from_string(), from_tokens()] {
            let t = process_refresh(
                &codex(),
                &input,
                &reply(200, &format!(r#"{{"access_token":"{NEW_ACCESS}"{extra}}}"#)),
                NOW,
            )
            .unwrap();
            assert_eq!(t.refresh_token, Some(Secret::new(REFRESH)), "{extra}");
        }
    }
}

#[test]
fn refresh_keeps_id_token_and_scope_of_previous_tokens_when_the_reply_omits_them() {
    let t = process_refresh(
        &rfc(Auth::Post),
        &from_tokens(),
        &reply(
            200,
            &format!(r#"{{"access_token":"{NEW_ACCESS}","id_token":null,"scope":""}}"#),
        ),
        NOW,
    )
    .unwrap();
    assert_eq!(t.id_token, Some(Secret::new(ID_TOKEN)));
    assert_eq!(t.scope.as_deref(), Some("openid profile"));
    assert_eq!(t.expires_at, None, "expiresAt is never carried over");
}

#[test]
fn refresh_takes_id_token_and_scope_from_the_reply_when_present() {
    let new_id = jwt(r#"{"email":"new@example.com"}"#);
    let t = process_refresh(
        &codex(),
        &from_tokens(),
        &reply(
            200,
            &format!(r#"{{"access_token":"{NEW_ACCESS}","id_token":"{new_id}","scope":"openid"}}"#),
        ),
        NOW,
    )
    .unwrap();
    assert_eq!(t.id_token, Some(Secret::new(new_id)));
    assert_eq!(t.scope.as_deref(), Some("openid"));
}

#[test]
fn refresh_from_a_string_has_no_id_token_or_scope_when_the_reply_omits_them() {
    let t = codex_refresh(200, &format!(r#"{{"access_token":"{NEW_ACCESS}"}}"#)).unwrap();
    assert_eq!(
        t,
        Tokens {
            access_token: Secret::new(NEW_ACCESS),
            token_type: "Bearer".into(),
            refresh_token: Some(Secret::new(REFRESH)),
            id_token: None,
            scope: None,
            expires_at: None,
        }
    );
}

#[test]
fn refresh_expiry_is_expires_in_else_the_new_access_token_exp_else_absent() {
    let access = jwt(r#"{"exp":1700007200}"#);
    for (body, expected) in [
        (
            format!(r#"{{"access_token":"{access}","expires_in":60}}"#),
            Some(NOW + 60_000.0),
        ),
        (
            format!(r#"{{"access_token":"{access}"}}"#),
            Some(1_700_007_200_000.0),
        ),
        (
            format!(r#"{{"access_token":"{access}","expires_in":0}}"#),
            Some(1_700_007_200_000.0),
        ),
        (
            format!(r#"{{"access_token":"{access}","expires_in":"x"}}"#),
            Some(1_700_007_200_000.0),
        ),
        (
            format!(r#"{{"access_token":"{access}","expires_in":31536001}}"#),
            Some(1_700_007_200_000.0),
        ),
        (format!(r#"{{"access_token":"{NEW_ACCESS}"}}"#), None),
        (
            format!(r#"{{"access_token":"{NEW_ACCESS}","expires_in":-1}}"#),
            None,
        ),
        (
            format!(r#"{{"access_token":"{NEW_ACCESS}","expires_in":" 2.5 "}}"#),
            Some(NOW + 2500.0),
        ),
    ] {
        assert_eq!(
            codex_refresh(200, &body).unwrap().expires_at,
            expected,
            "{body}"
        );
    }
}

#[test]
fn token_type_bearer_in_any_casing_or_absent_is_bearer_and_others_are_kept() {
    for (tt, expected) in [
        (r#","token_type":"bearer""#, "Bearer"),
        (r#","token_type":"BEARER""#, "Bearer"),
        (r#","token_type":"Bearer""#, "Bearer"),
        (r#","token_type":"bEaReR""#, "Bearer"),
        ("", "Bearer"),
        (r#","token_type":null"#, "Bearer"),
        (r#","token_type":"""#, "Bearer"),
        (r#","token_type":"DPoP""#, "DPoP"),
        (r#","token_type":"mac""#, "mac"),
    ] {
        let t = codex_refresh(200, &format!(r#"{{"access_token":"{NEW_ACCESS}"{tt}}}"#)).unwrap();
        assert_eq!(t.token_type, expected, "{tt}");
    }
}

#[test]
fn duplicate_keys_in_the_refresh_reply_last_one_wins() {
    let t = codex_refresh(
        200,
        &format!(
            r#"{{"access_token":"old","access_token":"{NEW_ACCESS}","refresh_token":"{REFRESH_NEW}","refresh_token":null}}"#
        ),
    )
    .unwrap();
    assert_eq!(t.access_token, Secret::new(NEW_ACCESS));
    assert_eq!(
        t.refresh_token,
        Some(Secret::new(REFRESH)),
        "null (the last) counts as omitted"
    );
}

#[test]
fn refresh_reply_without_usable_access_token_is_invalid_response() {
    for body in [
        "{}".to_owned(),
        format!(r#"{{"refresh_token":"{REFRESH_NEW}"}}"#),
        r#"{"access_token":""}"#.to_owned(),
        r#"{"access_token":null}"#.to_owned(),
        r#"{"access_token":["x"]}"#.to_owned(),
        format!(r#"{{"access_token":1,"trace":"{RAW_BODY_MARKER}"}}"#),
    ] {
        for p in all_providers() {
            expect_err(
                refresh(&p, &reply(200, &body)),
                want(ErrorCode::InvalidResponse, true, Some(200)),
            );
        }
    }
}

#[test]
fn a_2xx_with_an_unknown_code_but_an_access_token_is_a_success() {
    let t = codex_refresh(
        200,
        &format!(r#"{{"error":"warning_only","access_token":"{NEW_ACCESS}"}}"#),
    )
    .unwrap();
    assert_eq!(t.access_token, Secret::new(NEW_ACCESS));
}

#[test]
fn a_2xx_with_an_unknown_code_and_no_access_token_is_oauth_error() {
    expect_err(
        codex_refresh(200, r#"{"error":"server_is_sad"}"#),
        want(ErrorCode::OAuthError, false, Some(200)).server("server_is_sad"),
    );
}

// ---- failure classes ---------------------------------------------------------------------------

#[test]
fn refresh_invalid_grant_is_invalid_grant_for_every_provider() {
    for p in all_providers() {
        for status in [400, 401, 200] {
            expect_err(
                refresh(
                    &p,
                    &reply(
                        status,
                        r#"{"error":"invalid_grant","error_description":"Refresh token expired"}"#,
                    ),
                ),
                want(ErrorCode::InvalidGrant, false, Some(status)).server("invalid_grant"),
            );
        }
    }
}

#[test]
fn openai_nested_refresh_token_codes_on_401_and_400_are_their_own_codes() {
    for (server, code) in [
        ("refresh_token_expired", ErrorCode::RefreshTokenExpired),
        ("refresh_token_reused", ErrorCode::RefreshTokenReused),
        (
            "refresh_token_invalidated",
            ErrorCode::RefreshTokenInvalidated,
        ),
    ] {
        for status in [401, 400] {
            let body = format!(
                r#"{{"error":{{"message":"Your refresh token has already been used to generate a new access token. Please try signing in again.","type":"invalid_request_error","param":null,"code":"{server}"}}}}"#
            );
            expect_err(
                codex_refresh(status, &body),
                want(code, false, Some(status)).server(server),
            );
        }
    }
}

#[test]
fn refresh_token_codes_as_flat_string_or_top_level_code_are_read_too() {
    for (body, server, code) in [
        (
            r#"{"error":"refresh_token_expired"}"#,
            "refresh_token_expired",
            ErrorCode::RefreshTokenExpired,
        ),
        (
            r#"{"code":"refresh_token_reused"}"#,
            "refresh_token_reused",
            ErrorCode::RefreshTokenReused,
        ),
        (
            r#"{"error":{"code":" REFRESH_TOKEN_INVALIDATED "}}"#,
            "refresh_token_invalidated",
            ErrorCode::RefreshTokenInvalidated,
        ),
        (
            r#"{"error":{"type":"x"},"code":"refresh_token_reused"}"#,
            "refresh_token_reused",
            ErrorCode::RefreshTokenReused,
        ),
    ] {
        for p in all_providers() {
            expect_err(
                refresh(&p, &reply(401, body)),
                want(code, false, Some(401)).server(server),
            );
        }
    }
}

#[test]
fn the_error_string_wins_over_the_top_level_code() {
    expect_err(
        codex_refresh(
            400,
            r#"{"error":"invalid_grant","code":"refresh_token_reused"}"#,
        ),
        want(ErrorCode::InvalidGrant, false, Some(400)).server("invalid_grant"),
    );
    expect_err(
        codex_refresh(
            400,
            r#"{"error":{"code":"refresh_token_expired"},"code":"refresh_token_reused"}"#,
        ),
        want(ErrorCode::RefreshTokenExpired, false, Some(400)).server("refresh_token_expired"),
    );
}

#[test]
fn bare_401_on_refresh_is_invalid_grant() {
    for p in all_providers() {
        for body in [
            "",
            " \n",
            "{}",
            "[]",
            r#"{"error":{"message":"Unauthorized"}}"#,
            r#"{"error":null}"#,
        ] {
            expect_err(
                refresh(&p, &reply(401, body)),
                want(ErrorCode::InvalidGrant, false, Some(401)),
            );
        }
    }
}

#[test]
fn refresh_401_with_another_code_is_oauth_error_with_server_code() {
    for p in all_providers() {
        expect_err(
            refresh(
                &p,
                &reply(401, r#"{"error":{"code":"token_revoked","message":"no"}}"#),
            ),
            want(ErrorCode::OAuthError, false, Some(401)).server("token_revoked"),
        );
        expect_err(
            refresh(&p, &reply(401, r#"{"error":"invalid_client"}"#)),
            want(ErrorCode::OAuthError, false, Some(401)).server("invalid_client"),
        );
    }
}

#[test]
fn refresh_401_html_page_is_invalid_response() {
    expect_err(
        codex_refresh(401, &html_page()),
        want(ErrorCode::InvalidResponse, true, Some(401)),
    );
}

#[test]
fn refresh_5xx_and_429_are_server_errors_with_retry_after() {
    for p in all_providers() {
        expect_err(
            refresh(&p, &reply_after(503, "", "120")),
            want(ErrorCode::ServerError, true, Some(503)).after(120_000.0),
        );
        expect_err(
            refresh(&p, &reply_after(429, r#"{"error":"rate_limited"}"#, " 2 ")),
            want(ErrorCode::ServerError, true, Some(429))
                .server("rate_limited")
                .after(2000.0),
        );
        expect_err(
            refresh(&p, &reply_after(500, &html_page(), NOW_PLUS_30S_HTTP_DATE)),
            want(ErrorCode::ServerError, true, Some(500)).after(30_000.0),
        );
        expect_err(
            refresh(&p, &reply_after(502, "", PAST_HTTP_DATE)),
            want(ErrorCode::ServerError, true, Some(502)).after(0.0),
        );
        expect_err(
            refresh(&p, &reply_after(504, "", "soon")),
            want(ErrorCode::ServerError, true, Some(504)),
        );
    }
}

#[test]
fn retry_after_http_date_is_relative_to_the_passed_clock_reading() {
    let later = NOW + 10_000.0;
    expect_err(
        process_refresh(
            &codex(),
            &from_string(),
            &reply_after(503, "", NOW_PLUS_30S_HTTP_DATE),
            later,
        ),
        want(ErrorCode::ServerError, true, Some(503)).after(20_000.0),
    );
}

#[test]
fn a_refresh_token_code_on_a_5xx_is_still_that_code() {
    expect_err(
        codex_refresh(500, r#"{"error":{"code":"refresh_token_reused"}}"#),
        want(ErrorCode::RefreshTokenReused, false, Some(500)).server("refresh_token_reused"),
    );
}

#[test]
fn refresh_malformed_json_or_html_below_500_is_invalid_response() {
    for status in [200, 400, 403] {
        for body in [
            html_page(),
            format!(r#"{{"access_token":"{NEW_ACCESS}""#),
            format!(r#"{{"access_token":"{NEW_ACCESS}"}} trailing"#),
            "\u{FEFF}{}".to_owned(),
        ] {
            expect_err(
                codex_refresh(status, &body),
                want(ErrorCode::InvalidResponse, true, Some(status)),
            );
        }
    }
}

#[test]
fn refresh_400_with_unknown_or_codeless_json_is_oauth_error_or_invalid_response() {
    expect_err(
        codex_refresh(400, r#"{"error":"invalid_request"}"#),
        want(ErrorCode::OAuthError, false, Some(400)).server("invalid_request"),
    );
    expect_err(
        codex_refresh(400, "{}"),
        want(ErrorCode::InvalidResponse, true, Some(400)),
    );
    expect_err(
        codex_refresh(400, ""),
        want(ErrorCode::InvalidResponse, true, Some(400)),
    );
}

#[test]
fn server_codes_are_sanitised_lowercased_and_cut_to_64_characters() {
    expect_err(
        codex_refresh(400, r#"{"error":"  Weird Code!! <b>  "}"#),
        want(ErrorCode::OAuthError, false, Some(400)).server("weirdcodeb"),
    );
    let long = "x".repeat(100);
    expect_err(
        codex_refresh(400, &format!(r#"{{"error":"{long}"}}"#)),
        want(ErrorCode::OAuthError, false, Some(400)).server(&long[..64]),
    );
}

#[test]
fn refresh_error_description_is_quoted_sanitised_and_at_most_200_characters() {
    let e = expect_err(
        refresh(
            &rfc(Auth::Post),
            &reply(
                400,
                &format!(
                    r#"{{"error":"invalid_grant","error_description":"token {REFRESH} of client {CLIENT_SECRET} is revoked{}","trace":"{RAW_BODY_MARKER}"}}"#,
                    " padding".repeat(60)
                ),
            ),
        ),
        want(ErrorCode::InvalidGrant, false, Some(400)).server("invalid_grant"),
    );
    assert!(
        e.message
            .contains("token [redacted] of client [redacted] is revoked"),
        "{}",
        e.message
    );
    let quoted = e
        .message
        .split("Server says: ")
        .nth(1)
        .expect("quoted description");
    assert!(quoted.chars().count() <= 200, "{}", quoted.len());
}

#[test]
fn refresh_error_description_redacts_the_previous_access_token_and_token_shaped_words() {
    let long_token = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg";
    let e = expect_err(
        process_refresh(
            &codex(),
            &from_tokens(),
            &reply(
                400,
                &format!(
                    r#"{{"error":{{"code":"invalid_grant","message":"access {ACCESS} and {long_token} are not valid"}}}}"#
                ),
            ),
            NOW,
        ),
        want(ErrorCode::InvalidGrant, false, Some(400)).server("invalid_grant"),
    );
    assert!(!e.message.contains(long_token), "{}", e.message);
}

#[test]
fn tokens_serialise_to_the_documented_shape_and_back() {
    let t = Tokens {
        access_token: Secret::new(ACCESS),
        token_type: "Bearer".into(),
        refresh_token: Some(Secret::new(REFRESH)),
        id_token: Some(Secret::new(ID_TOKEN)),
        scope: Some("openid".into()),
        expires_at: Some(NOW),
    };
    assert_eq!(
        t.to_json(),
        r#"{"accessToken":"at_CANARY_access_1","tokenType":"Bearer","refreshToken":"rt_CANARY_refresh_1","idToken":"it_CANARY_id_1","scope":"openid","expiresAt":1700000000000}"#
    );
    assert_eq!(Tokens::from_json(&parse(&t.to_json())).unwrap(), t);
    let minimal = Tokens::from_json(&parse(r#"{"accessToken":"a","tokenType":"bearer"}"#)).unwrap();
    assert_eq!(
        minimal.to_json(),
        r#"{"accessToken":"a","tokenType":"Bearer"}"#
    );
}
