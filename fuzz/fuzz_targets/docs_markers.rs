//! Docs marker handling: `README \0 generated text` (neutralising, finding the
//! one marker pair, splicing the catalog table, the manual section's round trip).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nex_harness::robustness::docs_markers(data);
});
