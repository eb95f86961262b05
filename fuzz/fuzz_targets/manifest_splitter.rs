//! The splitter of helm's rendered stream (documents, sources, `kind: List` flattening).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nex_harness::robustness::manifest_splitter(data);
});
