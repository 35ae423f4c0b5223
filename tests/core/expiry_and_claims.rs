//! `isAccessTokenExpired`, `decodeTokenClaims` (no signature verification) and
//! `codexAuthHeaders`.

use crate::support::*;
use oauth_device_flow::jwt::{expires_at, payload};
use oauth_device_flow::{
    codex_auth_headers, decode_claims, is_access_token_expired, ErrorCode, Secret, TokenClaims,
    Tokens, DEFAULT_SKEW_MS,
};

fn tokens(access: &str, id: Option<&str>) -> Tokens {
    Tokens {
        access_token: Secret::new(access),
        token_type: "Bearer".into(),
        refresh_token: Some(Secret::new(REFRESH)),
        id_token: id.map(Secret::new),
        scope: None,
        expires_at: None,
    }
}

const AUTH: &str = "https://api.openai.com/auth";

fn openai_id_token() -> String {
    jwt(&format!(
        r#"{{"email":"user@example.com","{AUTH}":{{"chatgpt_account_id":"acc-id","chatgpt_plan_type":"plus","chatgpt_user_id":"user-id"}}}}"#
    ))
}

fn openai_access_token() -> String {
    jwt(&format!(
        r#"{{"exp":1700003600,"aud":["https://api.openai.com/v1"],"{AUTH}":{{"chatgpt_account_id":"acc-access","chatgpt_plan_type":"pro","chatgpt_user_id":"user-access"}}}}"#
    ))
}

// ---- is_access_token_expired -------------------------------------------------------------------

#[test]
fn default_skew_is_one_minute() {
    // A token with one minute left counts as expired with the default skew; one with a
    // millisecond more does not.
    let check =
        |expires_at: f64| is_access_token_expired(Some(expires_at), None, NOW, DEFAULT_SKEW_MS);
    assert_eq!(check(NOW + 60_000.0), Ok(true));
    assert_eq!(check(NOW + 60_001.0), Ok(false));
}

#[test]
fn expired_iff_now_plus_skew_reaches_expires_at() {
    let at = NOW + 60_000.0;
    let check = |now: f64| is_access_token_expired(Some(at), Some(ACCESS), now, DEFAULT_SKEW_MS);
    assert_eq!(check(NOW - 1.0), Ok(false));
    assert_eq!(check(NOW), Ok(true), "now + skew == expiresAt is expired");
    assert_eq!(check(NOW + 1.0), Ok(true));
    assert_eq!(
        is_access_token_expired(Some(at), None, NOW + 59_999.0, 0.0),
        Ok(false)
    );
    assert_eq!(is_access_token_expired(Some(at), None, at, 0.0), Ok(true));
}

#[test]
fn expiry_falls_back_to_the_access_token_jwt_exp() {
    let access = jwt(r#"{"exp":1700000060}"#); // NOW + 60 s
    assert_eq!(
        is_access_token_expired(None, Some(&access), NOW - 1.0, DEFAULT_SKEW_MS),
        Ok(false)
    );
    assert_eq!(
        is_access_token_expired(None, Some(&access), NOW, DEFAULT_SKEW_MS),
        Ok(true)
    );
}

#[test]
fn a_stored_expires_at_wins_over_the_jwt_exp() {
    let access = jwt(r#"{"exp":1000}"#); // long past
    assert_eq!(
        is_access_token_expired(Some(NOW + 3_600_000.0), Some(&access), NOW, DEFAULT_SKEW_MS),
        Ok(false)
    );
    let access = jwt(r#"{"exp":99999999999}"#); // far future
    assert_eq!(
        is_access_token_expired(Some(NOW - 1.0), Some(&access), NOW, DEFAULT_SKEW_MS),
        Ok(true)
    );
}

#[test]
fn with_neither_expires_at_nor_jwt_exp_the_token_is_not_expired() {
    for access in [
        None,
        Some(ACCESS.to_owned()),
        Some(jwt(r#"{"sub":"x"}"#)),
        Some(jwt(r#"{"exp":"1700000000"}"#)),
        Some(jwt(r#"{"exp":-5}"#)),
        Some("a.b.c".to_owned()),
    ] {
        assert_eq!(
            is_access_token_expired(None, access.as_deref(), NOW, DEFAULT_SKEW_MS),
            Ok(false),
            "{access:?}"
        );
    }
}

#[test]
fn a_nan_negative_or_infinite_clock_reading_is_invalid_config() {
    for now in [f64::NAN, -1.0, -0.5, f64::INFINITY, f64::NEG_INFINITY] {
        expect_err(
            is_access_token_expired(Some(NOW), Some(ACCESS), now, DEFAULT_SKEW_MS),
            want(ErrorCode::InvalidConfig, false, None),
        );
        expect_err(
            oauth_device_flow::clock::check_reading(now),
            want(ErrorCode::InvalidConfig, false, None),
        );
    }
    assert_eq!(oauth_device_flow::clock::check_reading(0.0), Ok(0.0));
}

#[test]
fn a_non_finite_skew_is_invalid_config() {
    for skew in [f64::NAN, f64::INFINITY] {
        expect_err(
            is_access_token_expired(Some(NOW), None, NOW, skew),
            want(ErrorCode::InvalidConfig, false, None),
        );
    }
}

// ---- decode_claims -----------------------------------------------------------------------------

#[test]
fn claims_come_from_the_id_token_auth_claim_and_the_access_token() {
    let claims = decode_claims(Some(&openai_access_token()), Some(&openai_id_token()));
    assert_eq!(
        claims,
        TokenClaims {
            account_id: Some("acc-id".into()),
            plan_type: Some("plus".into()),
            email: Some("user@example.com".into()),
            user_id: Some("user-id".into()),
            expires_at: Some(1_700_003_600_000.0),
            audience: Some(vec!["https://api.openai.com/v1".into()]),
        }
    );
    assert_eq!(
        claims.to_json(),
        r#"{"accountId":"acc-id","planType":"plus","email":"user@example.com","userId":"user-id","expiresAt":1700003600000,"audience":["https://api.openai.com/v1"]}"#
    );
}

#[test]
fn account_plan_and_user_fall_back_to_the_access_token_claim() {
    let id = jwt(r#"{"email":"user@example.com"}"#);
    let claims = decode_claims(Some(&openai_access_token()), Some(&id));
    assert_eq!(claims.account_id.as_deref(), Some("acc-access"));
    assert_eq!(claims.plan_type.as_deref(), Some("pro"));
    assert_eq!(claims.user_id.as_deref(), Some("user-access"));
    assert_eq!(claims.email.as_deref(), Some("user@example.com"));

    let claims = decode_claims(Some(&openai_access_token()), None);
    assert_eq!(claims.account_id.as_deref(), Some("acc-access"));
    assert_eq!(claims.email, None, "email only comes from the id token");
}

#[test]
fn a_partial_id_token_claim_falls_back_field_by_field() {
    let id = jwt(&format!(
        r#"{{"{AUTH}":{{"chatgpt_plan_type":"team","chatgpt_account_id":""}}}}"#
    ));
    let claims = decode_claims(Some(&openai_access_token()), Some(&id));
    assert_eq!(claims.plan_type.as_deref(), Some("team"));
    assert_eq!(claims.account_id.as_deref(), Some("acc-access"));
}

#[test]
fn email_falls_back_to_the_profile_claim() {
    let id = jwt(
        r#"{"https://api.openai.com/profile":{"email":"profile@example.com","email_verified":true}}"#,
    );
    assert_eq!(
        decode_claims(None, Some(&id)).email.as_deref(),
        Some("profile@example.com")
    );
    let id = jwt(
        r#"{"email":"top@example.com","https://api.openai.com/profile":{"email":"profile@example.com"}}"#,
    );
    assert_eq!(
        decode_claims(None, Some(&id)).email.as_deref(),
        Some("top@example.com")
    );
}

#[test]
fn audience_string_becomes_an_array() {
    let access = jwt(r#"{"aud":"https://api.openai.com/v1"}"#);
    assert_eq!(
        decode_claims(Some(&access), None).audience,
        Some(vec!["https://api.openai.com/v1".to_owned()])
    );
    let access = jwt(r#"{"aud":["a","b"]}"#);
    assert_eq!(
        decode_claims(Some(&access), None).audience,
        Some(vec!["a".to_owned(), "b".to_owned()])
    );
}

#[test]
fn garbage_tokens_give_no_claims() {
    for token in [
        String::new(),
        ACCESS.to_owned(),
        "a.b".to_owned(),
        "a.b.c.d".to_owned(),
        "x.!!!.y".to_owned(),
        jwt("not json"),
        jwt("[1,2]"),
        jwt(r#""string""#),
        format!("{}.{}.", "eyJhbGciOiJub25lIn0", "_-_-"),
    ] {
        assert_eq!(
            decode_claims(Some(&token), Some(&token)),
            TokenClaims::default(),
            "{token}"
        );
        assert_eq!(payload(&token), None);
        assert_eq!(expires_at(&token), None);
    }
    assert_eq!(decode_claims(None, None), TokenClaims::default());
    assert_eq!(TokenClaims::default().to_json(), "{}");
}

#[test]
fn jwt_payloads_with_padding_are_read() {
    let token = format!(
        "eyJhbGciOiJub25lIn0.{}.sig",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE, r#"{"exp":12}"#)
    );
    assert!(token.contains('='));
    assert_eq!(expires_at(&token), Some(12_000.0));
}

#[test]
fn the_claims_of_tokens_read_both_tokens() {
    let t = tokens(&openai_access_token(), Some(&openai_id_token()));
    assert_eq!(t.claims().account_id.as_deref(), Some("acc-id"));
    assert_eq!(t.claims().expires_at, Some(1_700_003_600_000.0));
}

// ---- codex_auth_headers ------------------------------------------------------------------------

#[test]
fn codex_auth_headers_are_bearer_and_the_chatgpt_account_id() {
    let access = openai_access_token();
    let headers = codex_auth_headers(&tokens(&access, Some(&openai_id_token()))).unwrap();
    assert_eq!(
        headers,
        vec![
            ("Authorization".to_owned(), format!("Bearer {access}")),
            ("ChatGPT-Account-ID".to_owned(), "acc-id".to_owned()),
        ]
    );
}

#[test]
fn codex_auth_headers_take_the_account_from_the_access_token_without_an_id_token() {
    let access = openai_access_token();
    let headers = codex_auth_headers(&tokens(&access, None)).unwrap();
    assert_eq!(
        headers[1],
        ("ChatGPT-Account-ID".to_owned(), "acc-access".to_owned())
    );
}

#[test]
fn codex_auth_headers_without_an_account_are_only_authorization() {
    let headers = codex_auth_headers(&tokens(ACCESS, Some("garbage"))).unwrap();
    assert_eq!(
        headers,
        vec![("Authorization".to_owned(), format!("Bearer {ACCESS}"))]
    );
}

#[test]
fn codex_auth_headers_refuse_an_empty_or_control_character_access_token() {
    for access in ["", "at_CANARY\r\nX-Injected: 1", "at\0x"] {
        expect_err(
            codex_auth_headers(&tokens(access, None)),
            want(ErrorCode::InvalidConfig, false, None),
        );
    }
    let id = jwt(&format!(
        r#"{{"{AUTH}":{{"chatgpt_account_id":"acc\r\nX-Evil: 1"}}}}"#
    ));
    expect_err(
        codex_auth_headers(&tokens(ACCESS, Some(&id))),
        want(ErrorCode::InvalidConfig, false, None),
    );
}
