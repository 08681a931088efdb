#![no_main]
// Invariants: sesame::fuzzing::login_cookie (src/fuzzing/).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame::fuzzing::login_cookie(data));
