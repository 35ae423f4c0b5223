//! Small bridges between JS values and the core: JSON text across the boundary, property reads
//! that cannot throw into Rust, and building the host's error object.
//!
//! Values cross as JSON text (`JSON.stringify` in, `JSON.parse` out): V8's JSON is fast, the core
//! keeps one parser that the native tests and the fuzzer reach, and no second serialisation
//! library has to ship in the module.

use crate::json::{self, Value};
use crate::error::Error;
use js_sys::{Function, JsString, Reflect, JSON};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

thread_local! {
    /// Builds the host's `OAuthDeviceFlowError` from the error JSON (set by the drop-in module).
    static ERROR_FACTORY: RefCell<Option<Function>> = const { RefCell::new(None) };
}

pub(crate) fn set_error_factory(f: Function) {
    ERROR_FACTORY.with(|slot| *slot.borrow_mut() = Some(f));
}

/// The JS value a failed operation rejects (or a sync export throws) with.
pub(crate) fn error_value(e: &Error) -> JsValue {
    let fields = super::types::to_js(&super::types::ErrorFields::from(e));
    let factory = ERROR_FACTORY.with(|slot| slot.borrow().clone());
    if let Some(f) = factory {
        if let Ok(v) = f.call1(&JsValue::UNDEFINED, &fields) {
            return v;
        }
    }
    // No factory registered (the raw module used directly): a plain Error with the same fields.
    let err = js_sys::Error::new(&e.message);
    err.set_name("OAuthDeviceFlowError");
    for key in ["code", "retryable", "status", "serverCode", "retryAfterMs", "resetsAt"] {
        if let Ok(v) = Reflect::get(&fields, &JsValue::from_str(key)) {
            if !v.is_undefined() {
                let _ = Reflect::set(&err, &JsValue::from_str(key), &v);
            }
        }
    }
    err.into()
}

/// A host argument as core JSON; `what` names it in the message. `undefined` becomes `Null`.
pub(crate) fn to_value(v: &JsValue, what: &str) -> Result<Value, Error> {
    match to_text(v, what)? {
        Text::Json(text) => read_json(&text).ok_or_else(|| not_data(what)),
        Text::Value(value) => Ok(value),
    }
}

/// A host argument as JSON text (a JS string: nothing copied yet), or as a value when there is
/// no text to make of it.
pub(crate) enum Text {
    Json(JsString),
    Value(Value),
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = JSON, js_name = parse, catch)]
    fn parse_js(text: &JsString) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = JSON, js_name = parse, catch)]
    fn parse_str(text: &str) -> Result<JsValue, JsValue>;
}

/// JSON text held by the host, read by its `JSON.parse` (`None` when it refuses the text or the
/// value nests deeper than [`json::MAX_DEPTH`]).
pub(crate) fn read_json(text: &JsString) -> Option<Value> {
    parse_js(text).ok().and_then(|v| value_of(&v, 0))
}

/// The same for text in the module's memory (a JWT payload).
pub fn read_json_text(text: &str) -> Option<Value> {
    parse_str(text).ok().and_then(|v| value_of(&v, 0))
}

/// A reply body as the core reads it: blank or not (JS `trim()`), and its JSON value.
pub(crate) fn read_reply(text: &JsString) -> crate::http::ParsedBody {
    let blank = text.trim().length() == 0;
    crate::http::ParsedBody {
        blank,
        json: if blank { None } else { read_json(text) },
    }
}

/// What `JSON.parse` built, as a core value. `depth` counts the enclosing arrays and objects.
/// A number `JSON.parse` read as an infinity (`1e999`) is unusable, so it becomes `Null`.
fn value_of(v: &JsValue, depth: usize) -> Option<Value> {
    if let Some(s) = v.as_string() {
        return Some(Value::String(s));
    }
    if let Some(n) = finite_number(v) {
        return Some(Value::Number(n));
    }
    if v.is_null() || v.as_f64().is_some() {
        return Some(Value::Null);
    }
    if let Some(b) = v.as_bool() {
        return Some(Value::Bool(b));
    }
    if depth >= json::MAX_DEPTH {
        return None;
    }
    if let Some(items) = v.dyn_ref::<js_sys::Array>() {
        return items
            .iter()
            .map(|item| value_of(&item, depth + 1))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array);
    }
    let object = v.dyn_ref::<js_sys::Object>()?;
    js_sys::Object::keys(object)
        .iter()
        .map(|key| {
            let k = key.as_string()?;
            let member = Reflect::get(v, &key).ok()?;
            Some((k, value_of(&member, depth + 1)?))
        })
        .collect::<Option<Vec<_>>>()
        .map(Value::Object)
}

pub(crate) fn not_data(what: &str) -> Error {
    Error::invalid_config(format!("{what} must be plain JSON-serialisable data"))
}

pub(crate) fn to_text(v: &JsValue, what: &str) -> Result<Text, Error> {
    if v.is_undefined() || v.is_null() {
        return Ok(Text::Value(Value::Null));
    }
    if let Some(n) = v.as_f64() {
        // Kept as is: JSON text would turn NaN and the infinities into `null` ("absent").
        return Ok(Text::Value(Value::Number(n)));
    }
    // A string (a refresh token) is taken as it is: what a JSON round trip would give.
    let text = match v.dyn_ref::<js_sys::JsString>() {
        Some(s) => s.clone(),
        None => JSON::stringify(v)
            .ok()
            .filter(|s| s.is_string())
            .ok_or_else(|| not_data(what))?,
    };
    // Measured before it is copied into the module, whose memory never shrinks.
    if text.length() as usize > crate::limits::MAX_ARGUMENT_JSON_LEN {
        return Err(crate::limits::too_long(
            &format!("{what} (as JSON)"),
            crate::limits::MAX_ARGUMENT_JSON_LEN,
        ));
    }
    if v.is_string() {
        return text
            .as_string()
            .map(|s| Text::Value(Value::String(s)))
            .ok_or_else(|| not_data(what));
    }
    Ok(Text::Json(text))
}

/// A JS string argument, measured before it is copied into the module.
pub(crate) enum StrArg {
    NotAString,
    /// Longer than the cap it was read with (not copied).
    TooLong,
    Text(String),
}

/// `v` as a string of at most `cap` UTF-16 units.
pub(crate) fn string_arg(v: &JsValue, cap: usize) -> StrArg {
    match v.dyn_ref::<js_sys::JsString>() {
        None => StrArg::NotAString,
        Some(s) if s.length() as usize > cap => StrArg::TooLong,
        Some(s) => StrArg::Text(String::from(s)),
    }
}

#[wasm_bindgen]
extern "C" {
    /// A host object read through plain property accesses in the generated glue: no property
    /// name crosses the boundary, which matters on the per-request expiry check.
    pub(crate) type TokensLike;
    #[wasm_bindgen(method, structural, getter, catch, js_name = expiresAt)]
    fn expires_at_raw(this: &TokensLike) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, structural, getter, catch, js_name = accessToken)]
    fn access_token_raw(this: &TokensLike) -> Result<JsValue, JsValue>;
}

impl TokensLike {
    /// `tokens.expiresAt` (a throwing getter reads as `undefined`).
    pub(crate) fn expires_at(&self) -> JsValue {
        self.expires_at_raw().unwrap_or(JsValue::UNDEFINED)
    }

    /// `tokens.accessToken` (a throwing getter reads as `undefined`).
    pub(crate) fn access_token(&self) -> JsValue {
        self.access_token_raw().unwrap_or(JsValue::UNDEFINED)
    }
}

/// The value of a JS number that is finite, else `None` (no coercion: `"5"` is not a number).
/// Cheaper than `JsValue::as_f64`, whose glue goes through a view of wasm memory per call.
pub(crate) fn finite_number(v: &JsValue) -> Option<f64> {
    js_sys::Number::is_finite(v).then(|| v.unchecked_ref::<js_sys::Number>().value_of())
}

/// `obj[key]`, with a throwing getter or a non-object read as `undefined`.
pub(crate) fn get(obj: &JsValue, key: &'static str) -> JsValue {
    if !obj.is_object() && !obj.is_function() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &name(key)).unwrap_or(JsValue::UNDEFINED)
}

thread_local! {
    /// JS strings for the property and header names the adapter uses, made once: building a JS
    /// string from Rust text on every property read was a large part of a call's cost.
    static NAMES: RefCell<Vec<(&'static str, JsValue)>> = const { RefCell::new(Vec::new()) };
}

/// The JS string for a name the adapter uses (cached).
pub(crate) fn name(key: &'static str) -> JsValue {
    NAMES.with(|names| {
        let mut names = names.borrow_mut();
        if let Some((_, v)) = names
            .iter()
            .find(|(k, _)| std::ptr::eq(*k, key) || *k == key)
        {
            return v.clone();
        }
        let v = JsValue::from_str(key);
        names.push((key, v.clone()));
        v
    })
}

/// `obj[key]` when it is a function.
pub(crate) fn method(obj: &JsValue, key: &'static str) -> Option<Function> {
    get(obj, key).dyn_into::<Function>().ok()
}
