#![no_main]
// Invariants: sesame::fuzzing::claims_to_variables (src/fuzzing/).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame::fuzzing::claims_to_variables(data));
