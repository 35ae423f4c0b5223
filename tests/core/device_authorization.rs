//! Step 1: the user-code (openai-codex) / device authorization (rfc8628) request and its reply.

use crate::support::*;
use oauth_device_flow::{
    device_authorization_request, process_device_authorization, DeviceCode, ErrorCode, Provider,
    Secret, MAX_INTERVAL_MS, MIN_INTERVAL_MS, OPENAI_CODE_LIFETIME_MS,
};

fn codex_reply(body: &str) -> Result<DeviceCode, oauth_device_flow::Error> {
    process_device_authorization(&codex(), &reply(200, body), NOW)
}

fn rfc_reply(body: &str) -> Result<DeviceCode, oauth_device_flow::Error> {
    process_device_authorization(&rfc(Auth::Public), &reply(200, body), NOW)
}

fn rfc_body(extra: &str) -> String {
    format!(
        r#"{{"device_code":"{DEVICE_CODE}","user_code":"WDJB-MJHT","verification_uri":"https://idp.example.com/device"{extra}}}"#
    )
}

// ---- requests ----------------------------------------------------------------------------------

#[test]
fn codex_user_code_request_is_json_client_id_to_the_usercode_endpoint() {
    assert_request(
        &device_authorization_request(&codex()),
        "http://127.0.0.1:8080/api/accounts/deviceauth/usercode",
        &codex_json_headers(),
        r#"{"client_id":"app_EMoamEEZ73f0CkXaXp7hrann"}"#,
    );
}

#[test]
fn codex_default_provider_user_code_request_targets_auth_openai_com_with_only_accept_and_content_type(
) {
    assert_request(
        &device_authorization_request(&codex_default()),
        "https://auth.openai.com/api/accounts/deviceauth/usercode",
        &[ACCEPT, JSON_CT],
        r#"{"client_id":"app_EMoamEEZ73f0CkXaXp7hrann"}"#,
    );
}

#[test]
fn rfc8628_device_request_is_a_form_with_client_id_secret_scope_then_extra_params() {
    for auth in ALL_AUTH {
        let body = format!(
            "client_id={RFC_CLIENT_ID_FORM}{}&scope=openid+offline_access&audience=https%3A%2F%2Fapi.example.com%2F&resource=urn%3Aexample%3Ares",
            secret_field(auth)
        );
        assert_request(
            &device_authorization_request(&rfc(auth)),
            RFC_DEVICE_ENDPOINT,
            &rfc_form_headers(auth),
            &body,
        );
    }
}

#[test]
fn rfc8628_device_request_without_scope_or_extra_params_is_client_id_only() {
    let p = oauth_device_flow::rfc8628_provider(&parse(
        r#"{"clientId":"cli","deviceAuthorizationEndpoint":"http://localhost:9000/device","tokenEndpoint":"http://localhost:9000/token"}"#,
    ))
    .unwrap();
    assert_request(
        &device_authorization_request(&p),
        "http://localhost:9000/device",
        &[ACCEPT, FORM_CT],
        "client_id=cli",
    );
}

#[test]
fn rfc8628_extra_params_keep_insertion_order_and_are_form_encoded() {
    let p = oauth_device_flow::rfc8628_provider(&parse(
        r#"{"clientId":"c","deviceAuthorizationEndpoint":"https://a.example/d","tokenEndpoint":"https://a.example/t","extraParams":{"z":"1 2","a":"é&=","m":"*-._~!"}}"#,
    ))
    .unwrap();
    assert_eq!(
        device_authorization_request(&p).body,
        "client_id=c&z=1+2&a=%C3%A9%26%3D&m=*-._%7E%21"
    );
}

// ---- codex replies -----------------------------------------------------------------------------

#[test]
fn codex_user_code_reply_gives_a_device_code_with_the_provider_url_and_15_minutes() {
    let code = codex_reply(&format!(
        r#"{{"device_auth_id":"{DEVICE_CODE}","user_code":"ABCD-EFGH","interval":"5"}}"#
    ))
    .unwrap();
    assert_eq!(
        code,
        DeviceCode {
            device_code: Secret::new(DEVICE_CODE),
            user_code: "ABCD-EFGH".into(),
            verification_uri: "http://127.0.0.1:8080/codex/device".into(),
            verification_uri_complete: None,
            interval_ms: 5000.0,
            expires_at: NOW + FIFTEEN_MIN_MS,
        }
    );
    assert_eq!(OPENAI_CODE_LIFETIME_MS, FIFTEEN_MIN_MS);
}

#[test]
fn codex_user_code_reply_accepts_the_usercode_alias_and_a_numeric_interval() {
    let code = codex_reply(&format!(
        r#"{{"device_auth_id":"{DEVICE_CODE}","usercode":"WXYZ-1234","interval":7}}"#
    ))
    .unwrap();
    assert_eq!(code.user_code, "WXYZ-1234");
    assert_eq!(code.interval_ms, 7000.0);
}

#[test]
fn codex_user_code_reply_with_usable_expires_in_uses_it_from_the_clock_reading() {
    let code = codex_reply(&format!(
        r#"{{"device_auth_id":"{DEVICE_CODE}","user_code":"A","expires_in":"600"}}"#
    ))
    .unwrap();
    assert_eq!(code.expires_at, NOW + 600_000.0);
    assert_eq!(code.interval_ms, 5000.0, "absent interval is 5 s");
}

#[test]
fn codex_user_code_reply_with_unusable_expires_in_falls_back_to_15_minutes() {
    for bad in [
        "0", "-1", r#""abc""#, "31536001", r#""1e3""#, "null", "true",
    ] {
        let code = codex_reply(&format!(
            r#"{{"device_auth_id":"{DEVICE_CODE}","user_code":"A","expires_in":{bad}}}"#
        ))
        .unwrap();
        assert_eq!(code.expires_at, NOW + FIFTEEN_MIN_MS, "expires_in {bad}");
    }
}

#[test]
fn codex_user_code_reply_without_device_auth_id_is_invalid_response() {
    for body in [
        r#"{"user_code":"A","interval":"5"}"#,
        r#"{"device_auth_id":"","user_code":"A"}"#,
        r#"{"device_auth_id":42,"user_code":"A"}"#,
        r#"{"device_code":"dc_CANARY_device_code_1","user_code":"A"}"#,
    ] {
        expect_err(
            codex_reply(body),
            want(ErrorCode::InvalidResponse, true, Some(200)),
        );
    }
}

#[test]
fn codex_user_code_reply_without_user_code_is_invalid_response() {
    for body in [
        format!(r#"{{"device_auth_id":"{DEVICE_CODE}"}}"#),
        format!(r#"{{"device_auth_id":"{DEVICE_CODE}","user_code":""}}"#),
        format!(r#"{{"device_auth_id":"{DEVICE_CODE}","user_code":null}}"#),
    ] {
        expect_err(
            codex_reply(&body),
            want(ErrorCode::InvalidResponse, true, Some(200)),
        );
    }
}

#[test]
fn codex_user_code_404_is_device_flow_disabled_whatever_the_body_says() {
    // Classification rule 3 (docs/behaviour.md, "How a reply is classified") comes before "another code -> oauth_error".
    for body in [
        "",
        "Not Found",
        &html_page(),
        r#"{"detail":"Not Found"}"#,
        r#"{"error":{"message":"device code login is not enabled"}}"#,
        r#"{"error":{"code":"not_found","message":"Not Found"}}"#,
        r#"{"error":"not_found"}"#,
        r#"{"code":"device_code_login_disabled"}"#,
    ] {
        let p = codex();
        expect_err(
            process_device_authorization(&p, &reply(404, body), NOW),
            want(ErrorCode::DeviceFlowDisabled, false, Some(404)),
        );
    }
}

#[test]
fn codex_user_code_404_with_a_known_protocol_code_keeps_that_code() {
    expect_err(
        process_device_authorization(&codex(), &reply(404, r#"{"error":"access_denied"}"#), NOW),
        want(ErrorCode::AccessDenied, false, Some(404)).server("access_denied"),
    );
}

#[test]
fn codex_user_code_429_with_retry_after_seconds_is_server_error() {
    expect_err(
        process_device_authorization(&codex(), &reply_after(429, "", "30"), NOW),
        want(ErrorCode::ServerError, true, Some(429)).after(30_000.0),
    );
}

#[test]
fn codex_user_code_403_regional_block_is_oauth_error_with_the_server_code() {
    expect_err(
        process_device_authorization(
            &codex(),
            &reply(
                403,
                r#"{"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported"}}"#,
            ),
            NOW,
        ),
        want(ErrorCode::OAuthError, false, Some(403))
            .server("unsupported_country_region_territory"),
    );
}

#[test]
fn codex_user_code_403_without_a_code_is_invalid_response_not_pending() {
    expect_err(
        process_device_authorization(&codex(), &reply(403, ""), NOW),
        want(ErrorCode::InvalidResponse, true, Some(403)),
    );
}

// ---- rfc8628 replies ---------------------------------------------------------------------------

#[test]
fn rfc8628_device_reply_gives_every_standard_field() {
    let code = rfc_reply(&format!(
        r#"{{"device_code":"{DEVICE_CODE}","user_code":"WDJB-MJHT","verification_uri":"https://idp.example.com/device","verification_uri_complete":"https://idp.example.com/device?user_code=WDJB-MJHT","expires_in":1800,"interval":10}}"#
    ))
    .unwrap();
    assert_eq!(
        code,
        DeviceCode {
            device_code: Secret::new(DEVICE_CODE),
            user_code: "WDJB-MJHT".into(),
            verification_uri: "https://idp.example.com/device".into(),
            verification_uri_complete: Some(
                "https://idp.example.com/device?user_code=WDJB-MJHT".into()
            ),
            interval_ms: 10_000.0,
            expires_at: NOW + 1_800_000.0,
        }
    );
}

#[test]
fn rfc8628_device_reply_is_the_same_for_confidential_clients() {
    for auth in ALL_AUTH {
        let code = process_device_authorization(
            &rfc(auth),
            &reply(200, &rfc_body(r#","expires_in":900"#)),
            NOW,
        )
        .unwrap();
        assert_eq!(code.device_code, Secret::new(DEVICE_CODE));
        assert_eq!(code.expires_at, NOW + 900_000.0);
    }
}

#[test]
fn rfc8628_device_reply_accepts_google_verification_url_and_string_numbers() {
    let code = rfc_reply(&format!(
        r#"{{"device_code":"{DEVICE_CODE}","user_code":"GQVQ-JKEC","verification_url":"https://www.google.com/device","expires_in":" 1800 ","interval":"2.5"}}"#
    ))
    .unwrap();
    assert_eq!(code.verification_uri, "https://www.google.com/device");
    assert_eq!(code.expires_at, NOW + 1_800_000.0);
    assert_eq!(code.interval_ms, 2500.0);
    assert_eq!(code.verification_uri_complete, None);
}

#[test]
fn rfc8628_device_reply_expires_in_as_a_decimal_string_is_read() {
    let code = rfc_reply(&rfc_body(r#","expires_in":"2.5""#)).unwrap();
    assert_eq!(code.expires_at, NOW + 2500.0);
}

#[test]
fn rfc8628_device_reply_expires_in_at_the_one_year_limit_is_accepted() {
    let code = rfc_reply(&rfc_body(r#","expires_in":31536000"#)).unwrap();
    assert_eq!(code.expires_at, NOW + 31_536_000_000.0);
}

#[test]
fn rfc8628_device_reply_without_usable_expires_in_is_invalid_response() {
    for extra in [
        "",
        r#","expires_in":null"#,
        r#","expires_in":0"#,
        r#","expires_in":-5"#,
        r#","expires_in":"-5""#,
        r#","expires_in":"abc""#,
        r#","expires_in":"1e3""#,
        r#","expires_in":"5.""#,
        r#","expires_in":31536001"#,
        r#","expires_in":true"#,
        r#","expires_in":[600]"#,
    ] {
        expect_err(
            rfc_reply(&rfc_body(extra)),
            want(ErrorCode::InvalidResponse, true, Some(200)),
        );
    }
}

#[test]
fn interval_as_number_or_numeric_string_is_read_in_seconds() {
    for (interval, ms) in [
        ("5", 5000.0),
        (r#"" 5 ""#, 5000.0),
        (r#""2.5""#, 2500.0),
        ("2.5", 2500.0),
        ("1", MIN_INTERVAL_MS),
        (r#""3600""#, MAX_INTERVAL_MS),
        ("3600", MAX_INTERVAL_MS),
    ] {
        let code = rfc_reply(&rfc_body(&format!(
            r#","expires_in":600,"interval":{interval}"#
        )))
        .unwrap();
        assert_eq!(code.interval_ms, ms, "interval {interval}");
        let code = codex_reply(&format!(
            r#"{{"device_auth_id":"{DEVICE_CODE}","user_code":"A","interval":{interval}}}"#
        ))
        .unwrap();
        assert_eq!(code.interval_ms, ms, "codex interval {interval}");
    }
}

#[test]
fn absent_invalid_or_out_of_range_interval_means_5000_ms() {
    for extra in [
        String::new(),
        r#","interval":null"#.into(),
        r#","interval":"""#.into(),
        r#","interval":"abc""#.into(),
        r#","interval":"-5""#.into(),
        r#","interval":-5"#.into(),
        r#","interval":0"#.into(),
        r#","interval":"0""#.into(),
        r#","interval":0.5"#.into(),
        r#","interval":3601"#.into(),
        r#","interval":"3600.5""#.into(),
        r#","interval":"1e3""#.into(),
        r#","interval":"5s""#.into(),
        r#","interval":true"#.into(),
        r#","interval":{"s":5}"#.into(),
        r#","interval":1e300"#.into(),
    ] {
        let code = rfc_reply(&rfc_body(&format!(r#","expires_in":600{extra}"#))).unwrap();
        assert_eq!(code.interval_ms, 5000.0, "rfc8628 {extra}");
        let code = codex_reply(&format!(
            r#"{{"device_auth_id":"{DEVICE_CODE}","user_code":"A"{extra}}}"#
        ))
        .unwrap();
        assert_eq!(code.interval_ms, 5000.0, "codex {extra}");
    }
}

#[test]
fn duplicate_json_keys_in_the_device_reply_last_one_wins() {
    let code = rfc_reply(&format!(
        r#"{{"device_code":"first","device_code":"{DEVICE_CODE}","user_code":"X","user_code":"WDJB-MJHT","verification_uri":"https://idp.example.com/device","expires_in":60,"expires_in":1800,"interval":1,"interval":"10"}}"#
    ))
    .unwrap();
    assert_eq!(code.device_code, Secret::new(DEVICE_CODE));
    assert_eq!(code.user_code, "WDJB-MJHT");
    assert_eq!(code.expires_at, NOW + 1_800_000.0);
    assert_eq!(code.interval_ms, 10_000.0);
}

#[test]
fn rfc8628_device_reply_missing_device_code_user_code_or_verification_uri_is_invalid_response() {
    for body in [
        r#"{"user_code":"A","verification_uri":"https://idp.example.com/device","expires_in":600}"#
            .to_owned(),
        format!(
            r#"{{"device_code":"{DEVICE_CODE}","verification_uri":"https://idp.example.com/device","expires_in":600}}"#
        ),
        format!(r#"{{"device_code":"{DEVICE_CODE}","user_code":"A","expires_in":600}}"#),
        format!(
            r#"{{"device_code":"{DEVICE_CODE}","user_code":"A","verification_uri":7,"expires_in":600}}"#
        ),
    ] {
        expect_err(
            rfc_reply(&body),
            want(ErrorCode::InvalidResponse, true, Some(200)),
        );
    }
}

#[test]
fn rfc8628_device_400_invalid_client_is_oauth_error_with_server_code_and_no_secret() {
    // The server echoes the client secret we sent: the message keeps the description, redacted.
    for auth in [Auth::Post, Auth::Basic] {
        let e = expect_err(
            process_device_authorization(
                &rfc(auth),
                &reply(
                    400,
                    &format!(
                        r#"{{"error":"invalid_client","error_description":"Client authentication failed for cs_CANARY_secret 1/+:é","trace":"{RAW_BODY_MARKER}"}}"#
                    ),
                ),
                NOW,
            ),
            want(ErrorCode::OAuthError, false, Some(400)).server("invalid_client"),
        );
        assert!(e.message.contains("invalid_client"), "{}", e.message);
        assert!(
            e.message
                .contains("Client authentication failed for [redacted]"),
            "the sanitised description helps: {}",
            e.message
        );
    }
}

#[test]
fn rfc8628_public_device_400_invalid_scope_is_oauth_error_with_server_code() {
    let e = expect_err(
        process_device_authorization(
            &rfc(Auth::Public),
            &reply(
                400,
                r#"{"error":"invalid_scope","error_description":"Unknown scope offline_access"}"#,
            ),
            NOW,
        ),
        want(ErrorCode::OAuthError, false, Some(400)).server("invalid_scope"),
    );
    assert!(
        e.message.contains("Unknown scope offline_access"),
        "{}",
        e.message
    );
}

#[test]
fn rfc8628_device_404_is_invalid_response_not_device_flow_disabled() {
    expect_err(
        process_device_authorization(&rfc(Auth::Public), &reply(404, ""), NOW),
        want(ErrorCode::InvalidResponse, true, Some(404)),
    );
}

#[test]
fn device_authorization_5xx_is_server_error_with_retry_after_for_both_kinds() {
    let providers: [Provider; 2] = [codex(), rfc(Auth::Basic)];
    for p in &providers {
        expect_err(
            process_device_authorization(p, &reply_after(503, &html_page(), "120"), NOW),
            want(ErrorCode::ServerError, true, Some(503)).after(120_000.0),
        );
        expect_err(
            process_device_authorization(p, &reply_after(500, "", NOW_PLUS_30S_HTTP_DATE), NOW),
            want(ErrorCode::ServerError, true, Some(500)).after(30_000.0),
        );
    }
}

#[test]
fn device_authorization_html_on_200_is_invalid_response() {
    for p in [codex(), rfc(Auth::Public)] {
        expect_err(
            process_device_authorization(&p, &reply(200, &html_page()), NOW),
            want(ErrorCode::InvalidResponse, true, Some(200)),
        );
    }
}

// ---- the DeviceCode the host hands back ------------------------------------------------------

#[test]
fn device_code_round_trips_through_its_json() {
    let code = DeviceCode {
        verification_uri_complete: Some("https://idp.example.com/device?user_code=A".into()),
        ..crate::support::device_code()
    };
    assert_eq!(
        code.to_json(),
        r#"{"deviceCode":"dc_CANARY_device_code_1","userCode":"ABCD-EFGH","verificationUri":"http://127.0.0.1:8080/codex/device","verificationUriComplete":"https://idp.example.com/device?user_code=A","intervalMs":5000,"expiresAt":1700000900000}"#
    );
    assert_eq!(
        DeviceCode::from_json(&parse(&code.to_json())).unwrap(),
        code
    );
}

#[test]
fn a_device_code_from_the_host_with_bad_fields_is_invalid_config() {
    let good = crate::support::device_code().to_json();
    for (from, to) in [
        (r#""intervalMs":5000"#, r#""intervalMs":999"#),
        (r#""intervalMs":5000"#, r#""intervalMs":3600001"#),
        (r#""intervalMs":5000"#, r#""intervalMs":"5000""#),
        (r#","intervalMs":5000"#, ""),
        (r#""expiresAt":1700000900000"#, r#""expiresAt":-1"#),
        (r#""expiresAt":1700000900000"#, r#""expiresAt":"soon""#),
        (
            r#""deviceCode":"dc_CANARY_device_code_1""#,
            r#""deviceCode":"""#,
        ),
        (r#""userCode":"ABCD-EFGH""#, r#""userCode":7"#),
        (
            r#""verificationUri":"http://127.0.0.1:8080/codex/device""#,
            r#""verificationUri":null"#,
        ),
    ] {
        assert!(good.contains(from), "{from}");
        expect_err(
            DeviceCode::from_json(&parse(&good.replace(from, to))),
            want(ErrorCode::InvalidConfig, false, None),
        );
    }
    expect_err(
        DeviceCode::from_json(&parse(r#""dc_CANARY_device_code_1""#)),
        want(ErrorCode::InvalidConfig, false, None),
    );
}
