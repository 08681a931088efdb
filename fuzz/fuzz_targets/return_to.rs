#![no_main]
// Invariants: sesame::fuzzing::return_to (src/fuzzing/).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame::fuzzing::return_to(data));
