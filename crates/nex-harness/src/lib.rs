//! nex-charts harness: discover charts → load → check → report.
//!
//! The binary (`cargo xtask`) is a thin CLI over these modules; tests and the
//! benchmark use them directly.
//!
//! Modules are layered (base → adapters → load → checks → apps) with no import
//! cycle; `tests/layering.rs` declares each module's layer and enforces both.

pub mod archive;
pub mod base_tree;
pub mod bench;
pub mod cache;
pub mod catalog;
pub mod changed;
pub mod chart_lock;
pub mod checks;
pub mod closed_stdout;
pub mod config;
pub mod constraint;
pub mod ct_cli;
pub mod ct_commands;
pub mod dates;
pub mod deps;
pub mod diag;
pub mod diff;
pub mod docs;
pub mod files;
pub mod fsio;
pub mod helm;
pub mod helmignore;
pub mod helmlint;
pub mod image_contract;
pub mod images;
pub mod kind;
pub mod kube;
pub mod lint;
pub mod lint_cmd;
pub mod lintconf;
pub mod load;
pub mod manifest;
pub mod model;
pub mod paths;
pub mod process;
pub mod provision;
pub mod quantity;
pub mod release;
pub mod render;
pub mod report;
pub mod robustness;
pub mod rule;
pub mod rules_doc;
pub mod runtime;
pub mod scaffold;
pub mod schema;
pub mod settings;
pub mod snapshot;
pub mod stack;
pub mod tools;
pub mod values;
pub mod vendor;
pub mod yamale;
pub mod yaml;

/// Exit codes shared by every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Nothing to report.
    Clean = 0,
    /// The run worked and found errors.
    Findings = 1,
    /// Bad usage, or a tool or configuration the run depends on is unusable.
    Failure = 2,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}

#[cfg(test)]
mod limits {
    /// docs/hardening.md names each bound with its value; both come from here.
    #[test]
    fn limits_in_the_readme_match_the_code() {
        let readme = include_str!("../../../docs/hardening.md");
        let limits: &[(&str, u64)] = &[
            ("files::MAX_FILE_BYTES", crate::files::MAX_FILE_BYTES),
            ("yaml::MAX_EXPANDED_BYTES", crate::yaml::MAX_EXPANDED_BYTES as u64),
            ("yaml::MAX_NODES", crate::yaml::MAX_NODES as u64),
            ("process::MAX_TOOL_MESSAGE_LINES", crate::process::MAX_TOOL_MESSAGE_LINES as u64),
            ("process::MAX_TOOL_MESSAGE_BYTES", crate::process::MAX_TOOL_MESSAGE_BYTES as u64),
            ("lint::MAX_THREADS", crate::lint::MAX_THREADS as u64),
            ("cache::MAX_CACHE_BYTES", crate::cache::MAX_CACHE_BYTES),
            ("cache::MAX_ENTRY_BYTES", crate::cache::MAX_ENTRY_BYTES),
            // Hardening III (issue 24), the bounds half.
            ("report::MAX_SHOWN_PER_RULE_AND_FILE", crate::report::MAX_SHOWN_PER_RULE_AND_FILE as u64),
            ("report::MAX_FRAME_CHARS", crate::report::MAX_FRAME_CHARS as u64),
            ("stack::MAX_VALUES_BYTES", crate::stack::MAX_VALUES_BYTES),
            ("process::MAX_TOOL_OUTPUT_BYTES", crate::process::MAX_TOOL_OUTPUT_BYTES as u64),
            ("images::registry::MAX_BODY_BYTES", crate::images::registry::MAX_BODY_BYTES),
            ("images::registry::CONNECT_TIMEOUT", crate::images::registry::CONNECT_TIMEOUT.as_secs()),
            ("images::registry::READ_TIMEOUT", crate::images::registry::READ_TIMEOUT.as_secs()),
            ("images::registry::REQUEST_TIMEOUT", crate::images::registry::REQUEST_TIMEOUT.as_secs()),
            ("images::registry::RUN_DEADLINE", crate::images::registry::RUN_DEADLINE.as_secs()),
            ("images::registry::MAX_INDEX_ENTRIES", crate::images::registry::MAX_INDEX_ENTRIES as u64),
            ("images::registry::MAX_REDIRECTS", crate::images::registry::MAX_REDIRECTS as u64),
            ("vendor::MAX_FILE_BYTES", crate::vendor::MAX_FILE_BYTES),
            ("vendor::MAX_TOTAL_BYTES", crate::vendor::MAX_TOTAL_BYTES),
        ];
        for &(name, value) in limits {
            let row = format!("| `{name}` | {value} |");
            assert!(readme.contains(&row), "docs/hardening.md lacks the row {row}");
        }
        // Hardening III: the limit of each kind of file read.
        use crate::fsio::limit;
        let reads: &[(&str, u64)] = &[
            ("fsio::limit::CHART_FILE", limit::CHART_FILE),
            ("fsio::limit::SETTINGS_FILE", limit::SETTINGS_FILE),
            ("fsio::limit::INDEX_FILE", limit::INDEX_FILE),
            ("fsio::limit::ARCHIVE", limit::ARCHIVE),
            ("fsio::limit::KUBE_SCHEMA", limit::KUBE_SCHEMA),
            ("fsio::limit::STAMP", limit::STAMP),
            ("fsio::limit::TREE_FILE", limit::TREE_FILE),
        ];
        for (name, value) in reads {
            let row = format!("| `{name}` | {value} |");
            assert!(readme.contains(&row), "docs/hardening.md lacks the row {row}");
        }
        // Every `pub const` of `fsio::limit` has its row: a new bound cannot be left out.
        let source = include_str!("fsio.rs");
        let module = &source[source.find("pub mod limit {").unwrap_or(0)..];
        let module = &module[..module.find("\n}\n").unwrap_or(module.len())];
        for line in module.lines().filter_map(|l| l.trim().strip_prefix("pub const ")) {
            let name = line.split(':').next().unwrap_or_default();
            assert!(
                reads.iter().any(|(n, _)| *n == format!("fsio::limit::{name}")),
                "fsio::limit::{name} is not checked against docs/hardening.md"
            );
        }
    }
}
