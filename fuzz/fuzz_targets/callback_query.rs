#![no_main]
// Invariants: sesame::fuzzing::callback_query (src/fuzzing/).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame::fuzzing::callback_query(data));
