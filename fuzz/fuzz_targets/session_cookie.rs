#![no_main]
// Invariants: sesame::fuzzing::session_cookie (src/fuzzing/).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame::fuzzing::session_cookie(data));
