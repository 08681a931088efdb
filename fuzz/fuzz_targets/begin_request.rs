#![no_main]
// Invariants: sesame::fuzzing::begin_request (src/fuzzing/).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame::fuzzing::begin_request(data));
