//! Provider factories and validation: what may reach the wire.

use crate::support::*;
use oauth_device_flow::endpoint::check_endpoint;
use oauth_device_flow::json::Value;
use oauth_device_flow::{
    openai_codex_provider, rfc8628_provider, ClientAuth, ErrorCode, Provider, ProviderKind, Secret,
    OPENAI_CODEX_CLIENT_ID, OPENAI_ISSUER,
};

fn codex_opts(json: &str) -> Result<Provider, oauth_device_flow::Error> {
    openai_codex_provider(&parse(json))
}

fn rfc_opts(json: &str) -> Result<Provider, oauth_device_flow::Error> {
    rfc8628_provider(&parse(json))
}

/// A valid rfc8628 option object with `extra` members appended.
fn rfc_with(extra: &str) -> String {
    format!(
        r#"{{"clientId":"c","deviceAuthorizationEndpoint":"https://idp.example.com/device","tokenEndpoint":"https://idp.example.com/token"{extra}}}"#
    )
}

/// A codex provider object as `Provider::from_json` reads it, with `extra` members appended.
fn codex_object(extra: &str) -> Value {
    let base = codex().to_json();
    let base = base.strip_suffix('}').unwrap();
    parse(&format!("{base}{extra}}}"))
}

#[test]
fn default_codex_provider_is_auth_openai_com_with_the_codex_client_and_no_headers() {
    assert_eq!(OPENAI_ISSUER, "https://auth.openai.com");
    assert_eq!(OPENAI_CODEX_CLIENT_ID, CODEX_CLIENT_ID);
    let p = codex_default();
    assert_eq!(
        p.to_json(),
        r#"{"kind":"openai-codex","clientId":"app_EMoamEEZ73f0CkXaXp7hrann","deviceAuthorizationEndpoint":"https://auth.openai.com/api/accounts/deviceauth/usercode","tokenEndpoint":"https://auth.openai.com/oauth/token","devicePollEndpoint":"https://auth.openai.com/api/accounts/deviceauth/token","redirectUri":"https://auth.openai.com/deviceauth/callback","verificationUri":"https://auth.openai.com/codex/device","revocationEndpoint":"https://auth.openai.com/oauth/revoke"}"#
    );
    assert_eq!(p.kind(), ProviderKind::OpenAiCodex);
    assert_eq!(p.auth(), ClientAuth::None);
    assert!(p.headers().is_empty());
    assert_eq!(codex_opts("{}").unwrap(), p);
}

#[test]
fn codex_provider_derives_every_endpoint_from_the_issuer_and_keeps_header_order() {
    let p = codex();
    assert_eq!(
        p.device_authorization_endpoint(),
        format!("{ISSUER}/api/accounts/deviceauth/usercode")
    );
    assert_eq!(p.token_endpoint(), format!("{ISSUER}/oauth/token"));
    assert_eq!(
        p.device_poll_endpoint(),
        Some("http://127.0.0.1:8080/api/accounts/deviceauth/token")
    );
    assert_eq!(
        p.redirect_uri(),
        Some("http://127.0.0.1:8080/deviceauth/callback")
    );
    assert_eq!(
        p.verification_uri(),
        Some("http://127.0.0.1:8080/codex/device")
    );
    assert_eq!(
        p.revocation_endpoint(),
        Some("http://127.0.0.1:8080/oauth/revoke")
    );
    let headers: Vec<(&str, &str)> = p
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(headers, CODEX_EXTRA_HEADERS);
}

#[test]
fn codex_provider_takes_a_client_id_and_strips_a_trailing_slash_from_the_issuer() {
    let p = codex_opts(r#"{"issuer":"http://localhost:3000/","clientId":"app_other"}"#).unwrap();
    assert_eq!(p.client_id(), "app_other");
    assert_eq!(p.token_endpoint(), "http://localhost:3000/oauth/token");
    let p = codex_opts(r#"{"issuer":"https://auth.example.com/tenant/"}"#).unwrap();
    assert_eq!(
        p.redirect_uri(),
        Some("https://auth.example.com/tenant/deviceauth/callback")
    );
}

#[test]
fn loopback_http_issuers_are_allowed() {
    for issuer in [
        "http://127.0.0.1:8080",
        "http://127.1.2.3",
        "http://localhost",
        "http://LocalHost:1",
        "http://[::1]:8080",
    ] {
        assert!(
            codex_opts(&format!(r#"{{"issuer":"{issuer}"}}"#)).is_ok(),
            "{issuer}"
        );
    }
}

/// `Provider::from_json` is the only way from hand-built data to a `Provider` (its fields are
/// private: the `compile_fail` example on `Provider` shows a struct literal does not compile), and
/// it checks every URL: an `http:` endpoint off the loopback host is `insecure_endpoint`.
#[test]
fn from_json_refuses_http_to_a_non_loopback_host_in_every_url_field() {
    let valid = parse(&codex().to_json());
    assert!(Provider::from_json(&valid).is_ok());
    for field in [
        "deviceAuthorizationEndpoint",
        "tokenEndpoint",
        "devicePollEndpoint",
        "redirectUri",
        "verificationUri",
        "revocationEndpoint",
    ] {
        let Value::Object(mut members) = valid.clone() else {
            panic!("a provider is an object")
        };
        let slot = members.iter_mut().find(|(k, _)| k == field);
        let (_, url) = slot.unwrap_or_else(|| panic!("{field} is set"));
        *url = Value::String("http://auth.example.com/x".into());
        expect_err(
            Provider::from_json(&Value::Object(members)),
            want(ErrorCode::InsecureEndpoint, false, None),
        );
    }
}

#[test]
fn http_to_a_non_loopback_host_is_insecure_endpoint() {
    for issuer in [
        "http://auth.openai.com",
        "http://10.0.0.1:8080",
        "http://localhost.evil.example",
        "http://127.0.0.1.nip.io",
        "http://[::2]",
        "ftp://auth.example.com",
    ] {
        expect_err(
            codex_opts(&format!(r#"{{"issuer":"{issuer}"}}"#)),
            want(ErrorCode::InsecureEndpoint, false, None),
        );
    }
    for field in ["deviceAuthorizationEndpoint", "tokenEndpoint"] {
        let json = rfc_with("").replace(
            &format!(r#""{field}":"https://"#),
            &format!(r#""{field}":"http://"#),
        );
        expect_err(
            rfc_opts(&json),
            want(ErrorCode::InsecureEndpoint, false, None),
        );
    }
    expect_err(
        rfc_opts(&rfc_with(
            r#","revocationEndpoint":"http://idp.example.com/revoke""#,
        )),
        want(ErrorCode::InsecureEndpoint, false, None),
    );
    expect_err(
        check_endpoint("tokenEndpoint", "http://example.com/t"),
        want(ErrorCode::InsecureEndpoint, false, None),
    );
}

#[test]
fn malformed_or_confusable_urls_are_invalid_config() {
    for issuer in [
        "",
        "auth.openai.com",
        "http://evil@localhost",
        "https://user@auth.openai.com",
        "https://auth.openai.com?x=1",
        "https://auth.openai.com#frag",
        "https://exa mple.com",
    ] {
        expect_err(
            codex_opts(&format!(r#"{{"issuer":"{issuer}"}}"#)),
            want(ErrorCode::InvalidConfig, false, None),
        );
    }
}

#[test]
fn codex_with_scope_client_secret_extra_params_or_client_auth_is_invalid_config() {
    for extra in [
        r#","scope":"openid""#,
        r#","clientSecret":"cs_CANARY_secret 1/+:é""#,
        r#","extraParams":{"audience":"x"}"#,
        r#","clientAuth":"client_secret_post""#,
        r#","clientAuth":"client_secret_basic""#,
    ] {
        expect_err(
            Provider::from_json(&codex_object(extra)),
            want(ErrorCode::InvalidConfig, false, None),
        );
    }
    assert!(Provider::from_json(&codex_object(r#","clientAuth":"none""#)).is_ok());
    assert!(Provider::from_json(&codex_object(r#","extraParams":{}"#)).is_ok());
}

#[test]
fn codex_provider_object_needs_its_poll_redirect_and_verification_endpoints() {
    for field in ["devicePollEndpoint", "redirectUri", "verificationUri"] {
        let mut v = codex_object("");
        if let Value::Object(members) = &mut v {
            members.retain(|(k, _)| k != field);
        }
        expect_err(
            Provider::from_json(&v),
            want(ErrorCode::InvalidConfig, false, None),
        );
    }
}

#[test]
fn provider_round_trips_through_its_json() {
    for p in [
        codex(),
        codex_default(),
        rfc(Auth::Public),
        rfc(Auth::Post),
        rfc(Auth::Basic),
    ] {
        assert_eq!(Provider::from_json(&parse(&p.to_json())).unwrap(), p);
    }
}

#[test]
fn rfc8628_factory_sets_the_kind_and_keeps_every_option() {
    let p = rfc(Auth::Basic);
    assert_eq!(p.kind(), ProviderKind::Rfc8628);
    assert_eq!(p.client_id(), RFC_CLIENT_ID);
    assert_eq!(p.scope(), Some("openid offline_access"));
    assert_eq!(p.client_secret(), Some(&Secret::new(CLIENT_SECRET)));
    assert_eq!(p.auth(), ClientAuth::ClientSecretBasic);
    assert_eq!(
        p.extra_params(),
        vec![
            ("audience".to_owned(), "https://api.example.com/".to_owned()),
            ("resource".to_owned(), "urn:example:res".to_owned()),
        ]
    );
    assert_eq!(rfc(Auth::Public).auth(), ClientAuth::None);
    assert_eq!(rfc(Auth::Post).auth(), ClientAuth::ClientSecretPost);
    assert!(rfc_opts(&rfc_with(r#","kind":"rfc8628""#)).is_ok());
}

#[test]
fn rfc8628_factory_refuses_another_kind_and_codex_only_fields() {
    for extra in [
        r#","kind":"openai-codex""#,
        r#","kind":7"#,
        r#","devicePollEndpoint":"https://idp.example.com/poll""#,
        r#","redirectUri":"https://idp.example.com/cb""#,
        r#","verificationUri":"https://idp.example.com/device""#,
    ] {
        expect_err(
            rfc_opts(&rfc_with(extra)),
            want(ErrorCode::InvalidConfig, false, None),
        );
    }
    expect_err(
        rfc8628_provider(&Value::Null),
        want(ErrorCode::InvalidConfig, false, None),
    );
    expect_err(
        openai_codex_provider(&parse("[]")),
        want(ErrorCode::InvalidConfig, false, None),
    );
}

#[test]
fn reserved_headers_in_any_casing_are_invalid_config() {
    for name in [
        "Accept",
        "accept",
        "ACCEPT",
        "Content-Type",
        "content-type",
        "CONTENT-TYPE",
        "Authorization",
        "authorization",
        "aUtHoRiZaTiOn",
    ] {
        let headers = format!(r#""headers":{{"User-Agent":"x","{name}":"v"}}"#);
        expect_err(
            codex_opts(&format!("{{{headers}}}")),
            want(ErrorCode::InvalidConfig, false, None),
        );
        expect_err(
            rfc_opts(&rfc_with(&format!(",{headers}"))),
            want(ErrorCode::InvalidConfig, false, None),
        );
    }
}

#[test]
fn bad_header_names_values_or_duplicates_are_invalid_config() {
    for headers in [
        r#"{"Bad Name":"v"}"#,
        r#"{"":"v"}"#,
        r#"{"X-A":"line\r\nbreak"}"#,
        r#"{"X-A":"nul\u0000"}"#,
        r#"{"X-A":"1","x-a":"2"}"#,
        r#"{"X-A":5}"#,
        r#"["X-A"]"#,
    ] {
        expect_err(
            rfc_opts(&rfc_with(&format!(r#","headers":{headers}"#))),
            want(ErrorCode::InvalidConfig, false, None),
        );
    }
}

#[test]
fn extra_params_repeating_a_standard_field_are_invalid_config() {
    for name in ["client_id", "scope", "client_secret"] {
        expect_err(
            rfc_opts(&rfc_with(&format!(
                r#","extraParams":{{"audience":"a","{name}":"x"}}"#
            ))),
            want(ErrorCode::InvalidConfig, false, None),
        );
    }
    for bad in [r#"{"":"x"}"#, r#"{"a":1}"#, r#""a=b""#] {
        expect_err(
            rfc_opts(&rfc_with(&format!(r#","extraParams":{bad}"#))),
            want(ErrorCode::InvalidConfig, false, None),
        );
    }
}

#[test]
fn client_secret_without_client_auth_and_the_reverse_are_invalid_config() {
    for extra in [
        r#","clientSecret":"cs_CANARY_secret 1/+:é""#,
        r#","clientSecret":"cs_CANARY_secret 1/+:é","clientAuth":"none""#,
        r#","clientAuth":"client_secret_post""#,
        r#","clientAuth":"client_secret_basic""#,
        r#","clientAuth":"client_secret_basic","clientSecret":"""#,
        r#","clientAuth":"private_key_jwt","clientSecret":"cs_CANARY_secret 1/+:é""#,
        r#","clientSecret":7,"clientAuth":"client_secret_post""#,
    ] {
        expect_err(
            rfc_opts(&rfc_with(extra)),
            want(ErrorCode::InvalidConfig, false, None),
        );
    }
}

#[test]
fn missing_or_wrong_typed_required_fields_are_invalid_config() {
    for json in [
        r#"{"deviceAuthorizationEndpoint":"https://a.example/d","tokenEndpoint":"https://a.example/t"}"#,
        r#"{"clientId":"","deviceAuthorizationEndpoint":"https://a.example/d","tokenEndpoint":"https://a.example/t"}"#,
        r#"{"clientId":"c","tokenEndpoint":"https://a.example/t"}"#,
        r#"{"clientId":"c","deviceAuthorizationEndpoint":"https://a.example/d"}"#,
        r#"{"clientId":"c","deviceAuthorizationEndpoint":"https://a.example/d","tokenEndpoint":5}"#,
        r#"{"clientId":"c","deviceAuthorizationEndpoint":"https://a.example/d","tokenEndpoint":"https://a.example/t","scope":5}"#,
    ] {
        expect_err(rfc_opts(json), want(ErrorCode::InvalidConfig, false, None));
    }
    expect_err(
        codex_opts(r#"{"clientId":5}"#),
        want(ErrorCode::InvalidConfig, false, None),
    );
    expect_err(
        codex_opts(r#"{"issuer":5}"#),
        want(ErrorCode::InvalidConfig, false, None),
    );
}

#[test]
fn provider_errors_never_show_the_client_secret() {
    // `expect_err` checks every message for the canary; here the secret sits beside the fault.
    let e = expect_err(
        rfc_opts(&rfc_with(
            r#","clientSecret":"cs_CANARY_secret 1/+:é","clientAuth":"client_secret_post","headers":{"Authorization":"Bearer cs_CANARY_secret"}"#,
        )),
        want(ErrorCode::InvalidConfig, false, None),
    );
    assert!(e.message.contains("Authorization"), "{}", e.message);
}

#[test]
fn factories_refuse_options_they_do_not_know() {
    for (result, option) in [
        (codex_opts(r#"{"scope":"openid"}"#), "scope"),
        (codex_opts(r#"{"clientSecret":"x"}"#), "clientSecret"),
        (
            rfc_opts(&rfc_with(r#","clientSecert":"x""#)),
            "clientSecert",
        ),
        (
            rfc_opts(&rfc_with(r#","issuer":"https://idp.example.com""#)),
            "issuer",
        ),
    ] {
        let e = result.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidConfig, "{option}");
        assert!(e.message.contains(option), "{}", e.message);
    }
}

/// `{"name":"value",...}` for `n` members `X-H0`..: as JSON object text.
fn members(n: usize) -> String {
    let inner: Vec<String> = (0..n).map(|i| format!(r#""X-H{i}":"v""#)).collect();
    format!("{{{}}}", inner.join(","))
}

#[test]
fn headers_fetch_refuses_or_rewrites_are_invalid_config() {
    for name in [
        "Content-Length",
        "Transfer-Encoding",
        "connection",
        "Expect",
        "HOST",
        "Keep-Alive",
        "Upgrade",
        "TE",
        "Trailer",
        "Cookie",
        "Proxy-Authorization",
        "Sec-Fetch-Site",
        "X-HTTP-Method-Override",
    ] {
        let e = codex_opts(&format!(r#"{{"headers":{{"{name}":"1"}}}}"#)).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidConfig, "{name}");
    }
    for value in [
        r"a\u2028b",
        r"a\u007fb",
        r"\u20ac",
        r"a\u0085b",
        r"a\u000bb",
        " a",
        r"a\t",
    ] {
        let e = codex_opts(&format!(r#"{{"headers":{{"X-A":"{value}"}}}}"#)).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidConfig, "{value}");
    }
    let ok = codex_opts(r#"{"headers":{"X-Tab":"a\tb","X-Latin1":"\u00e9\u00ff","X-Empty":""}}"#)
        .unwrap();
    assert_eq!(ok.headers().len(), 3);
}

#[test]
fn every_provider_string_and_count_has_a_cap() {
    let long = |n: usize| "a".repeat(n);
    let url = |n: usize| format!("https://idp.example.com/{}", "p".repeat(n - 24));
    let refused = [
        rfc_opts(&rfc_with("").replace(r#""c""#, &format!(r#""{}""#, long(513)))),
        rfc_opts(&rfc_with(&format!(
            r#","revocationEndpoint":"{}""#,
            url(2049)
        ))),
        rfc_opts(&rfc_with(&format!(r#","scope":"{}""#, long(4097)))),
        rfc_opts(&rfc_with(&format!(
            r#","clientAuth":"client_secret_post","clientSecret":"{}""#,
            long(4097)
        ))),
        rfc_opts(&rfc_with(&format!(r#","headers":{{"{}":"v"}}"#, long(257)))),
        rfc_opts(&rfc_with(&format!(
            r#","headers":{{"X-A":"{}"}}"#,
            long(4097)
        ))),
        rfc_opts(&rfc_with(&format!(r#","headers":{}"#, members(33)))),
        rfc_opts(&rfc_with(&format!(r#","extraParams":{}"#, members(33)))),
        rfc_opts(&rfc_with(&format!(
            r#","extraParams":{{"a":"{}"}}"#,
            long(4097)
        ))),
        codex_opts(&format!(r#"{{"issuer":"{}"}}"#, url(2049))),
    ];
    for (i, r) in refused.into_iter().enumerate() {
        assert_eq!(r.unwrap_err().code, ErrorCode::InvalidConfig, "case {i}");
    }
    // At the caps, counted in UTF-16 units as JavaScript counts them.
    let at_caps = rfc_opts(&rfc_with(&format!(
        r#","scope":"{}","revocationEndpoint":"{}","headers":{},"extraParams":{{"{}":"{}"}}"#,
        "\u{1f600}".repeat(2048),
        url(2048),
        members(32),
        long(256),
        long(4096)
    )))
    .unwrap();
    assert_eq!(at_caps.headers().len(), 32);
}

#[test]
fn object_members_are_read_in_linear_time() {
    // 200 000 members: quadratic de-duplication would take minutes.
    let big = members(200_000);
    let started = std::time::Instant::now();
    let e = rfc_opts(&rfc_with(&format!(r#","headers":{big}"#))).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidConfig);
    let e = rfc_opts(&format!(
        "{},{}",
        rfc_with("").trim_end_matches('}'),
        big.trim_start_matches('{')
    ))
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidConfig);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
