#![no_main]
// Invariants: sesame::fuzzing::jwe_token (src/fuzzing/).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame::fuzzing::jwe_token(data));
