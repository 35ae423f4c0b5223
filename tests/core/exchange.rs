//! Step 3 (openai-codex only): redeem the authorization code with the server-made PKCE verifier,
//! as a form, at the token endpoint.

use crate::support::*;
use oauth_device_flow::{
    code_exchange_request, process_code_exchange, process_poll, AfterPoll, CodeExchange, Error,
    ErrorCode, HttpResponse, Secret, Tokens,
};

fn exchange() -> CodeExchange {
    let p = codex();
    let step = process_poll(
        &p,
        &device_code(),
        &reply(
            200,
            &format!(r#"{{"authorization_code":"{AUTH_CODE}","code_verifier":"{CODE_VERIFIER}"}}"#),
        ),
        NOW,
    )
    .unwrap();
    match step {
        AfterPoll::Exchange(x) => x,
        other => panic!("expected an exchange, got {other:?}"),
    }
}

fn redeem(resp: &HttpResponse) -> Result<Tokens, Error> {
    process_code_exchange(&codex(), &exchange(), resp, NOW)
}

#[test]
fn code_exchange_request_for_the_default_issuer_uses_its_callback_redirect_uri() {
    let req = code_exchange_request(
        &codex_default(),
        &Secret::new(AUTH_CODE),
        &Secret::new(CODE_VERIFIER),
    );
    assert_request(
        &req,
        "https://auth.openai.com/oauth/token",
        &[ACCEPT, FORM_CT],
        "grant_type=authorization_code&code=ac_CANARY_authorization_code_1&redirect_uri=https%3A%2F%2Fauth.openai.com%2Fdeviceauth%2Fcallback&client_id=app_EMoamEEZ73f0CkXaXp7hrann&code_verifier=cv_CANARY_code_verifier_1",
    );
}

#[test]
fn code_exchange_request_form_encodes_odd_characters_in_code_and_verifier() {
    let req = code_exchange_request(
        &codex(),
        &Secret::new("a b+c/d=é"),
        &Secret::new("v~v.v-v_v*"),
    );
    assert_eq!(
        req.body,
        "grant_type=authorization_code&code=a+b%2Bc%2Fd%3D%C3%A9&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fdeviceauth%2Fcallback&client_id=app_EMoamEEZ73f0CkXaXp7hrann&code_verifier=v%7Ev.v-v_v*"
    );
}

#[test]
fn codex_exchange_success_gives_all_tokens_with_expiry_from_expires_in() {
    let id = jwt(r#"{"email":"a@b.c"}"#);
    let tokens = redeem(&reply(
        200,
        &format!(
            r#"{{"id_token":"{id}","access_token":"{ACCESS}","refresh_token":"{REFRESH}","expires_in":3600,"token_type":"Bearer"}}"#
        ),
    ))
    .unwrap();
    assert_eq!(
        tokens,
        Tokens {
            access_token: Secret::new(ACCESS),
            token_type: "Bearer".into(),
            refresh_token: Some(Secret::new(REFRESH)),
            id_token: Some(Secret::new(id)),
            scope: None,
            expires_at: Some(NOW + 3_600_000.0),
        }
    );
}

#[test]
fn codex_exchange_success_without_expires_in_takes_the_access_token_exp() {
    let access =
        jwt(r#"{"exp":1700000864,"https://api.openai.com/auth":{"chatgpt_account_id":"acc"}}"#);
    let tokens = redeem(&reply(
        200,
        &format!(r#"{{"access_token":"{access}","refresh_token":"{REFRESH}"}}"#),
    ))
    .unwrap();
    assert_eq!(tokens.expires_at, Some(1_700_000_864_000.0));
    assert_eq!(tokens.token_type, "Bearer");
}

#[test]
fn codex_exchange_invalid_grant_is_invalid_grant() {
    expect_err(
        redeem(&reply(
            400,
            r#"{"error":"invalid_grant","error_description":"Invalid authorization code"}"#,
        )),
        want(ErrorCode::InvalidGrant, false, Some(400)).server("invalid_grant"),
    );
    expect_err(
        redeem(&reply(
            400,
            r#"{"error":{"code":"invalid_grant","message":"code already used"}}"#,
        )),
        want(ErrorCode::InvalidGrant, false, Some(400)).server("invalid_grant"),
    );
}

#[test]
fn codex_exchange_bare_401_is_invalid_grant() {
    for body in ["", "   ", "{}", r#"{"error":{"message":"Unauthorized"}}"#] {
        expect_err(
            redeem(&reply(401, body)),
            want(ErrorCode::InvalidGrant, false, Some(401)),
        );
    }
}

#[test]
fn codex_exchange_401_with_another_code_is_oauth_error() {
    expect_err(
        redeem(&reply(401, r#"{"error":"invalid_client"}"#)),
        want(ErrorCode::OAuthError, false, Some(401)).server("invalid_client"),
    );
}

#[test]
fn codex_exchange_400_with_an_unknown_nested_code_is_oauth_error() {
    expect_err(
        redeem(&reply(
            400,
            r#"{"error":{"code":"token_exchange_user_error","message":"bad"}}"#,
        )),
        want(ErrorCode::OAuthError, false, Some(400)).server("token_exchange_user_error"),
    );
}

#[test]
fn codex_exchange_5xx_is_retryable_server_error_with_retry_after() {
    expect_err(
        redeem(&reply_after(502, &html_page(), "3")),
        want(ErrorCode::ServerError, true, Some(502)).after(3000.0),
    );
    expect_err(
        redeem(&reply_after(429, "", NOW_PLUS_30S_HTTP_DATE)),
        want(ErrorCode::ServerError, true, Some(429)).after(30_000.0),
    );
}

#[test]
fn codex_exchange_malformed_or_incomplete_success_is_invalid_response() {
    for body in [
        html_page(),
        format!(r#"{{"access_token":"{ACCESS}""#),
        format!(r#"{{"refresh_token":"{REFRESH}","id_token":"{ID_TOKEN}"}}"#),
        r#"{"access_token":""}"#.to_owned(),
        "".to_owned(),
    ] {
        expect_err(
            redeem(&reply(200, &body)),
            want(ErrorCode::InvalidResponse, true, Some(200)),
        );
    }
}

#[test]
fn codex_exchange_redirect_is_retryable_redirect() {
    expect_err(
        redeem(&reply(302, "")),
        want(ErrorCode::Redirect, true, Some(302)),
    );
}

#[test]
fn codex_exchange_messages_redact_an_echoed_code_and_verifier() {
    let e = expect_err(
        redeem(&reply(
            400,
            &format!(
                r#"{{"error":"invalid_request","error_description":"code {AUTH_CODE} does not match verifier {CODE_VERIFIER}","trace":"{RAW_BODY_MARKER}"}}"#
            ),
        )),
        want(ErrorCode::OAuthError, false, Some(400)).server("invalid_request"),
    );
    assert!(
        e.message
            .contains("code [redacted] does not match verifier [redacted]"),
        "{}",
        e.message
    );
}

#[test]
fn codex_exchange_with_a_pending_code_in_the_reply_is_not_a_success() {
    // `authorization_pending` only means pending on a poll; on an exchange it is another code.
    expect_err(
        redeem(&reply(400, r#"{"error":"authorization_pending"}"#)),
        want(ErrorCode::OAuthError, false, Some(400)).server("authorization_pending"),
    );
}
