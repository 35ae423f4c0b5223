//! The host's I/O as the core needs it: one `fetch` per request (with `deps.signal` and
//! `deps.timeoutMs` racing it), one clock reading per operation, and the waiting loop's sleeps.
//!
//! Abort and timeout are raced against the host's promises with plain JS functions (`bind` of the
//! promise's own `reject`), so no Rust closure outlives a call; every timer and listener is
//! removed once the race settles, so nothing keeps the host's event loop alive afterwards.

use super::exec;
use super::js::{finite_number, get, method, name};
use crate::http::read_body_needed;
use crate::error::{Error, ErrorCode};
use crate::http::{HttpRequest, HttpResponse};
use crate::request_kind::RequestKind;
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout_raw(handler: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);

    type AbortController;
    #[wasm_bindgen(constructor)]
    fn new() -> AbortController;
    #[wasm_bindgen(method, getter)]
    fn signal(this: &AbortController) -> JsValue;
}

/// `setTimeout`, clamped to the largest delay timers accept (larger ones would fire at once).
fn set_timeout(handler: &Function, ms: f64) -> JsValue {
    set_timeout_raw(handler, ms.clamp(0.0, 2_147_483_647.0))
}

/// The validated `deps` of an operation.
pub(crate) struct Deps {
    fetch: Function,
    clock: Function,
    signal: Option<JsValue>,
    timeout_ms: Option<f64>,
    sleep: Option<Function>,
    on_event: Option<Function>,
}

fn aborted() -> Error {
    Error::new(
        ErrorCode::Aborted,
        "The operation was aborted (deps.signal).",
    )
}

impl Deps {
    pub(crate) fn from_js(deps: &JsValue, waiting: bool) -> Result<Deps, Error> {
        if !deps.is_object() {
            return Err(Error::invalid_config(
                "deps must be an object with fetch and clock",
            ));
        }
        let func = |key: &'static str, required: bool| -> Result<Option<Function>, Error> {
            let v = get(deps, key);
            if v.is_undefined() && !required {
                return Ok(None);
            }
            v.dyn_into::<Function>()
                .map(Some)
                .map_err(|_| Error::invalid_config(format!("deps.{key} must be a function")))
        };
        let fetch = func("fetch", true)?
            .ok_or_else(|| Error::invalid_config("deps.fetch must be a function"))?;
        let clock = func("clock", true)?
            .ok_or_else(|| Error::invalid_config("deps.clock must be a function"))?;
        let signal = match get(deps, "signal") {
            s if s.is_undefined() || s.is_null() => None,
            s if method(&s, "addEventListener").is_some()
                && get(&s, "aborted").as_bool().is_some() =>
            {
                Some(s)
            }
            _ => return Err(Error::invalid_config("deps.signal must be an AbortSignal")),
        };
        let timeout_ms = match get(deps, "timeoutMs") {
            t if t.is_undefined() || t.is_null() => None,
            t => match finite_number(&t) {
                Some(ms) if ms > 0.0 => Some(ms),
                _ => {
                    return Err(Error::invalid_config(
                        "deps.timeoutMs must be a positive number of milliseconds",
                    ))
                }
            },
        };
        let (sleep, on_event) = if waiting {
            (func("sleep", false)?, func("onEvent", false)?)
        } else {
            (None, None)
        };
        Ok(Deps {
            fetch,
            clock,
            signal,
            timeout_ms,
            sleep,
            on_event,
        })
    }

    /// One reading of the host's clock, validated.
    pub(crate) fn now(&self) -> Result<f64, Error> {
        read_clock(&self.clock)
    }

    fn check_aborted(&self) -> Result<(), Error> {
        match &self.signal {
            Some(s) if get(s, "aborted").as_bool() == Some(true) => Err(aborted()),
            _ => Ok(()),
        }
    }

    /// Sends one request and reads its reply, bounded by `signal` and `timeoutMs`.
    /// `now` is the operation's clock reading (the base of a `Retry-After` date).
    pub(crate) async fn send(
        &self,
        req: &HttpRequest,
        request: RequestKind,
        now: f64,
    ) -> Result<HttpResponse, Error> {
        self.send_within(req, request, now, None).await
    }

    /// [`Deps::send`], with `default_timeout_ms` bounding the request when the host set no
    /// `timeoutMs` (the waiting loop's polls: see `crate::wait::default_fetch_timeout_ms`).
    pub(crate) async fn send_within(
        &self,
        req: &HttpRequest,
        request: RequestKind,
        now: f64,
        default_timeout_ms: Option<f64>,
    ) -> Result<HttpResponse, Error> {
        self.check_aborted()?;
        let init = super::types::to_js(&super::types::FetchInit::from(req));
        let timeout = match (self.timeout_ms, default_timeout_ms) {
            (Some(ms), _) => Some((ms, "the request timed out (deps.timeoutMs)")),
            (None, Some(ms)) => Some((
                ms,
                "no answer within the waiting loop's default bound (set deps.timeoutMs to choose one)",
            )),
            (None, None) => None,
        };
        let guard = Guard::new(self.signal.as_ref(), timeout);
        if let Some(ctrl) = &guard.controller {
            let _ = Reflect::set(&init, &name("signal"), &ctrl.signal());
        }
        let result = self.exchange(req, request, now, &init, &guard).await;
        guard.release();
        result
    }

    async fn exchange(
        &self,
        req: &HttpRequest,
        request: RequestKind,
        now: f64,
        init: &JsValue,
        guard: &Guard,
    ) -> Result<HttpResponse, Error> {
        let called = self
            .fetch
            .call2(&JsValue::UNDEFINED, &JsValue::from_str(&req.url), init)
            .map_err(|_| network("fetch threw"))?;
        let response = guard
            .race(Promise::resolve(&called), "fetch rejected")
            .await?;
        let not_response =
            || Error::invalid_config("fetch resolved to something that is not a Response");
        let status = finite_number(&get(&response, "status"))
            .filter(|s| s.fract() == 0.0 && (0.0..=65_535.0).contains(s))
            .ok_or_else(not_response)? as u16;
        let headers = get(&response, "headers");
        let header_get = method(&headers, "get").ok_or_else(not_response)?;
        let header = |key: &'static str| -> Result<Option<String>, Error> {
            let v = header_get
                .call1(&headers, &name(key))
                .map_err(|_| not_response())?;
            Ok(v.as_string())
        };
        let content_length = header("content-length")?;
        let retry_after = header("retry-after")?;
        let text = method(&response, "text").ok_or_else(not_response)?;
        let head = HttpResponse {
            status,
            retry_after,
            body: Vec::new(),
            parsed: None,
        };
        let read = read_body_needed(request, status, content_length.as_deref())
            .map_err(|e| head.annotate(e, now))?;
        let body = if read {
            let pending = text
                .call0(&response)
                .map_err(|_| network("reading the response body failed"))?;
            let value = guard
                .race(
                    Promise::resolve(&pending),
                    "reading the response body failed",
                )
                .await?;
            let text = value
                .dyn_into::<js_sys::JsString>()
                .map_err(|_| not_response())?;
            // Refused before anything is copied into the module's memory, which never shrinks:
            // a string of n UTF-16 units has from n to 3n UTF-8 bytes, so only a long one is
            // measured.
            let units = text.length() as usize;
            let oversized = units > crate::http::MAX_BODY_BYTES
                || (units * 3 > crate::http::MAX_BODY_BYTES
                    && String::from(&text).len() > crate::http::MAX_BODY_BYTES);
            if oversized {
                return Err(head.annotate(crate::http::too_large(status), now));
            }
            Some(super::js::read_reply(&text))
        } else {
            None
        };
        Ok(HttpResponse {
            parsed: body,
            ..head
        })
    }

    /// Waits `ms` with the host's sleep (default: a timer), ended early by `signal`.
    pub(crate) async fn sleep(&self, ms: f64) -> Result<(), Error> {
        self.check_aborted()?;
        let guard = Guard::new(self.signal.as_ref(), None);
        let mut timer = None;
        let pending = match &self.sleep {
            Some(sleep) => sleep
                .call1(&JsValue::UNDEFINED, &JsValue::from_f64(ms))
                .map(|p| Promise::resolve(&p))
                .map_err(|_| Error::invalid_config("deps.sleep threw")),
            None => Ok(Promise::new(&mut |resolve, _| {
                timer = Some(set_timeout(&resolve, ms))
            })),
        };
        let result = match pending {
            Ok(p) => guard
                .race(p, "")
                .await
                .map(|_| ())
                .map_err(|e| match e.code {
                    ErrorCode::Aborted => e,
                    _ => Error::invalid_config("deps.sleep rejected"),
                }),
            Err(e) => Err(e),
        };
        if let Some(t) = timer {
            clear_timeout(&t);
        }
        guard.release();
        result
    }

    /// Tells the host's `onEvent` (a throwing handler does not stop the sign-in).
    pub(crate) fn emit(&self, event: &JsValue) {
        if let Some(f) = &self.on_event {
            let _ = f.call1(&JsValue::UNDEFINED, event);
        }
    }
}

pub(crate) fn read_clock(clock: &Function) -> Result<f64, Error> {
    let reading = clock
        .call0(&JsValue::UNDEFINED)
        .ok()
        .and_then(|v| finite_number(&v))
        .unwrap_or(f64::NAN);
    crate::clock::check_reading(reading)
}

fn network(what: &str) -> Error {
    Error::new(
        ErrorCode::NetworkError,
        format!("Network error: {what}. Check the connection and try again."),
    )
}

/// `f.bind(null, arg)`: a plain JS function, so nothing on the Rust side must outlive it.
fn bound(f: &Function, arg: &JsValue) -> Function {
    let b: JsValue = f.bind1(&JsValue::NULL, arg).into();
    b.unchecked_into()
}

/// A promise that rejects with a marker when the signal aborts or the timeout passes, the
/// controller whose signal the fetch gets (aborted when the guard fires), and what is needed to
/// tear it all down again.
struct Guard {
    controller: Option<AbortController>,
    promise: Option<Promise>,
    abort_marker: JsValue,
    timeout_marker: JsValue,
    timeout_what: &'static str,
    timers: Vec<JsValue>,
    listeners: Vec<(JsValue, Function)>,
}

impl Guard {
    fn new(signal: Option<&JsValue>, timeout: Option<(f64, &'static str)>) -> Guard {
        let (timeout_ms, timeout_what) = match timeout {
            Some((ms, what)) => (Some(ms), what),
            None => (None, ""),
        };
        let mut g = Guard {
            controller: None,
            promise: None,
            abort_marker: Object::new().into(),
            timeout_marker: Object::new().into(),
            timeout_what,
            timers: Vec::new(),
            listeners: Vec::new(),
        };
        if signal.is_none() && timeout_ms.is_none() {
            return g;
        }
        let ctrl = AbortController::new();
        let (mut timers, mut listeners) = (Vec::new(), Vec::new());
        let (abort_marker, timeout_marker) = (&g.abort_marker, &g.timeout_marker);
        let promise = Promise::new(&mut |_resolve, reject| {
            if let Some(ms) = timeout_ms {
                timers.push(set_timeout(&bound(&reject, timeout_marker), ms));
            }
            if let Some(s) = signal {
                let handler = bound(&reject, abort_marker);
                if let Some(add) = method(s, "addEventListener") {
                    let _ = add.call2(s, &name("abort"), &handler);
                    listeners.push((s.clone(), handler));
                }
            }
        });
        g.controller = Some(ctrl);
        g.promise = Some(promise);
        g.timers = timers;
        g.listeners = listeners;
        g
    }

    /// Awaits `p` unless the guard fires first; a rejection of `p` is a network error.
    async fn race(&self, p: Promise, what: &str) -> Result<JsValue, Error> {
        let raced = match &self.promise {
            Some(guard) => Promise::race(&Array::of2(&p, guard)),
            None => p,
        };
        exec::wait(raced).await.map_err(|reason| {
            if reason == self.abort_marker {
                self.cancel();
                aborted()
            } else if reason == self.timeout_marker {
                self.cancel();
                network(self.timeout_what)
            } else {
                network(what)
            }
        })
    }

    /// Aborts the signal handed to `fetch`, so the host cancels the request it is still running.
    fn cancel(&self) {
        if let Some(ctrl) = &self.controller {
            if let Some(abort) = method(ctrl, "abort") {
                let _ = abort.call0(ctrl);
            }
        }
    }

    fn release(self) {
        for t in &self.timers {
            clear_timeout(t);
        }
        for (signal, handler) in &self.listeners {
            if let Some(remove) = method(signal, "removeEventListener") {
                let _ = remove.call2(signal, &name("abort"), handler);
            }
        }
    }
}
