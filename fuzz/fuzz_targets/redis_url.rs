#![no_main]
// Invariants: sesame::fuzzing::redis_url (src/fuzzing/).
libfuzzer_sys::fuzz_target!(|data: &[u8]| sesame::fuzzing::redis_url(data));
