#![no_main]
// Invariants: sesame::fuzzing::logout_cookie (src/fuzzing/).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame::fuzzing::logout_cookie(data));
