//! Replays every committed seed of the fuzz corpus (`fuzz/corpus/<target>/*`) through the very
//! target bodies the fuzzer runs (`fuzz/targets.rs`, included here), so CI proves the seeds,
//! and every crash once found and added to them, keep passing with stable Rust and no
//! `cargo fuzz`. A target panics when an invariant breaks, which fails the test.

#[path = "../../fuzz/targets.rs"]
#[allow(dead_code)]
mod targets;

use std::path::PathBuf;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 8] = [
    ("device_authorization", targets::device_authorization),
    ("poll", targets::poll),
    ("token_exchange", targets::token_exchange),
    ("refresh", targets::refresh),
    ("error_body", targets::error_body),
    ("jwt_claims", targets::jwt_claims),
    ("numbers", targets::numbers),
    ("retry_after", targets::retry_after),
];

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_fuzz_target_has_a_seed_corpus_and_a_fuzz_binary() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, _) in TARGETS {
        assert!(
            corpus_files(name).len() >= 5,
            "fuzz/corpus/{name} needs at least 5 seeds"
        );
        let bin = root.join("fuzz_targets").join(format!("{name}.rs"));
        let source = std::fs::read_to_string(&bin).unwrap_or_default();
        assert!(
            source.contains(&format!("oauth_device_flow_fuzz::{name}(data)")),
            "{} must call targets::{name}",
            bin.display()
        );
    }
}

#[test]
fn every_seed_of_every_fuzz_target_keeps_the_invariants() {
    let mut replayed = 0;
    let mut failures = Vec::new();
    for (name, target) in TARGETS {
        for file in corpus_files(name) {
            let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            if std::panic::catch_unwind(|| target(&data)).is_err() {
                failures.push(format!("{name}: {}", file.display()));
            }
            replayed += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "invariants broken by:\n{}",
        failures.join("\n")
    );
    assert!(replayed >= 80, "only {replayed} seeds replayed");
}

#[test]
fn the_reply_input_format_reads_status_provider_and_retry_after() {
    let i = targets::Input::parse(b"503 post Wed, 21 Oct 2015 07:28:00 GMT\n{\"a\":1}\n");
    assert_eq!(i.status, 503);
    assert_eq!(i.variant, targets::Variant::RfcPost);
    assert_eq!(
        i.retry_after.as_deref(),
        Some("Wed, 21 Oct 2015 07:28:00 GMT")
    );
    assert_eq!(i.body, b"{\"a\":1}\n");
    let bare = targets::Input::parse(b"{\"access_token\":\"x\"}");
    assert_eq!((bare.status, bare.variant), (200, targets::Variant::Codex));
    assert_eq!(bare.retry_after, None);
    let garbled = targets::Input::parse(b"\xff 70000\n");
    assert_eq!((garbled.status, garbled.body.len()), (200, 0));
    assert_eq!(targets::Input::parse(b"70000\n").status, 65535);
}
