#![no_main]
// Invariants: sesame::fuzzing::jwks_document (src/fuzzing/).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame::fuzzing::jwks_document(data));
