//! The positioned YAML loader (and the hygiene rules over the same text).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nex_harness::robustness::yaml_loader(data);
});
