//! What a failed answer of the Codex backend means (src/model_reply.rs), at the value level: the
//! reply's status, headers and body text, or a `response.failed` event's `error` object, in; the
//! error's code, message, status, retryability, server code, Retry-After and reset time out.

use oauth_device_flow::model_reply::{failed_error, quote, reply_error, usage_error, Reply, Route};
use oauth_device_flow::{parse_json, Error, ErrorCode, Value};

/// 2023-11-14T22:13:20.000Z.
const NOW: f64 = 1_700_000_000_000.0;

fn reply(status: u16, content_type: Option<&str>, retry_after: Option<&str>, body: &str) -> Error {
    let r = Reply {
        status,
        content_type,
        retry_after,
        body,
    };
    reply_error(Route::ModelCall, &r, NOW)
}

fn json(text: &str) -> Value {
    parse_json(text.as_bytes()).expect("test JSON")
}

/// The public fields, as the JS error carries them.
fn fields(e: &Error) -> String {
    e.to_json()
}

#[test]
fn a_redirect_is_settled_by_its_status_and_keeps_retry_after() {
    let e = reply(302, None, Some("7"), "");
    assert_eq!(
        fields(&e),
        r#"{"code":"redirect","message":"The Codex backend answered the model call with a redirect (HTTP 302); redirects are not followed.","retryable":true,"status":302,"retryAfterMs":7000}"#
    );
    let r = Reply {
        status: 307,
        content_type: None,
        retry_after: None,
        body: r#"{"error":{"type":"usage_limit_reached"}}"#,
    };
    let e = reply_error(Route::ModelsList, &r, NOW);
    assert_eq!(e.code, ErrorCode::Redirect);
    assert!(e
        .message
        .contains("the models list with a redirect (HTTP 307)"));
}

#[test]
fn a_usage_limit_with_resets_at_names_the_reset_time_and_waits_until_it() {
    let body =
        r#"{"error":{"type":"usage_limit_reached","plan_type":"plus","resets_at":1700003600}}"#;
    let e = reply(429, Some("application/json"), Some("5"), body);
    assert_eq!(
        fields(&e),
        r#"{"code":"usage_limit_reached","message":"The ChatGPT usage limit is reached (plan plus): try again after 2023-11-14T23:13:20.000Z.","retryable":true,"status":429,"serverCode":"usage_limit_reached","retryAfterMs":3600000,"resetsAt":1700003600000}"#
    );
}

#[test]
fn a_usage_limit_with_resets_in_seconds_counts_from_now() {
    let body = r#"{"error":{"code":"usage_limit_reached","resets_in_seconds":90}}"#;
    let e = reply(429, None, None, body);
    assert_eq!(
        fields(&e),
        r#"{"code":"usage_limit_reached","message":"The ChatGPT usage limit is reached: try again after 2023-11-14T22:14:50.000Z.","retryable":true,"status":429,"serverCode":"usage_limit_reached","retryAfterMs":90000,"resetsAt":1700000090000}"#
    );
}

#[test]
fn a_usage_limit_without_a_reset_time_says_later() {
    let body =
        r#"{"error":{"type":"usage_limit_reached","resets_at":-1,"resets_in_seconds":"90"}}"#;
    let e = reply(429, None, Some("30"), body);
    assert_eq!(
        fields(&e),
        r#"{"code":"usage_limit_reached","message":"The ChatGPT usage limit is reached: try again later.","retryable":true,"status":429,"serverCode":"usage_limit_reached"}"#
    );
}

#[test]
fn a_reset_time_a_date_cannot_hold_is_kept_but_not_written_out() {
    let e = usage_error(
        &json(r#"{"type":"usage_limit_reached","resets_at":1e13}"#),
        None,
        NOW,
    )
    .expect("a usage limit");
    assert_eq!(e.resets_at, Some(1e16));
    assert!(e.message.ends_with("try again later."), "{}", e.message);
}

#[test]
fn reset_times_are_written_as_to_iso_string_does() {
    let at = |ms: f64| {
        let e = usage_error(
            &json(&format!(
                r#"{{"type":"usage_limit_reached","resets_at":{}}}"#,
                ms / 1000.0
            )),
            None,
            0.0,
        )
        .expect("a usage limit");
        e.message
    };
    assert!(at(1.5).contains("after 1970-01-01T00:00:00.001Z"));
    assert!(at(951_782_400_000.0).contains("after 2000-02-29T00:00:00.000Z"));
    assert!(at(253_402_300_800_000.0).contains("after +010000-01-01T00:00:00.000Z"));
    assert!(at(8.64e15).contains("after +275760-09-13T00:00:00.000Z"));
}

#[test]
fn a_plan_without_codex_is_not_retryable_and_carries_a_reset_time_only_when_given() {
    let body = r#"{"error":{"type":"usage_not_included","plan_type":"free"}}"#;
    let e = reply(403, Some("application/json"), Some("5"), body);
    assert_eq!(
        fields(&e),
        r#"{"code":"usage_not_included","message":"This ChatGPT plan does not include Codex (plan free): upgrade the plan or use an API key.","retryable":false,"status":403,"serverCode":"usage_not_included"}"#
    );
    let body = r#"{"error":{"code":"usage_not_included","resets_at":1700003600}}"#;
    let e = reply(403, None, None, body);
    assert_eq!(e.resets_at, Some(1_700_003_600_000.0));
    assert_eq!(e.retry_after_ms, None);
}

#[test]
fn a_usage_kind_is_read_from_type_before_code() {
    let body = r#"{"error":{"type":"invalid_request_error","code":"usage_limit_reached"}}"#;
    assert_eq!(reply(400, None, None, body).code, ErrorCode::ModelError);
    let body = r#"{"error":{"type":null,"code":"usage_limit_reached"}}"#;
    assert_eq!(
        reply(400, None, None, body).code,
        ErrorCode::UsageLimitReached
    );
}

#[test]
fn a_401_asks_for_a_new_sign_in_with_the_error_code_when_there_is_one() {
    let e = reply(
        401,
        None,
        None,
        r#"{"error":{"code":"Token_Expired","type":"auth"}}"#,
    );
    assert_eq!(
        fields(&e),
        r#"{"code":"reauth_required","message":"The Codex backend refused the access token for the model call (HTTP 401), also after a refresh: sign in again.","retryable":false,"status":401,"serverCode":"token_expired"}"#
    );
    let e = reply(401, None, Some("3"), r#"{"error":{"type":"auth"}}"#);
    assert_eq!(e.code, ErrorCode::ReauthRequired);
    assert_eq!(e.server_code, None, "only error.code names it");
    assert_eq!(e.retry_after_ms, Some(3000.0));
    assert_eq!(reply(401, None, None, "").server_code, None);
}

#[test]
fn a_403_html_page_is_a_challenge_by_content_type_or_leading_angle_bracket() {
    let e = reply(403, Some("Text/HTML; charset=utf-8"), None, "Just a moment");
    assert_eq!(
        fields(&e),
        r#"{"code":"challenge","message":"The Codex backend answered the model call with an HTML page (HTTP 403, a bot challenge?): this network or host is being challenged; try another network or later.","retryable":false,"status":403}"#
    );
    let e = reply(403, None, None, " \n\u{a0}<!doctype html><html>");
    assert_eq!(e.code, ErrorCode::Challenge);
    // Not HTML: a 403 with nothing to quote is an unexpected answer.
    assert_eq!(
        reply(403, None, None, "nope").code,
        ErrorCode::InvalidResponse
    );
}

#[test]
fn a_5xx_or_429_is_a_retryable_server_error_with_its_code_and_retry_after() {
    let e = reply(
        503,
        None,
        Some("120"),
        r#"{"error":{"code":"Overloaded!","type":"x"}}"#,
    );
    assert_eq!(
        fields(&e),
        r#"{"code":"server_error","message":"The Codex backend could not answer the model call (HTTP 503); try again later.","retryable":true,"status":503,"serverCode":"overloaded","retryAfterMs":120000}"#
    );
    let e = reply(
        429,
        None,
        Some("Tue, 14 Nov 2023 22:13:50 GMT"),
        r#"{"error":{"type":"rate_limit_exceeded"}}"#,
    );
    assert_eq!(e.code, ErrorCode::ServerError);
    assert_eq!(e.server_code.as_deref(), Some("rate_limit_exceeded"));
    assert_eq!(e.retry_after_ms, Some(30_000.0));
    let past = reply(500, None, Some("Tue, 14 Nov 2023 22:00:00 GMT"), "");
    assert_eq!(past.retry_after_ms, Some(0.0));
    let unusable = reply(502, None, Some("soon"), "<html>");
    assert_eq!(
        (unusable.retry_after_ms, unusable.server_code),
        (None, None)
    );
    // A code that is not a string names nothing, and `type` is not consulted then.
    let e = reply(500, None, None, r#"{"error":{"code":500,"type":"server"}}"#);
    assert_eq!(e.server_code, None);
}

#[test]
fn a_4xx_quotes_detail_else_error_message_else_nothing() {
    let e = reply(
        400,
        None,
        Some("1"),
        r#"{"detail":"Model gpt-x not supported","error":{"message":"other","code":"bad_model"}}"#,
    );
    assert_eq!(
        fields(&e),
        r#"{"code":"model_error","message":"The Codex backend refused the model call (HTTP 400): Model gpt-x not supported","retryable":false,"status":400,"serverCode":"bad_model","retryAfterMs":1000}"#
    );
    let e = reply(
        404,
        None,
        None,
        r#"{"error":{"message":"No such\nroute","type":"not_found"}}"#,
    );
    assert_eq!(
        e.message,
        "The Codex backend refused the model call (HTTP 404): No such route"
    );
    assert_eq!(e.server_code.as_deref(), Some("not_found"));
    let e = reply(422, None, None, r#"{"error":{}}"#);
    assert_eq!(
        e.message,
        "The Codex backend refused the model call (HTTP 422)"
    );
    assert_eq!((e.code, e.server_code), (ErrorCode::ModelError, None));
    let e = reply(400, None, None, r#"{"detail":"Instructions are required"}"#);
    assert_eq!(
        e.message,
        "The Codex backend refused the model call (HTTP 400): Instructions are required"
    );
}

#[test]
fn anything_else_is_an_unexpected_answer() {
    let e = reply(418, None, None, r#"{"error":"a string"}"#);
    assert_eq!(
        fields(&e),
        r#"{"code":"invalid_response","message":"Unexpected answer to the model call: HTTP 418.","retryable":true,"status":418}"#
    );
    let e = reply(201, Some("text/html"), None, "");
    assert_eq!(
        e.message,
        "Unexpected answer to the model call: HTTP 201 with an HTML page."
    );
    assert_eq!(
        reply(404, None, None, "[1]").code,
        ErrorCode::InvalidResponse
    );
    assert_eq!(
        reply(400, None, None, "not json").code,
        ErrorCode::InvalidResponse
    );
}

fn failed(text: Option<&str>) -> Error {
    let v = text.map(json);
    failed_error(v.as_ref(), NOW)
}

#[test]
fn a_failed_response_is_retryable_for_rate_limits_server_errors_and_no_code() {
    let e = failed(Some(
        r#"{"code":"rate_limit_exceeded","message":"Rate limit reached. Please try again in 1.5s."}"#,
    ));
    assert_eq!(
        fields(&e),
        r#"{"code":"response_failed","message":"The model failed to answer (rate_limit_exceeded): Rate limit reached. Please try again in 1.5s.","retryable":true,"serverCode":"rate_limit_exceeded","retryAfterMs":1500}"#
    );
    let e = failed(Some(r#"{"type":"server_error","message":"boom"}"#));
    assert_eq!(
        fields(&e),
        r#"{"code":"response_failed","message":"The model failed to answer (server_error): boom","retryable":true,"serverCode":"server_error"}"#
    );
    let e = failed(Some(
        r#"{"code":"context_length_exceeded","message":"Too long"}"#,
    ));
    assert_eq!(
        fields(&e),
        r#"{"code":"response_failed","message":"The model failed to answer (context_length_exceeded): Too long","retryable":false,"serverCode":"context_length_exceeded"}"#
    );
    assert_eq!(
        fields(&failed(None)),
        r#"{"code":"response_failed","message":"The model failed to answer","retryable":true}"#
    );
    assert_eq!(
        fields(&failed(Some(r#"{"reason":"max_output_tokens"}"#))),
        r#"{"code":"response_failed","message":"The model failed to answer","retryable":true}"#
    );
}

#[test]
fn a_failed_response_reads_the_wait_from_its_message() {
    let wait = |m: &str| {
        let v = Value::Object(vec![("message".into(), Value::String(m.into()))]);
        failed_error(Some(&v), NOW).retry_after_ms
    };
    assert_eq!(wait("Please TRY AGAIN IN 20 s."), Some(20_000.0));
    assert_eq!(
        wait("try again in\t0.0004s"),
        Some(1.0),
        "rounded up, a tab is a space"
    );
    assert_eq!(wait("try again in 2ms"), None);
    assert_eq!(wait("try again in .5s"), None);
    assert_eq!(wait("try again in 1.s"), None);
    assert_eq!(wait("try again in1s"), None);
    assert_eq!(wait("try again in x, or try again in 3s"), Some(3000.0));
    assert_eq!(wait("retry later"), None);
}

#[test]
fn a_failed_response_with_a_usage_limit_is_the_usage_limit_without_a_status() {
    let e = failed(Some(
        r#"{"type":"usage_limit_reached","resets_in_seconds":10}"#,
    ));
    assert_eq!(
        fields(&e),
        r#"{"code":"usage_limit_reached","message":"The ChatGPT usage limit is reached: try again after 2023-11-14T22:13:30.000Z.","retryable":true,"serverCode":"usage_limit_reached","retryAfterMs":10000,"resetsAt":1700000010000}"#
    );
}

#[test]
fn quoting_removes_control_characters_and_token_shaped_words_and_cuts_at_200() {
    assert_eq!(quote("a\u{0}b\u{1f}c\u{7f}d\r\n"), "a b c d");
    let token = "sk-abcdefghijklmnopqrstuvwxyz0123";
    assert_eq!(
        quote(&format!("bad key {token} here")),
        "bad key [redacted] here"
    );
    // 24 token characters once the others are left out; 23 stay.
    assert_eq!(quote("<abcdefghijklmnopqrstuvwx>"), "[redacted]");
    assert_eq!(
        quote("abcdefghijklmnopqrstuvw!"),
        "abcdefghijklmnopqrstuvw!"
    );
    let long = "word ".repeat(60);
    assert_eq!(quote(&long).len(), 199, "cut to 200, then trimmed");
    assert_eq!(quote(&"é".repeat(250)).chars().count(), 200);
    assert_eq!(quote("  \u{feff}padded\u{a0} "), "padded");
}

#[test]
fn a_plan_name_is_quoted() {
    let e = usage_error(
        &json(
            r#"{"type":"usage_not_included","plan_type":"x\u0000AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#,
        ),
        None,
        NOW,
    )
    .expect("a plan without Codex");
    assert_eq!(
        e.message,
        "This ChatGPT plan does not include Codex (plan x [redacted]): upgrade the plan or use an API key."
    );
}

#[test]
fn routes_parse_from_the_js_names() {
    assert_eq!(Route::parse("model call"), Some(Route::ModelCall));
    assert_eq!(Route::parse("models list"), Some(Route::ModelsList));
    assert_eq!(Route::parse("models"), None);
}
