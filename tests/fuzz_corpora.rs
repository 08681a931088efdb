//! Replays every committed fuzz corpus file (`fuzz/corpus/<target>/`) through the invariant
//! function its fuzz target calls (`sesame::fuzzing`), on stable: what a fuzzing run found or
//! covered stays checked by `cargo test`. Fuzzing itself: README, "Fuzzing".

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

fn corpus_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")
}

#[test]
fn every_corpus_file_keeps_its_target_invariants() {
    let mut failures = Vec::new();
    let mut replayed = 0usize;
    for (target, check) in sesame::fuzzing::TARGETS {
        let folder = corpus_root().join(target);
        let entries = match std::fs::read_dir(&folder) {
            Ok(e) => e,
            Err(e) => panic!("{}: {e} (every fuzz target has a corpus)", folder.display()),
        };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        assert!(!files.is_empty(), "{}: empty corpus", folder.display());
        let started = std::time::Instant::now();
        let count = files.len();
        for file in files {
            let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
                failures.push(format!("{target}: {}", file.display()));
            }
            replayed += 1;
        }
        // What a fuzzing run's speed starts from (the fuzz build adds ASan and coverage).
        let per_input = started.elapsed().as_secs_f64() * 1e6 / count as f64;
        println!("{target}: {count} files, {per_input:.0} µs each");
    }
    assert!(
        failures.is_empty(),
        "{} of {replayed} corpus files break an invariant (the panic message of each is above):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn every_fuzz_target_has_its_file_and_its_corpus() {
    let targets = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    let mut on_disk: Vec<String> = std::fs::read_dir(&targets)
        .unwrap_or_else(|e| panic!("{}: {e}", targets.display()))
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = sesame::fuzzing::TARGETS
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "fuzz/fuzz_targets/ and sesame::fuzzing::TARGETS differ"
    );
}
