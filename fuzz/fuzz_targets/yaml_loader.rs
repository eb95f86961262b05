//! The positioned YAML loader (and the hygiene rules over the same text).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    xtask::robustness::yaml_loader(data);
});
