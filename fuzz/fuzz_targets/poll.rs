#![no_main]
//! Fuzz target `poll`: the body lives in ../targets.rs (shared with the native corpus replay).
libfuzzer_sys::fuzz_target!(|data: &[u8]| oauth_device_flow_fuzz::poll(data));
