//! The values validator: `schema \0 values.yaml \0 ci values`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nex_harness::robustness::values_validator(data);
});
