#![no_main]
// Invariants: sesame::fuzzing::directive_value (src/fuzzing/).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame::fuzzing::directive_value(data));
