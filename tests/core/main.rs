#![cfg(not(target_arch = "wasm32"))]
//! The native test suite of the sans-I/O core, at the wire: for each provider kind and each
//! request, the exact request (URL, headers in order, body bytes) and the outcome of every reply
//! that docs/behaviour.md names for either protocol. Time is a plain clock reading passed in (a
//! fake clock); every error path also proves that no secret and no raw body leaks into the error.
//! The crate's insides used here come through its `internals` feature (see src/lib.rs).

mod support;

mod classification;
mod device_authorization;
mod exchange;
mod expiry_and_claims;
mod fuzz_corpus;
mod hostile;
mod model_reply;
mod poll;
mod provider;
mod refresh;
mod revocation;
mod secrets;
mod wait_loop;
