#![no_main]
// Invariants: sesame::fuzzing::discovery_document (src/fuzzing/).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame::fuzzing::discovery_document(data));
