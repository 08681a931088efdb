#![no_main]
// Invariants: sesame::fuzzing::id_token (src/fuzzing/).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame::fuzzing::id_token(data));
