//! The wasm adapter driven the way a host drives it: JS fakes for fetch, clock and sleep, the
//! exports called directly. Run with `wasm-pack test --node`.
#![cfg(target_arch = "wasm32")]

use js_sys::{Function, Reflect, JSON};
use oauth_device_flow::wasm as w;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

/// Evaluates a JS expression.
fn js(src: &str) -> JsValue {
    Function::new_no_args(&format!("return ({src});"))
        .call0(&JsValue::UNDEFINED)
        .expect("test JS must evaluate")
}

/// A scripted host: `replies` is a JS array of `{status, body, headers}` or `{reject}`,
/// `{throwSync}`, `{hang}`, `{raw}`; `calls` records `[url, init]`; `t` is the fake clock.
fn host(replies: &str) -> JsValue {
    js(&format!(
        r#"(() => {{
        const replies = {replies};
        const h = {{ calls: [], t: 1700000000000, slept: [], events: [] }};
        h.fetch = (url, init) => {{
            h.calls.push([url, init]);
            const r = replies.shift();
            if (r === undefined) return Promise.reject(new Error("no scripted reply"));
            if (r.throwSync) throw new Error("sync boom");
            if (r.reject) return Promise.reject(new TypeError("fetch failed"));
            if (r.hang) return new Promise(() => {{}});
            if ("raw" in r) return Promise.resolve(r.raw);
            const hs = Object.fromEntries(Object.entries(r.headers || {{}}).map(([k, v]) => [k.toLowerCase(), v]));
            return Promise.resolve({{ status: r.status, headers: {{ get: (n) => hs[n.toLowerCase()] ?? null }}, text: async () => r.body ?? "" }});
        }};
        h.clock = () => h.t;
        h.sleep = async (ms) => {{ h.slept.push(ms); h.t += ms; }};
        h.onEvent = (e) => h.events.push(e);
        h.deps = {{ fetch: h.fetch, clock: h.clock, sleep: h.sleep, onEvent: h.onEvent }};
        return h;
    }})()"#
    ))
}

/// Runs an async export's operation to its end, stepping it as the drop-in does.
async fn call(id: u32) -> Result<JsValue, JsValue> {
    let (mut ok, mut value) = (true, JsValue::UNDEFINED);
    loop {
        let out = w::op_step(id, ok, value);
        let state = out.get(0).as_f64().unwrap_or(2.0);
        let v = out.get(1);
        if state == 1.0 {
            return Ok(v);
        }
        if state == 2.0 {
            return Err(v);
        }
        let settled = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(v)).await;
        ok = settled.is_ok();
        value = settled.unwrap_or_else(|e| e);
    }
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn json(v: &JsValue) -> String {
    JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

fn deps(h: &JsValue) -> JsValue {
    get(h, "deps")
}

fn codex() -> JsValue {
    w::openai_codex_provider(js(r#"{ issuer: "http://127.0.0.1:8080" }"#)).expect("codex provider")
}

fn rfc(extra: &str) -> JsValue {
    w::rfc8628_provider(js(&format!(
        r#"{{ clientId: "cli", deviceAuthorizationEndpoint: "https://idp.example/device", tokenEndpoint: "https://idp.example/token", revocationEndpoint: "https://idp.example/revoke", scope: "openid offline_access" {extra} }}"#
    )))
    .expect("rfc provider")
}

fn code_obj(expires_in_ms: f64) -> JsValue {
    js(&format!(
        r#"{{ deviceCode: "dc_CANARY", userCode: "WDJB-MJHT", verificationUri: "https://idp.example/activate", intervalMs: 5000, expiresAt: 1700000000000 + {expires_in_ms} }}"#
    ))
}

fn code_of(err: &JsValue) -> String {
    get(err, "code")
        .as_string()
        .unwrap_or_else(|| format!("not an error: {}", json(err)))
}

const TOKENS: &str = r#"{"access_token":"at_CANARY","token_type":"bearer","refresh_token":"rt_CANARY_2","expires_in":3600}"#;

#[wasm_bindgen_test]
async fn codex_device_code_is_requested_as_json_with_the_exact_wire_format() {
    let h = host(
        r#"[{ status: 200, body: '{"device_auth_id":"dev_CANARY","user_code":"ABCD-EFGH","interval":"7"}' }]"#,
    );
    let code = call(w::request_device_code(codex(), deps(&h)))
        .await
        .expect("device code");
    assert_eq!(
        json(&code),
        r#"{"deviceCode":"dev_CANARY","userCode":"ABCD-EFGH","verificationUri":"http://127.0.0.1:8080/codex/device","intervalMs":7000,"expiresAt":1700000900000}"#
    );
    assert_eq!(
        json(&get(&h, "calls")),
        r#"[["http://127.0.0.1:8080/api/accounts/deviceauth/usercode",{"method":"POST","headers":{"Accept":"application/json","Content-Type":"application/json"},"body":"{\"client_id\":\"app_EMoamEEZ73f0CkXaXp7hrann\"}","redirect":"manual"}]]"#
    );
}

#[wasm_bindgen_test]
async fn codex_poll_pending_then_success_redeems_the_code_in_the_same_call() {
    let h = host(&format!(
        r#"[{{ status: 403, body: "" }}, {{ status: 200, body: '{{"authorization_code":"ac_CANARY","code_verifier":"cv_CANARY","code_challenge":"x"}}' }}, {{ status: 200, body: '{TOKENS}' }}]"#
    ));
    let code = js(
        r#"{ deviceCode: "dev_1", userCode: "ABCD-EFGH", verificationUri: "http://127.0.0.1:8080/codex/device", intervalMs: 5000, expiresAt: 1700000900000 }"#,
    );
    let pending = call(w::poll_device_token(codex(), code.clone(), deps(&h)))
        .await
        .expect("pending");
    assert_eq!(json(&pending), r#"{"status":"pending","intervalMs":5000}"#);
    let done = call(w::poll_device_token(codex(), code, deps(&h)))
        .await
        .expect("success");
    assert_eq!(
        json(&done),
        r#"{"status":"success","tokens":{"accessToken":"at_CANARY","tokenType":"Bearer","refreshToken":"rt_CANARY_2","expiresAt":1700003600000}}"#
    );
    let exchange = js("null");
    let calls = get(&h, "calls");
    let third = Reflect::get_u32(&calls, 2).unwrap_or(exchange);
    assert_eq!(
        json(&third),
        r#"["http://127.0.0.1:8080/oauth/token",{"method":"POST","headers":{"Accept":"application/json","Content-Type":"application/x-www-form-urlencoded"},"body":"grant_type=authorization_code&code=ac_CANARY&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fdeviceauth%2Fcallback&client_id=app_EMoamEEZ73f0CkXaXp7hrann&code_verifier=cv_CANARY","redirect":"manual"}]"#
    );
}

#[wasm_bindgen_test]
async fn rfc8628_confidential_basic_client_refreshes_with_a_form_and_keeps_omitted_fields() {
    let h = host(
        r#"[{ status: 200, body: '{"access_token":"at_new","token_type":"Bearer","expires_in":"60"}' }]"#,
    );
    let p = rfc(r#", clientSecret: "s3cr3t CANARY", clientAuth: "client_secret_basic""#);
    let prev = js(
        r#"{ accessToken: "at_old", tokenType: "Bearer", refreshToken: "rt_old", idToken: "id_old", scope: "openid" }"#,
    );
    let next = call(w::refresh_access_token(p, prev, deps(&h)))
        .await
        .expect("refresh");
    assert_eq!(
        json(&next),
        r#"{"accessToken":"at_new","tokenType":"Bearer","refreshToken":"rt_old","idToken":"id_old","scope":"openid","expiresAt":1700000060000}"#
    );
    assert_eq!(
        json(&get(&h, "calls")),
        r#"[["https://idp.example/token",{"method":"POST","headers":{"Accept":"application/json","Content-Type":"application/x-www-form-urlencoded","Authorization":"Basic Y2xpOnMzY3IzdCtDQU5BUlk="},"body":"grant_type=refresh_token&refresh_token=rt_old&client_id=cli","redirect":"manual"}]]"#
    );
}

#[wasm_bindgen_test]
async fn revocation_succeeds_on_any_2xx_and_resolves_undefined() {
    let h = host(r#"[{ status: 200, body: "<html>ok</html>" }]"#);
    let out = call(w::revoke_token(
        rfc(""),
        JsValue::from_str("rt_1"),
        deps(&h),
    ))
    .await
    .expect("revoked");
    assert!(out.is_undefined());
    let init = get(
        &Reflect::get_u32(&get(&h, "calls"), 0).unwrap_or_default(),
        "1",
    );
    assert_eq!(
        get(&init, "body").as_string().as_deref(),
        Some("token=rt_1&token_type_hint=refresh_token&client_id=cli")
    );
}

#[wasm_bindgen_test]
async fn wait_loop_sleeps_slows_down_and_emits_events_in_order() {
    let h = host(&format!(
        r#"[{{ status: 400, body: '{{"error":"authorization_pending"}}' }}, {{ status: 400, body: '{{"error":"slow_down"}}' }}, {{ status: 503, body: "", headers: {{ "Retry-After": "20" }} }}, {{ status: 200, body: '{TOKENS}' }}]"#
    ));
    let tokens = call(w::wait_for_device_token(
        rfc(""),
        code_obj(600_000.0),
        deps(&h),
    ))
    .await
    .expect("tokens");
    assert_eq!(
        get(&tokens, "accessToken").as_string().as_deref(),
        Some("at_CANARY")
    );
    assert_eq!(json(&get(&h, "slept")), "[5000,5000,10000,20000]");
    let e = 1_700_000_600_000u64;
    assert_eq!(
        json(&get(&h, "events")),
        format!(
            r#"[{{"type":"waiting","nextPollInMs":5000,"expiresAt":{e}}},{{"type":"waiting","nextPollInMs":5000,"expiresAt":{e}}},{{"type":"slowed_down","intervalMs":10000}},{{"type":"waiting","nextPollInMs":10000,"expiresAt":{e}}},{{"type":"retrying","code":"server_error","attempt":1,"delayMs":20000}},{{"type":"waiting","nextPollInMs":20000,"expiresAt":{e}}}]"#
        )
    );
}

#[wasm_bindgen_test]
async fn wait_loop_gives_up_with_expired_token_before_sleeping_past_expiry() {
    let h = host(r#"[{ status: 400, body: '{"error":"authorization_pending"}' }]"#);
    let err = call(w::wait_for_device_token(
        rfc(""),
        code_obj(8_000.0),
        deps(&h),
    ))
    .await
    .unwrap_err();
    assert_eq!(code_of(&err), "expired_token");
    assert_eq!(json(&get(&h, "slept")), "[5000]");
    assert!(json(&get(&h, "events")).ends_with(r#"{"type":"expired"}]"#));
}

/// One scripted reply to one operation, and the error it must give.
struct Case {
    reply: &'static str,
    op: &'static str,
    kind: &'static str,
    code: &'static str,
    status: Option<u16>,
}

const CASES: &[Case] = &[
    Case {
        op: "poll",
        kind: "rfc",
        reply: r#"{ status: 400, body: '{"error":"access_denied"}' }"#,
        code: "access_denied",
        status: Some(400),
    },
    Case {
        op: "poll",
        kind: "rfc",
        reply: r#"{ status: 400, body: '{"error":"expired_token"}' }"#,
        code: "expired_token",
        status: Some(400),
    },
    Case {
        op: "poll",
        kind: "codex",
        reply: r#"{ status: 403, body: '{"error":{"code":"unsupported_country_region_territory"}}' }"#,
        code: "oauth_error",
        status: Some(403),
    },
    Case {
        op: "device",
        kind: "codex",
        reply: r#"{ status: 404, body: "Not Found" }"#,
        code: "device_flow_disabled",
        status: Some(404),
    },
    Case {
        op: "refresh",
        kind: "rfc",
        reply: r#"{ status: 400, body: '{"error":"invalid_grant"}' }"#,
        code: "invalid_grant",
        status: Some(400),
    },
    Case {
        op: "refresh",
        kind: "codex",
        reply: r#"{ status: 401, body: "" }"#,
        code: "invalid_grant",
        status: Some(401),
    },
    Case {
        op: "refresh",
        kind: "codex",
        reply: r#"{ status: 401, body: '{"error":{"code":"refresh_token_reused","message":"already used rt_CANARY"}}' }"#,
        code: "refresh_token_reused",
        status: Some(401),
    },
    Case {
        op: "refresh",
        kind: "codex",
        reply: r#"{ status: 400, body: '{"error":"refresh_token_expired"}' }"#,
        code: "refresh_token_expired",
        status: Some(400),
    },
    Case {
        op: "refresh",
        kind: "codex",
        reply: r#"{ status: 401, body: '{"code":"refresh_token_invalidated"}' }"#,
        code: "refresh_token_invalidated",
        status: Some(401),
    },
    Case {
        op: "refresh",
        kind: "rfc",
        reply: r#"{ status: 400, body: '{"error":"invalid_client","error_description":"bad secret"}' }"#,
        code: "oauth_error",
        status: Some(400),
    },
    Case {
        op: "refresh",
        kind: "rfc",
        reply: r#"{ status: 503, body: "<html>down</html>" }"#,
        code: "server_error",
        status: Some(503),
    },
    Case {
        op: "refresh",
        kind: "rfc",
        reply: r#"{ status: 429, body: "", headers: { "retry-after": "3" } }"#,
        code: "server_error",
        status: Some(429),
    },
    Case {
        op: "refresh",
        kind: "rfc",
        reply: r#"{ reject: true }"#,
        code: "network_error",
        status: None,
    },
    Case {
        op: "refresh",
        kind: "rfc",
        reply: r#"{ throwSync: true }"#,
        code: "network_error",
        status: None,
    },
    Case {
        op: "refresh",
        kind: "rfc",
        reply: r#"{ status: 200, body: "<html>portal</html>" }"#,
        code: "invalid_response",
        status: Some(200),
    },
    Case {
        op: "refresh",
        kind: "rfc",
        reply: r#"{ status: 200, body: "", headers: { "content-length": "70000" } }"#,
        code: "invalid_response",
        status: Some(200),
    },
    Case {
        op: "refresh",
        kind: "rfc",
        reply: r#"{ status: 200, body: "x".repeat(65537) }"#,
        code: "invalid_response",
        status: Some(200),
    },
    Case {
        op: "refresh",
        kind: "rfc",
        reply: r#"{ status: 302, body: "", headers: { location: "https://portal" } }"#,
        code: "redirect",
        status: Some(302),
    },
    Case {
        op: "refresh",
        kind: "rfc",
        reply: r#"{ raw: {} }"#,
        code: "invalid_config",
        status: None,
    },
    Case {
        op: "refresh",
        kind: "rfc",
        reply: r#"{ raw: 42 }"#,
        code: "invalid_config",
        status: None,
    },
    Case {
        op: "refresh",
        kind: "rfc",
        reply: r#"{ raw: { status: 200, headers: {}, text: () => "" } }"#,
        code: "invalid_config",
        status: None,
    },
];

async fn run(op: &str, provider: JsValue, h: &JsValue) -> Result<JsValue, JsValue> {
    let d = deps(h);
    match op {
        "device" => call(w::request_device_code(provider, d)).await,
        "poll" => call(w::poll_device_token(provider, code_obj(600_000.0), d)).await,
        _ => {
            call(w::refresh_access_token(
                provider,
                JsValue::from_str("rt_CANARY"),
                d,
            ))
            .await
        }
    }
}

#[wasm_bindgen_test]
async fn every_reply_class_rejects_with_its_code_and_the_module_keeps_working() {
    for case in CASES {
        let provider = if case.kind == "codex" {
            codex()
        } else {
            rfc("")
        };
        let h = host(&format!(
            r#"[{}, {{ status: 200, body: '{TOKENS}' }}]"#,
            case.reply
        ));
        let err = run(case.op, provider.clone(), &h)
            .await
            .expect_err(case.reply);
        assert_eq!(code_of(&err), case.code, "{}", case.reply);
        assert_eq!(
            get(&err, "status").as_f64().map(|s| s as u16),
            case.status,
            "{}",
            case.reply
        );
        let retryable = [
            "server_error",
            "network_error",
            "invalid_response",
            "redirect",
        ]
        .contains(&case.code);
        assert_eq!(
            get(&err, "retryable").as_bool(),
            Some(retryable),
            "{}",
            case.reply
        );
        assert!(err.is_instance_of::<js_sys::Error>(), "{}", case.reply);
        let shown = format!(
            "{} {}",
            json(&err),
            get(&err, "message").as_string().unwrap_or_default()
        );
        assert!(
            !shown.contains("CANARY"),
            "secret leaked for {}: {shown}",
            case.reply
        );
        // The next call succeeds on the same module.
        let ok = call(w::refresh_access_token(
            rfc(""),
            JsValue::from_str("rt_1"),
            deps(&h),
        ))
        .await;
        assert!(ok.is_ok(), "module unusable after {}", case.reply);
    }
}

#[wasm_bindgen_test]
async fn retry_after_is_reported_in_milliseconds() {
    let h = host(r#"[{ status: 429, body: "", headers: { "Retry-After": "3" } }]"#);
    let err = run("refresh", rfc(""), &h).await.unwrap_err();
    assert_eq!(get(&err, "retryAfterMs").as_f64(), Some(3000.0));
}

#[wasm_bindgen_test]
async fn bad_arguments_reject_with_invalid_config_and_never_trap() {
    let h = host("[]");
    let garbage = [
        JsValue::UNDEFINED,
        JsValue::NULL,
        JsValue::from_f64(1.0),
        JsValue::from_str("x"),
        js("{}"),
        js("[]"),
        js("(() => { const o = {}; o.self = o; return o; })()"),
        js("{ kind: 'rfc8628', clientId: 1n }"),
    ];
    for g in &garbage {
        for op in ["device", "poll", "refresh"] {
            let err = run(op, g.clone(), &h).await.unwrap_err();
            assert_eq!(code_of(&err), "invalid_config", "{op} with {}", json(g));
        }
        let err = call(w::request_device_code(rfc(""), g.clone()))
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), "invalid_config", "deps {}", json(g));
        let err = call(w::poll_device_token(rfc(""), g.clone(), deps(&h)))
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), "invalid_config", "code {}", json(g));
        if g.as_string().is_none() {
            let err = call(w::revoke_token(rfc(""), g.clone(), deps(&h)))
                .await
                .unwrap_err();
            assert_eq!(code_of(&err), "invalid_config", "token {}", json(g));
        }
    }
    assert_eq!(
        json(&get(&h, "calls")),
        "[]",
        "no request may be sent for bad arguments"
    );
}

#[wasm_bindgen_test]
async fn a_bad_clock_reading_rejects_before_any_request() {
    for clock in [
        "() => NaN",
        "() => -1",
        "() => 'now'",
        "() => { throw new Error('x') }",
        "() => Infinity",
    ] {
        let d = js(&format!(
            "{{ fetch: () => {{ throw new Error('called'); }}, clock: {clock} }}"
        ));
        let err = call(w::request_device_code(rfc(""), d)).await.unwrap_err();
        assert_eq!(code_of(&err), "invalid_config", "{clock}");
    }
}

#[wasm_bindgen_test]
async fn insecure_endpoints_are_refused() {
    let err = w::rfc8628_provider(js(
        r#"{ clientId: "c", deviceAuthorizationEndpoint: "http://idp.example/d", tokenEndpoint: "https://idp.example/t" }"#,
    ))
    .unwrap_err();
    assert_eq!(code_of(&err), "insecure_endpoint");
    let h = host("[]");
    let hand_built = js(
        r#"{ kind: "rfc8628", clientId: "c", deviceAuthorizationEndpoint: "https://idp.example/d", tokenEndpoint: "http://10.0.0.1/t" }"#,
    );
    let err = call(w::refresh_access_token(
        hand_built,
        JsValue::from_str("rt"),
        deps(&h),
    ))
    .await
    .unwrap_err();
    assert_eq!(code_of(&err), "insecure_endpoint");
}

#[wasm_bindgen_test]
async fn an_aborted_signal_rejects_without_a_request_and_aborts_a_hanging_fetch() {
    let h = host(r#"[{ hang: true }]"#);
    let pre = js("(() => { const c = new AbortController(); c.abort(); return c.signal; })()");
    let d = deps(&h);
    Reflect::set(&d, &"signal".into(), &pre).unwrap();
    let err = call(w::refresh_access_token(rfc(""), JsValue::from_str("rt"), d))
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "aborted");
    assert_eq!(json(&get(&h, "calls")), "[]");

    let ctrl = js(
        "(() => { const c = new AbortController(); setTimeout(() => c.abort(), 5); return c; })()",
    );
    let d = deps(&h);
    Reflect::set(&d, &"signal".into(), &get(&ctrl, "signal")).unwrap();
    let err = call(w::refresh_access_token(rfc(""), JsValue::from_str("rt"), d))
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "aborted");
    let init = get(
        &Reflect::get_u32(&get(&h, "calls"), 0).unwrap_or_default(),
        "1",
    );
    assert_eq!(
        get(&get(&init, "signal"), "aborted").as_bool(),
        Some(true),
        "the fetch's own signal is aborted too"
    );
}

#[wasm_bindgen_test]
async fn a_hanging_fetch_ends_with_network_error_after_timeout_ms() {
    let h = host(r#"[{ hang: true }]"#);
    let d = deps(&h);
    Reflect::set(&d, &"timeoutMs".into(), &JsValue::from_f64(10.0)).unwrap();
    let err = call(w::refresh_access_token(rfc(""), JsValue::from_str("rt"), d))
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "network_error");
    assert_eq!(get(&err, "retryable").as_bool(), Some(true));
}

#[wasm_bindgen_test]
async fn abort_during_the_default_sleep_rejects_promptly() {
    let h = host("[]");
    let ctrl = js(
        "(() => { const c = new AbortController(); setTimeout(() => c.abort(), 5); return c; })()",
    );
    let d = js("({})");
    Reflect::set(&d, &"fetch".into(), &get(&h, "fetch")).unwrap();
    Reflect::set(&d, &"clock".into(), &js("() => Date.now()")).unwrap();
    Reflect::set(&d, &"signal".into(), &get(&ctrl, "signal")).unwrap();
    let code = js(
        r#"{ deviceCode: "d", userCode: "u", verificationUri: "https://x/", intervalMs: 3600000, expiresAt: Date.now() + 7200000 }"#,
    );
    let started = js_sys::Date::now();
    let err = call(w::wait_for_device_token(rfc(""), code, d))
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "aborted");
    assert!(
        js_sys::Date::now() - started < 1000.0,
        "the hour-long sleep was cut short"
    );
}

#[wasm_bindgen_test]
fn sync_exports_check_expiry_decode_claims_and_build_codex_headers() {
    let clock = js("() => 1700000000000");
    let fresh = js("{ accessToken: 'a', tokenType: 'Bearer', expiresAt: 1700000060001 }");
    assert_eq!(
        w::is_access_token_expired(fresh.clone(), clock.clone(), JsValue::UNDEFINED),
        Ok(false)
    );
    assert_eq!(
        w::is_access_token_expired(fresh, clock.clone(), JsValue::from_f64(60_001.0)),
        Ok(true)
    );
    let err = w::is_access_token_expired(
        js("{ accessToken: 'a' }"),
        js("() => NaN"),
        JsValue::UNDEFINED,
    )
    .unwrap_err();
    assert_eq!(code_of(&err), "invalid_config");

    // {"exp":1700000030,"https://api.openai.com/auth":{"chatgpt_account_id":"acc_1"}}
    let payload = "eyJleHAiOjE3MDAwMDAwMzAsImh0dHBzOi8vYXBpLm9wZW5haS5jb20vYXV0aCI6eyJjaGF0Z3B0X2FjY291bnRfaWQiOiJhY2NfMSJ9fQ";
    let tokens = js(&format!(
        "{{ accessToken: 'h.{payload}.s', tokenType: 'Bearer' }}"
    ));
    assert_eq!(
        w::is_access_token_expired(tokens.clone(), clock, JsValue::from_f64(0.0)),
        Ok(false)
    );
    assert_eq!(
        json(&w::decode_token_claims(tokens.clone())),
        r#"{"accountId":"acc_1","expiresAt":1700000030000}"#
    );
    assert_eq!(json(&w::decode_token_claims(JsValue::from_f64(3.0))), "{}");
    assert_eq!(
        json(&w::codex_auth_headers(tokens).expect("headers")),
        format!(r#"{{"Authorization":"Bearer h.{payload}.s","ChatGPT-Account-ID":"acc_1"}}"#)
    );
    assert_eq!(
        code_of(&w::codex_auth_headers(JsValue::NULL).unwrap_err()),
        "invalid_config"
    );
}

#[wasm_bindgen_test]
async fn errors_use_the_registered_class_when_the_drop_in_sets_one() {
    let factory: Function = js(
        "(() => { class OAuthDeviceFlowError extends Error { constructor(f) { super(f.message); Object.assign(this, f); this.name = 'OAuthDeviceFlowError'; } }; globalThis.__E = OAuthDeviceFlowError; return (f) => new OAuthDeviceFlowError(f); })()",
    )
    .unchecked_into();
    w::set_error_factory(factory);
    let h = host(r#"[{ status: 400, body: '{"error":"access_denied"}' }]"#);
    let err = run("poll", rfc(""), &h).await.unwrap_err();
    assert!(err.is_instance_of::<js_sys::Error>());
    let class: Function = js("globalThis.__E").unchecked_into();
    assert!(Reflect::get(&err, &"constructor".into())
        .map(|c| c == JsValue::from(class))
        .unwrap_or(false));
    assert_eq!(code_of(&err), "access_denied");
}
