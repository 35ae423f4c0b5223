//! Revocation (logout): OpenAI's JSON body or RFC 7009's form; any 2xx is success.

use crate::support::*;
use oauth_device_flow::http::read_body_needed;
use oauth_device_flow::{
    process_revocation, revocation_request, rfc8628_provider, ErrorCode, Provider, RequestKind,
    Secret,
};

fn token() -> Secret {
    Secret::new(REFRESH)
}

fn all_providers() -> Vec<Provider> {
    let mut v = vec![codex()];
    v.extend(ALL_AUTH.into_iter().map(rfc));
    v
}

#[test]
fn codex_revocation_request_is_json_token_hint_client_id() {
    assert_request(
        &revocation_request(&codex(), &token()).unwrap(),
        "http://127.0.0.1:8080/oauth/revoke",
        &codex_json_headers(),
        r#"{"token":"rt_CANARY_refresh_1","token_type_hint":"refresh_token","client_id":"app_EMoamEEZ73f0CkXaXp7hrann"}"#,
    );
    assert_request(
        &revocation_request(&codex_default(), &token()).unwrap(),
        "https://auth.openai.com/oauth/revoke",
        &[ACCEPT, JSON_CT],
        r#"{"token":"rt_CANARY_refresh_1","token_type_hint":"refresh_token","client_id":"app_EMoamEEZ73f0CkXaXp7hrann"}"#,
    );
}

#[test]
fn rfc8628_revocation_request_is_an_rfc7009_form_with_client_auth() {
    for auth in ALL_AUTH {
        assert_request(
            &revocation_request(&rfc(auth), &token()).unwrap(),
            RFC_REVOCATION_ENDPOINT,
            &rfc_form_headers(auth),
            &format!(
                "token=rt_CANARY_refresh_1&token_type_hint=refresh_token&client_id={RFC_CLIENT_ID_FORM}{}",
                secret_field(auth)
            ),
        );
    }
}

#[test]
fn revocation_without_revocation_endpoint_is_invalid_config() {
    let p = rfc8628_provider(&parse(
        r#"{"clientId":"c","deviceAuthorizationEndpoint":"https://a.example/d","tokenEndpoint":"https://a.example/t"}"#,
    ))
    .unwrap();
    expect_err(
        revocation_request(&p, &token()),
        want(ErrorCode::InvalidConfig, false, None),
    );
}

#[test]
fn revocation_of_an_empty_token_is_invalid_config() {
    for p in all_providers() {
        expect_err(
            revocation_request(&p, &Secret::new("")),
            want(ErrorCode::InvalidConfig, false, None),
        );
    }
}

#[test]
fn any_2xx_revocation_reply_is_success_whatever_the_body() {
    for p in all_providers() {
        for (status, body) in [
            (200, String::new()),
            (200, "{}".to_owned()),
            (200, html_page()),
            (200, "not json at all".to_owned()),
            (200, r#"{"error":"invalid_grant"}"#.to_owned()),
            (201, "x".to_owned()),
            (204, String::new()),
            (299, "{".to_owned()),
            (200, "x".repeat(200_000)),
        ] {
            assert_eq!(
                process_revocation(&p, &token(), &reply(status, &body), NOW),
                Ok(()),
                "{status}"
            );
        }
    }
}

#[test]
fn a_2xx_revocation_reply_needs_no_body_read() {
    for status in [200, 204, 299] {
        assert_eq!(
            read_body_needed(RequestKind::Revocation, status, None),
            Ok(false)
        );
        assert_eq!(
            read_body_needed(RequestKind::Revocation, status, Some("99999999")),
            Ok(false)
        );
    }
    assert_eq!(
        read_body_needed(RequestKind::Revocation, 400, None),
        Ok(true)
    );
}

#[test]
fn rfc7009_unsupported_token_type_is_oauth_error() {
    for auth in ALL_AUTH {
        expect_err(
            process_revocation(
                &rfc(auth),
                &token(),
                &reply(
                    400,
                    &format!(
                        r#"{{"error":"unsupported_token_type","error_description":"cannot revoke {REFRESH}"}}"#
                    ),
                ),
                NOW,
            ),
            want(ErrorCode::OAuthError, false, Some(400)).server("unsupported_token_type"),
        );
    }
}

#[test]
fn revocation_5xx_is_server_error_with_retry_after() {
    for p in all_providers() {
        expect_err(
            process_revocation(&p, &token(), &reply_after(503, &html_page(), "10"), NOW),
            want(ErrorCode::ServerError, true, Some(503)).after(10_000.0),
        );
        expect_err(
            process_revocation(&p, &token(), &reply_after(429, "", PAST_HTTP_DATE), NOW),
            want(ErrorCode::ServerError, true, Some(429)).after(0.0),
        );
    }
}

#[test]
fn revocation_redirect_is_redirect() {
    for p in all_providers() {
        for status in [301, 302, 307] {
            expect_err(
                process_revocation(&p, &token(), &reply(status, ""), NOW),
                want(ErrorCode::Redirect, true, Some(status)),
            );
        }
        expect_err(
            read_body_needed(RequestKind::Revocation, 302, Some("0")),
            want(ErrorCode::Redirect, true, Some(302)),
        );
    }
}

#[test]
fn revocation_non_2xx_without_a_code_is_invalid_response() {
    for p in all_providers() {
        for (status, body) in [
            (400, String::new()),
            (401, String::new()),
            (404, html_page()),
            (100, String::new()),
            (418, "{}".to_owned()),
            (999, String::new()),
        ] {
            expect_err(
                process_revocation(&p, &token(), &reply(status, &body), NOW),
                want(ErrorCode::InvalidResponse, true, Some(status)),
            );
        }
    }
}

#[test]
fn revocation_refresh_token_codes_keep_their_meaning() {
    expect_err(
        process_revocation(
            &codex(),
            &token(),
            &reply(401, r#"{"error":{"code":"refresh_token_invalidated"}}"#),
            NOW,
        ),
        want(ErrorCode::RefreshTokenInvalidated, false, Some(401))
            .server("refresh_token_invalidated"),
    );
}
