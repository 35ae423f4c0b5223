//! Async operations stepped by the host side, so that a trap can never strand a promise.
//!
//! An async export only creates an operation (a boxed future) and returns its id. The drop-in
//! (js/oauthDeviceFlow.ts) then calls [`op_step`] in a `try`: the future runs until it waits on a
//! JS promise, which `op_step` hands back; when that promise settles, the drop-in calls
//! `op_step` again with its outcome. So every entry into the module comes from the drop-in's own
//! code, inside its `try`, and nothing in the module ever runs from a microtask or a promise
//! callback of its own. A trap (out of memory, `unreachable`) thus surfaces as an exception the
//! drop-in catches: it rejects the pending calls with a typed error and has the module
//! re-instantiated (see [`schedule_reinit`]). With wasm-bindgen's own executor, a trap inside
//! its microtask escaped as an uncaught exception and the call's promise never settled.

use js_sys::{Array, Promise};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use wasm_bindgen::prelude::*;

type OpFuture = Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

/// Where a waiting future and the driver meet.
enum Slot {
    Empty,
    /// The future waits on this promise (not yet handed to the driver).
    Awaiting(Promise),
    /// Handed to the driver; its outcome comes with the next step.
    Waiting,
    Settled(Result<JsValue, JsValue>),
}

struct Op {
    id: u32,
    future: OpFuture,
    slot: Rc<RefCell<Slot>>,
}

thread_local! {
    static OPS: RefCell<Vec<Op>> = const { RefCell::new(Vec::new()) };
    static NEXT_ID: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
    /// The slot of the operation being stepped (saved and restored around a nested step).
    static CURRENT: RefCell<Option<Rc<RefCell<Slot>>>> = const { RefCell::new(None) };
}

/// Registers an operation; the driver steps it with [`op_step`].
pub(crate) fn start(future: OpFuture) -> u32 {
    let id = NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id.checked_add(1).unwrap_or(1));
        id
    });
    OPS.with(|ops| {
        ops.borrow_mut().push(Op {
            id,
            future,
            slot: Rc::new(RefCell::new(Slot::Empty)),
        })
    });
    id
}

/// Waits on a JS promise inside an operation: `Ok` with its value, `Err` with its reason.
pub(crate) fn wait(promise: Promise) -> Wait {
    Wait {
        promise: Some(promise),
        slot: None,
    }
}

pub(crate) struct Wait {
    promise: Option<Promise>,
    slot: Option<Rc<RefCell<Slot>>>,
}

impl Future for Wait {
    type Output = Result<JsValue, JsValue>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(slot) = &self.slot {
            let mut slot = slot.borrow_mut();
            return match std::mem::replace(&mut *slot, Slot::Empty) {
                Slot::Settled(outcome) => Poll::Ready(outcome),
                other => {
                    *slot = other;
                    Poll::Pending
                }
            };
        }
        let Some(slot) = CURRENT.with(|c| c.borrow().clone()) else {
            return Poll::Ready(Err(JsValue::from_str("internal: no operation is running")));
        };
        if let Some(p) = self.promise.take() {
            *slot.borrow_mut() = Slot::Awaiting(p);
        }
        self.slot = Some(slot);
        Poll::Pending
    }
}

struct NoWake;

impl Wake for NoWake {
    fn wake(self: Arc<Self>) {}
}

/// One step of operation `id`. `ok`/`value`: how the promise the last step handed out settled
/// (ignored on the first step). Answers `[0, promise]` (waiting: step again when it settles),
/// `[1, value]` (resolved) or `[2, error]` (rejected); an unknown id is rejected.
#[wasm_bindgen(typescript_custom_section)]
const OP_STEP_TS: &'static str = r#"
/** One step of an operation: waiting on a promise, resolved with a value, or rejected. */
export type OpStep = [0, Promise<unknown>] | [1, unknown] | [2, unknown];
"#;

#[wasm_bindgen(js_name = opStep, unchecked_return_type = "OpStep")]
pub fn op_step(id: u32, ok: bool, value: JsValue) -> Array {
    let taken = OPS.with(|ops| {
        let mut ops = ops.borrow_mut();
        let at = ops.iter().position(|op| op.id == id)?;
        Some(ops.swap_remove(at))
    });
    let Some(mut op) = taken else {
        return Array::of2(
            &JsValue::from_f64(2.0),
            &super::js::error_value(&crate::error::Error::invalid_config("internal: unknown operation")),
        );
    };
    {
        let mut slot = op.slot.borrow_mut();
        if matches!(*slot, Slot::Waiting) {
            *slot = Slot::Settled(if ok { Ok(value) } else { Err(value) });
        }
    }
    let previous = CURRENT.with(|c| c.replace(Some(op.slot.clone())));
    let waker = Waker::from(Arc::new(NoWake));
    let polled = op.future.as_mut().poll(&mut Context::from_waker(&waker));
    CURRENT.with(|c| *c.borrow_mut() = previous);
    let (state, out) = match polled {
        Poll::Ready(Ok(v)) => (1.0, v),
        Poll::Ready(Err(e)) => (2.0, e),
        Poll::Pending => {
            let handed = match std::mem::replace(&mut *op.slot.borrow_mut(), Slot::Waiting) {
                Slot::Awaiting(p) => Some(p),
                _ => None,
            };
            match handed {
                Some(p) => {
                    OPS.with(|ops| ops.borrow_mut().push(op));
                    (0.0, p.into())
                }
                None => (
                    2.0,
                    super::js::error_value(&crate::error::Error::invalid_config(
                        "internal: an operation waited on nothing",
                    )),
                ),
            }
        }
    };
    Array::of2(&JsValue::from_f64(state), &out)
}

/// Operations not yet finished (for the tests: none may be left behind).
#[wasm_bindgen(js_name = opCount)]
pub fn op_count() -> u32 {
    OPS.with(|ops| ops.borrow().len() as u32)
}

/// Called by the drop-in after a trap: the next call into the module (any export) runs on a
/// fresh instance. A trap leaves the instance's state (allocator, stack pointer, borrowed
/// cells) undefined, so it is never used again.
#[wasm_bindgen(js_name = scheduleReinit)]
pub fn schedule_reinit() {
    wasm_bindgen::handler::schedule_reinit();
}
