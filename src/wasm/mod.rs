//! The WebAssembly face of the core: the only code that touches `JsValue`. Each export converts
//! its arguments, drives the core's request/process pairs through the host's `fetch` and clock,
//! and turns the outcome into a JS value or an `OAuthDeviceFlowError`. No protocol decision is
//! made here.
//!
//! The exports are `pub` because wasm-bindgen wants them so; they are public to JavaScript
//! (`pkg/`), not to Rust: the module is private unless the `internals` feature is on.

#![allow(unreachable_pub)]

mod exec;
/// The operation driver's exports, which tests/wasm.rs steps by hand.
#[cfg(feature = "internals")]
pub use exec::{op_count, op_step, schedule_reinit};
mod io;
mod js;
mod types;

pub use js::read_json_text;

use crate::device_code::{device_authorization_request, process_device_authorization, DeviceCode};
use crate::error::Error;
use crate::poll::{poll_request, process_code_exchange, process_poll, AfterPoll, PollResult};
use crate::provider::{Provider, ProviderKind};
use crate::refresh::{process_refresh, refresh_request, RefreshInput};
use crate::request_kind::RequestKind;
use crate::revoke::{process_revocation, revocation_request};
use crate::secret::Secret;
use crate::tokens::Tokens;
use crate::wait::{WaitAction, WaitLoop};
use io::Deps;
use js::{error_value, finite_number, get, to_value};
use js_sys::Function;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use types::to_js;
use wasm_bindgen::prelude::*;

type JsResult = Result<JsValue, JsValue>;

/// A result as the JS value the export returns, or the error it throws.
fn finish<T: Serialize>(r: Result<T, Error>) -> JsResult {
    r.map(|v| to_js(&v)).map_err(|e| error_value(&e))
}

/// An operation's result as a JS value (`undefined` for none).
type Operation = Pin<Box<dyn Future<Output = Result<JsValue, Error>>>>;

/// Every async export goes through this one adapter: it registers the operation, which the
/// drop-in then steps (see `exec`), and turns its outcome into the JS value or error.
fn operation(op: Operation) -> u32 {
    exec::start(Box::pin(
        async move { op.await.map_err(|e| error_value(&e)) },
    ))
}

/// Providers kept validated: at most this many...
const CACHED_PROVIDERS: usize = 4;
/// ...and only those whose JSON text is at most this long (a real provider is well under 1 KiB),
/// so the cache holds at most 64 KiB of text whatever hosts pass.
const CACHED_PROVIDER_TEXT: usize = 16 * 1024;

thread_local! {
    /// The last providers validated, by their JSON text: a host passes the same provider on
    /// every call, and parsing and checking it again each time was the larger part of a call.
    /// Keyed by the text, so a provider object changed in place is validated afresh.
    static PROVIDERS: std::cell::RefCell<Vec<(js_sys::JsString, std::rc::Rc<Provider>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn provider_arg(v: &JsValue) -> Result<std::rc::Rc<Provider>, Error> {
    let text = match js::to_text(v, "provider")? {
        js::Text::Json(text) => text,
        js::Text::Value(value) => return Provider::from_json(&value).map(std::rc::Rc::new),
    };
    let cached = PROVIDERS.with(|c| {
        c.borrow()
            .iter()
            .find(|(t, _)| *t == text)
            .map(|(_, p)| p.clone())
    });
    if let Some(p) = cached {
        return Ok(p);
    }
    let value = js::read_json(&text)
        .ok_or_else(|| Error::invalid_config("provider must be plain JSON-serialisable data"))?;
    let provider = std::rc::Rc::new(Provider::from_json(&value)?);
    if text.length() as usize <= CACHED_PROVIDER_TEXT {
        PROVIDERS.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= CACHED_PROVIDERS {
                c.remove(0);
            }
            c.push((text, provider.clone()));
        });
    }
    Ok(provider)
}

/// Registers the constructor of the host's error class (called once by the drop-in module).
#[wasm_bindgen(js_name = setErrorFactory)]
pub fn set_error_factory(factory: Function) {
    js::set_error_factory(factory);
}

#[wasm_bindgen(js_name = openaiCodexProvider, unchecked_return_type = "OAuthProvider")]
pub fn openai_codex_provider(opts: JsValue) -> JsResult {
    finish(
        to_value(&opts, "options")
            .and_then(|o| crate::provider::openai_codex_provider(&o))
            .map(|p| types::OAuthProvider::from(&p)),
    )
}

#[wasm_bindgen(js_name = rfc8628Provider, unchecked_return_type = "OAuthProvider")]
pub fn rfc8628_provider(opts: JsValue) -> JsResult {
    finish(
        to_value(&opts, "options")
            .and_then(|o| crate::provider::rfc8628_provider(&o))
            .map(|p| types::OAuthProvider::from(&p)),
    )
}

#[wasm_bindgen(js_name = requestDeviceCode)]
pub fn request_device_code(provider: JsValue, deps: JsValue) -> u32 {
    operation(Box::pin(async move {
        let code = request_device_code_impl(&provider, &deps).await?;
        Ok(to_js(&types::DeviceCode::from(&code)))
    }))
}

async fn request_device_code_impl(provider: &JsValue, deps: &JsValue) -> Result<DeviceCode, Error> {
    let p = provider_arg(provider)?;
    let deps = Deps::from_js(deps, false)?;
    let now = deps.now()?;
    let resp = deps
        .send(
            &device_authorization_request(&p),
            RequestKind::DeviceAuthorization,
            now,
        )
        .await?;
    process_device_authorization(&p, &resp, now)
}

fn code_arg(v: &JsValue) -> Result<DeviceCode, Error> {
    if v.is_undefined() || v.is_null() {
        return Err(Error::invalid_config(
            "code must be the DeviceCode object requestDeviceCode returned",
        ));
    }
    let text = match js::to_text(v, "code")? {
        js::Text::Json(text) => text,
        js::Text::Value(value) => return DeviceCode::from_json(&value),
    };
    // A waiting host polls with the same code every few seconds: validated once per text.
    let cached = CODE.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|(t, _)| *t == text)
            .map(|(_, code)| code.clone())
    });
    if let Some(code) = cached {
        return Ok(code);
    }
    let value = js::read_json(&text).ok_or_else(|| js::not_data("code"))?;
    let code = DeviceCode::from_json(&value)?;
    CODE.with(|c| *c.borrow_mut() = Some((text, code.clone())));
    Ok(code)
}

thread_local! {
    /// The last device code validated, by its JSON text (as [`PROVIDERS`]).
    static CODE: std::cell::RefCell<Option<(js_sys::JsString, DeviceCode)>> =
        const { std::cell::RefCell::new(None) };
}

#[wasm_bindgen(js_name = pollDeviceToken)]
pub fn poll_device_token(provider: JsValue, code: JsValue, deps: JsValue) -> u32 {
    operation(Box::pin(async move {
        let result = poll_device_token_impl(&provider, &code, &deps).await?;
        Ok(to_js(&types::PollResult::from(&result)))
    }))
}

async fn poll_device_token_impl(
    provider: &JsValue,
    code: &JsValue,
    deps: &JsValue,
) -> Result<PollResult, Error> {
    let p = provider_arg(provider)?;
    let code = code_arg(code)?;
    let deps = Deps::from_js(deps, false)?;
    poll_once(&p, &code, &deps, false).await
}

/// One poll; for OpenAI an approval is redeemed in the same call (one clock reading for both).
/// `waiting`: a poll of `waitForDeviceToken`, whose requests get a default bound.
async fn poll_once(
    p: &Provider,
    code: &DeviceCode,
    deps: &Deps,
    waiting: bool,
) -> Result<PollResult, Error> {
    let now = deps.now()?;
    let request = poll_request(p, code, now)?;
    let bound = waiting.then(|| crate::wait::default_fetch_timeout_ms(code, now));
    let resp = deps.send_within(&request, RequestKind::Poll, now, bound).await?;
    match process_poll(p, code, &resp, now)? {
        AfterPoll::Done(result) => Ok(result),
        AfterPoll::Exchange(exchange) => {
            let resp = deps
                .send_within(&exchange.request, RequestKind::CodeExchange, now, bound)
                .await?;
            Ok(PollResult::Success(process_code_exchange(
                p, &exchange, &resp, now,
            )?))
        }
    }
}

#[wasm_bindgen(js_name = waitForDeviceToken)]
pub fn wait_for_device_token(provider: JsValue, code: JsValue, deps: JsValue) -> u32 {
    operation(Box::pin(async move {
        let tokens = wait_impl(&provider, &code, &deps).await?;
        Ok(to_js(&types::OAuthTokens::from(&tokens)))
    }))
}

async fn wait_impl(provider: &JsValue, code: &JsValue, deps: &JsValue) -> Result<Tokens, Error> {
    let p = provider_arg(provider)?;
    let code = code_arg(code)?;
    let deps = Deps::from_js(deps, true)?;
    let mut machine = WaitLoop::new(code);
    let mut decision = machine.start(deps.now()?);
    loop {
        for event in &decision.events {
            deps.emit(&to_js(&types::DeviceFlowEvent::from(event)));
        }
        match decision.action {
            WaitAction::Done(tokens) => return Ok(tokens),
            WaitAction::Fail(e) => return Err(e),
            WaitAction::Sleep(ms) => {
                deps.sleep(ms).await?;
                let outcome = poll_once(&p, machine.code(), &deps, true).await;
                decision = machine.after_poll(outcome, deps.now()?);
            }
        }
    }
}

#[wasm_bindgen(js_name = refreshAccessToken)]
pub fn refresh_access_token(provider: JsValue, previous: JsValue, deps: JsValue) -> u32 {
    operation(Box::pin(async move {
        let tokens = refresh_impl(&provider, &previous, &deps).await?;
        Ok(to_js(&types::OAuthTokens::from(&tokens)))
    }))
}

async fn refresh_impl(
    provider: &JsValue,
    previous: &JsValue,
    deps: &JsValue,
) -> Result<Tokens, Error> {
    let p = provider_arg(provider)?;
    let input = RefreshInput::from_json(&to_value(previous, "previous")?)?;
    let deps = Deps::from_js(deps, false)?;
    let now = deps.now()?;
    let resp = deps
        .send(
            &refresh_request(&p, &input.refresh_token),
            RequestKind::Refresh,
            now,
        )
        .await?;
    process_refresh(&p, &input, &resp, now)
}

#[wasm_bindgen(js_name = revokeToken)]
pub fn revoke_token(provider: JsValue, token: JsValue, deps: JsValue) -> u32 {
    operation(Box::pin(async move {
        revoke_impl(&provider, &token, &deps).await?;
        Ok(JsValue::UNDEFINED)
    }))
}

async fn revoke_impl(provider: &JsValue, token: &JsValue, deps: &JsValue) -> Result<(), Error> {
    let p = provider_arg(provider)?;
    let token = Secret::new(match js::string_arg(token, crate::limits::MAX_TOKEN_LEN) {
        js::StrArg::Text(t) => t,
        js::StrArg::TooLong => {
            return Err(crate::limits::too_long(
                "token",
                crate::limits::MAX_TOKEN_LEN,
            ))
        }
        js::StrArg::NotAString => {
            return Err(Error::invalid_config("token must be a non-empty string"))
        }
    });
    let deps = Deps::from_js(deps, false)?;
    let now = deps.now()?;
    let req = revocation_request(&p, &token)?;
    let resp = deps.send(&req, RequestKind::Revocation, now).await?;
    process_revocation(&p, &token, &resp, now)
}

/// Reads only the two fields the check needs (it runs on every model request).
#[wasm_bindgen(js_name = isAccessTokenExpired)]
pub fn is_access_token_expired(
    tokens: JsValue,
    clock: JsValue,
    skew_ms: JsValue,
) -> Result<bool, JsValue> {
    expired_impl(&tokens, &clock, &skew_ms).map_err(|e| error_value(&e))
}

fn expired_impl(tokens: &JsValue, clock: &JsValue, skew_ms: &JsValue) -> Result<bool, Error> {
    if !tokens.is_object() {
        return Err(Error::invalid_config(
            "tokens must be an OAuthTokens object",
        ));
    }
    let clock = clock
        .dyn_ref::<Function>()
        .ok_or_else(|| Error::invalid_config("clock must be a function"))?;
    let now = io::read_clock(clock)?;
    let skew = if skew_ms.is_undefined() {
        crate::expiry::DEFAULT_SKEW_MS
    } else {
        finite_number(skew_ms).ok_or_else(|| {
            Error::invalid_config("skewMs must be a finite number of milliseconds")
        })?
    };
    let tokens: &js::TokensLike = tokens.unchecked_ref();
    let expires_at = match tokens.expires_at() {
        v if v.is_undefined() || v.is_null() => None,
        v => Some(finite_number(&v).ok_or_else(|| {
            Error::invalid_config("tokens.expiresAt must be a finite number when set")
        })?),
    };
    let access = match expires_at {
        Some(_) => None,
        None => match js::string_arg(&tokens.access_token(), crate::limits::MAX_TOKEN_LEN) {
            js::StrArg::Text(t) => Some(t),
            js::StrArg::TooLong => {
                return Err(crate::limits::too_long(
                    "tokens.accessToken",
                    crate::limits::MAX_TOKEN_LEN,
                ))
            }
            js::StrArg::NotAString => {
                return Err(Error::invalid_config("tokens.accessToken must be a string"))
            }
        },
    };
    crate::expiry::is_access_token_expired(expires_at, access.as_deref(), now, skew)
}

/// The expiry check when the host already holds the numbers: `expiresAt` and `skewMs` finite
/// (checked by the caller), `reading` the clock's value as it returned it (`NaN` when it was not
/// a number or the clock threw). Numbers in, a number out (0: valid, 1: expired, 2: unusable
/// reading, for which the caller runs the full check to get its error), so the call costs
/// neither object reads nor a result object.
#[wasm_bindgen(js_name = isExpiredAt)]
pub fn is_expired_at(expires_at: f64, reading: f64, skew_ms: f64) -> u32 {
    crate::expiry::is_expired_at(expires_at, reading, skew_ms).map_or(2, u32::from)
}

#[wasm_bindgen(js_name = decodeTokenClaims, unchecked_return_type = "TokenClaims")]
pub fn decode_token_claims(tokens: JsValue) -> JsValue {
    let access = token_string(&get(&tokens, "accessToken"));
    let id = token_string(&get(&tokens, "idToken"));
    let claims = crate::jwt::decode_claims(access.as_deref(), id.as_deref());
    to_js(&types::TokenClaims::from(claims))
}

#[wasm_bindgen(js_name = codexAuthHeaders, unchecked_return_type = "StringMap")]
pub fn codex_auth_headers(tokens: JsValue) -> JsResult {
    finish(codex_headers_impl(&tokens))
}

/// A token string from the host; one longer than any reply could carry is not copied and reads
/// as absent (it has no claims).
fn token_string(v: &JsValue) -> Option<String> {
    match js::string_arg(v, crate::limits::MAX_TOKEN_LEN) {
        js::StrArg::Text(t) => Some(t),
        _ => None,
    }
}

fn codex_headers_impl(tokens: &JsValue) -> Result<types::StringMap, Error> {
    let access = match js::string_arg(&get(tokens, "accessToken"), crate::limits::MAX_TOKEN_LEN) {
        js::StrArg::Text(t) => t,
        js::StrArg::TooLong => {
            return Err(crate::limits::too_long(
                "tokens.accessToken",
                crate::limits::MAX_TOKEN_LEN,
            ))
        }
        js::StrArg::NotAString => {
            return Err(Error::invalid_config(
                "tokens.accessToken must be a non-empty string",
            ))
        }
    };
    let tokens = Tokens {
        access_token: Secret::new(access),
        token_type: "Bearer".to_owned(),
        refresh_token: None,
        id_token: token_string(&get(tokens, "idToken")).map(Secret::new),
        scope: None,
        expires_at: None,
    };
    crate::auth_headers::codex_auth_headers(&tokens).map(types::StringMap)
}

// Token session (js/tokenSession.ts): the JS side keeps the state and the shared refresh; these
// exports give it the decisions of `crate::session`.

/// The session's provider kind, skew, refresh timeout and store-call bound, validated, with the
/// per-kind defaults.
#[wasm_bindgen(js_name = sessionConfig, unchecked_return_type = "SessionConfig")]
pub fn session_config(
    provider: JsValue,
    skew_ms: JsValue,
    timeout_ms: JsValue,
    store_timeout_ms: JsValue,
) -> JsResult {
    finish(session_config_impl(
        &provider,
        &skew_ms,
        &timeout_ms,
        &store_timeout_ms,
    ))
}

fn session_config_impl(
    provider: &JsValue,
    skew_ms: &JsValue,
    timeout_ms: &JsValue,
    store_timeout_ms: &JsValue,
) -> Result<types::SessionConfig, Error> {
    let p = provider_arg(provider)?;
    let millis = |v: &JsValue, what: &str| -> Result<Option<f64>, Error> {
        if v.is_undefined() || v.is_null() {
            return Ok(None);
        }
        v.as_f64().map(Some).ok_or_else(|| {
            Error::invalid_config(format!("{what} must be a number of milliseconds"))
        })
    };
    let config = crate::session::SessionConfig::new(
        p.kind(),
        millis(skew_ms, "skewMs")?,
        millis(timeout_ms, "timeoutMs")?,
        millis(store_timeout_ms, "storeTimeoutMs")?,
    )?;
    Ok(types::SessionConfig::from(&config))
}

fn session_tokens(v: &JsValue, what: &str) -> Result<Option<Tokens>, Error> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    Tokens::from_json(&to_value(v, what)?).map(Some)
}

/// Use, adopt or refresh, given `{stored, held, latched, invalidated, spent}`; reads the clock
/// once. `stored` is what `store.load()` resolved to (`undefined` is refused).
#[wasm_bindgen(js_name = sessionDecide, unchecked_return_type = "SessionDecision")]
pub fn session_decide(view: JsValue, clock: JsValue, skew_ms: JsValue) -> JsResult {
    finish(session_decide_impl(&view, &clock, &skew_ms))
}

fn session_decide_impl(
    view: &JsValue,
    clock: &JsValue,
    skew_ms: &JsValue,
) -> Result<types::SessionDecision, Error> {
    let stored = get(view, "stored");
    if stored.is_undefined() {
        return Err(Error::invalid_config(
            "store.load() must resolve to OAuthTokens or null",
        ));
    }
    let stored = session_tokens(&stored, "stored tokens").map_err(|e| {
        Error::invalid_config(format!(
            "store.load() returned tokens the session cannot use: {}",
            e.message
        ))
    })?;
    let held = session_tokens(&get(view, "held"), "held tokens")?;
    let latched = session_tokens(&get(view, "latched"), "latched tokens")?;
    let invalidated = get(view, "invalidated").as_string();
    let spent = get(view, "spent").as_string();
    let held_back = get(view, "heldBack");
    let held_back_token = get(&held_back, "refreshToken").as_string();
    let held_back = held_back_token.as_deref().and_then(|refresh_token| {
        get(&held_back, "retryAt")
            .as_f64()
            .map(|retry_at| crate::session::HeldBack {
                refresh_token,
                retry_at,
            })
    });
    let clock = clock
        .dyn_ref::<Function>()
        .ok_or_else(|| Error::invalid_config("clock must be a function"))?;
    let now = io::read_clock(clock)?;
    let skew = skew_ms
        .as_f64()
        .ok_or_else(|| Error::invalid_config("skewMs must be a number of milliseconds"))?;
    let view = crate::session::SessionView {
        stored: stored.as_ref(),
        held: held.as_ref(),
        latched: latched.as_ref(),
        invalidated_access: invalidated.as_deref(),
        spent_refresh: spent.as_deref(),
        held_back,
    };
    crate::session::decide(&view, now, skew).map(types::SessionDecision::from)
}

/// The session's `storage_error` fields (`{code, message, retryable}`) for a failed store step
/// (`"load"`, `"save"`, `"lock"`, `"lock_skipped"`, `"replace"`) and fault (`"failed"`,
/// `"unusable"`, `"timeout"`).
#[wasm_bindgen(js_name = sessionStoreFailure, unchecked_return_type = "ErrorFields | undefined")]
pub fn session_store_failure(step: JsValue, fault: JsValue, store_timeout_ms: JsValue) -> JsValue {
    use crate::session_store::{store_failure, StoreFault, StoreCall};
    let call = step.as_string().as_deref().and_then(StoreCall::parse);
    let fault = fault.as_string().as_deref().and_then(StoreFault::parse);
    let bound = store_timeout_ms.as_f64().unwrap_or(0.0);
    call.zip(fault).map_or(JsValue::UNDEFINED, |(s, f)| {
        to_js(&types::ErrorFields::from(&store_failure(s, f, bound)))
    })
}

/// After a failed refresh, given `{code, status?, fate: "not_sent"|"never_left"|"sent",
/// transportCode?, resent}`: `{step: "latch", error}`, `{step: "answer_lost", retryAt}` or
/// `{step: "pass"}`. Reads the clock once.
#[wasm_bindgen(js_name = sessionRefreshFailed, unchecked_return_type = "AfterRefreshFailure")]
pub fn session_refresh_failed(facts: JsValue, clock: JsValue, timeout_ms: JsValue) -> JsResult {
    finish(session_refresh_failed_impl(&facts, &clock, &timeout_ms))
}

fn session_refresh_failed_impl(
    facts: &JsValue,
    clock: &JsValue,
    timeout_ms: &JsValue,
) -> Result<types::AfterRefreshFailure, Error> {
    use crate::session::{after_refresh_failure, request_never_left, RefreshFailure, RequestFate};
    let code = get(facts, "code")
        .as_string()
        .and_then(|c| crate::error::ErrorCode::parse(&c))
        .ok_or_else(|| Error::invalid_config("unknown error code"))?;
    let status = get(facts, "status")
        .as_f64()
        .filter(|s| s.fract() == 0.0 && (0.0..=999.0).contains(s))
        .map(|s| s as u16);
    let fate = match get(facts, "fate").as_string().as_deref() {
        Some("sent") => match get(facts, "transportCode").as_string() {
            Some(c) if request_never_left(&c) => RequestFate::NeverLeft,
            _ => RequestFate::Sent,
        },
        _ => RequestFate::NotSent,
    };
    let clock = clock
        .dyn_ref::<Function>()
        .ok_or_else(|| Error::invalid_config("clock must be a function"))?;
    let now = io::read_clock(clock)?;
    let failure = RefreshFailure {
        code,
        status,
        fate,
        resent_after_lost_answer: get(facts, "resent").as_bool() == Some(true),
    };
    let timeout = timeout_ms.as_f64().unwrap_or(0.0);
    Ok(types::AfterRefreshFailure::from(&after_refresh_failure(
        &failure, now, timeout,
    )))
}

/// After `save` resolved `false`: `{step: "written" | "adopt"}`, or `{step: "signed_out" |
/// "keep", error}`, given what the store holds now (`null`: empty) and the save's `next` and
/// `previous`.
#[wasm_bindgen(js_name = sessionDroppedSave, unchecked_return_type = "AfterDroppedSave")]
pub fn session_dropped_save(stored: JsValue, next: JsValue, previous: JsValue) -> JsResult {
    finish(session_dropped_save_impl(&stored, &next, &previous))
}

fn session_dropped_save_impl(
    stored: &JsValue,
    next: &JsValue,
    previous: &JsValue,
) -> Result<types::AfterDroppedSave, Error> {
    let stored = session_tokens(stored, "stored tokens").map_err(|e| {
        Error::invalid_config(format!(
            "store.load() returned tokens the session cannot use: {}",
            e.message
        ))
    })?;
    let missing = || Error::invalid_config("tokens must be an OAuthTokens object");
    let next = session_tokens(next, "tokens")?.ok_or_else(missing)?;
    let previous = session_tokens(previous, "tokens")?.ok_or_else(missing)?;
    Ok(types::AfterDroppedSave::from(
        &crate::session_store::after_dropped_save(stored.as_ref(), &next, &previous),
    ))
}

/// Checks tokens handed to `signIn`: `invalid_config` unless they are `OAuthTokens`.
#[wasm_bindgen(js_name = sessionCheckTokens, unchecked_return_type = "boolean")]
pub fn session_check_tokens(tokens: JsValue) -> JsResult {
    finish(
        session_tokens(&tokens, "tokens")
            .and_then(|t| {
                t.ok_or_else(|| {
                    Error::invalid_config("signIn needs OAuthTokens (use signOut() to sign out)")
                })
            })
            .map(|_| true),
    )
}

/// The API request headers for `kind` (`"openai-codex"` or `"rfc8628"`).
#[wasm_bindgen(js_name = sessionAuthHeaders, unchecked_return_type = "StringMap")]
pub fn session_auth_headers(kind: JsValue, tokens: JsValue) -> JsResult {
    finish(session_auth_headers_impl(&kind, &tokens))
}

fn session_auth_headers_impl(kind: &JsValue, tokens: &JsValue) -> Result<types::StringMap, Error> {
    let kind = kind
        .as_string()
        .as_deref()
        .and_then(ProviderKind::parse)
        .ok_or_else(|| Error::invalid_config("unknown provider kind"))?;
    let tokens = session_tokens(tokens, "tokens")?
        .ok_or_else(|| Error::invalid_config("tokens must be an OAuthTokens object"))?;
    crate::session::auth_headers(kind, &tokens).map(types::StringMap)
}

// Model calls (js/codexFetch.ts, js/codexStream.ts, js/codexModels.ts): the JS side sends,
// streams and reads; these exports give it the decisions of `crate::model_call` and
// `crate::model_reply`.

/// The Codex backend base URL: the default, or the host's, checked (`insecure_endpoint`,
/// `invalid_config`) and without trailing slashes.
#[wasm_bindgen(js_name = codexBaseUrl, unchecked_return_type = "string")]
pub fn codex_base_url(url: JsValue) -> JsResult {
    let r = if url.is_undefined() || url.is_null() {
        crate::model_call::codex_base_url(None)
    } else {
        match url.as_string() {
            Some(u) => crate::model_call::codex_base_url(Some(&u)),
            None => Err(Error::invalid_config("baseUrl must be a string")),
        }
    };
    r.map(|u| JsValue::from_str(&u))
        .map_err(|e| js::error_value(&e))
}

/// What to do with a backend answer: `"return"`, `"invalidate"` (return it, and mark the sent
/// token) or `"retry"` (mark, refresh, send again), given the status, whether this send was the
/// retry, the body kind (`"empty"`, `"replayable"`, `"one-shot"`) and whether anything was
/// streamed to the caller.
#[wasm_bindgen(
    js_name = codexAfterReply,
    unchecked_return_type = "\"return\" | \"invalidate\" | \"retry\""
)]
pub fn codex_after_reply(
    status: JsValue,
    retried: JsValue,
    body: JsValue,
    streamed: JsValue,
) -> String {
    use crate::model_call::{after_reply, Attempt, BodyKind};
    let status = finite_number(&status)
        .filter(|s| (0.0..=999.0).contains(s))
        .map_or(0, |s| s as u16);
    // An unknown body kind is treated as one that cannot be sent again.
    let body = body
        .as_string()
        .and_then(|b| BodyKind::parse(&b))
        .unwrap_or(BodyKind::OneShot);
    let attempt = Attempt {
        retried: retried.as_bool() != Some(false),
        body,
        streamed: streamed.as_bool() != Some(false),
    };
    after_reply(status, attempt).as_str().to_owned()
}

/// The error a failed answer of the Codex backend stands for, given what was read of it: the
/// route (`"model call"`, `"models list"`), the status, the `content-type` and `retry-after`
/// headers (`null` when absent), the body text (`""` when not read) and the time of reading.
#[wasm_bindgen(js_name = codexReplyError, unchecked_return_type = "ErrorFields")]
pub fn codex_reply_error(
    route: JsValue,
    status: JsValue,
    content_type: JsValue,
    retry_after: JsValue,
    body: JsValue,
    now: JsValue,
) -> JsValue {
    use crate::model_reply::{reply_error, Reply, Route};
    let e = match route.as_string().as_deref().and_then(Route::parse) {
        Some(route) => {
            let status = finite_number(&status)
                .filter(|s| (0.0..=999.0).contains(s))
                .map_or(0, |s| s as u16);
            let content_type = content_type.as_string();
            let retry_after = retry_after.as_string();
            let body = body.as_string().unwrap_or_default();
            let reply = Reply {
                status,
                content_type: content_type.as_deref(),
                retry_after: retry_after.as_deref(),
                body: &body,
            };
            reply_error(route, &reply, finite_number(&now).unwrap_or(0.0))
        }
        None => Error::invalid_config("route must be \"model call\" or \"models list\""),
    };
    to_js(&types::ErrorFields::from(&e))
}

/// The error a `response.failed` (or `error`) event stands for, given its `error` object
/// (`undefined` when it has none) and the time it arrived.
#[wasm_bindgen(js_name = codexFailedError, unchecked_return_type = "ErrorFields")]
pub fn codex_failed_error(error: JsValue, now: JsValue) -> JsValue {
    // An object that cannot be read as data counts as none.
    let error = to_value(&error, "error").ok();
    let now = finite_number(&now).unwrap_or(0.0);
    to_js(&types::ErrorFields::from(
        &crate::model_reply::failed_error(error.as_ref(), now),
    ))
}

/// The module's linear memory in bytes, for the benchmark's leak check (not part of the public API).
#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    (core::arch::wasm32::memory_size(0) as f64) * 65_536.0
}
