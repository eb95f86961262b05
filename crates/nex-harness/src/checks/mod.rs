//! Checks: pure functions from a loaded chart to diagnostics.
//!
//! Adding a check means writing `fn(&LoadedChart) -> Vec<Diagnostic>` in its own
//! module and listing it in [`ALL`]; the pipeline runs every listed check.

use crate::diag::Diagnostic;
use crate::load::LoadedChart;

pub mod chart_yaml;
pub mod contract;
pub mod docs;
pub mod helm_lint;
pub mod kube_schema;
pub mod objects;
pub mod policy;
pub mod pss;
pub mod render;
pub mod sources;
pub mod upgrade;
pub mod value_names;
pub mod values_schema;
pub mod yaml_hygiene;

pub type Check = fn(&LoadedChart) -> Vec<Diagnostic>;

/// Every check, with the name it is known by.
pub const ALL: &[(&str, Check)] = &[
    ("helm-lint", helm_lint::check),
    ("sources", sources::check),
    ("chart-yaml", chart_yaml::check),
    ("values-schema", values_schema::check),
    ("value-names", value_names::check),
    ("contract", contract::check),
    ("yaml-hygiene", yaml_hygiene::check),
    ("render", render::check),
    ("kube-schema", kube_schema::check),
    // Pod Security "restricted" and the catalog's rules, with the chart's exceptions.
    ("policy", policy::check),
    ("docs", docs::check),
    // Breaking changes for users of the target branch's version (`lint --changed`).
    ("upgrade", upgrade::check),
];

/// `harness/panic`: a check crashed on this chart (a bug in the harness, reported
/// as a finding so the other checks and charts still run).
pub const RULE_PANIC: &str = "harness/panic";

pub fn run_all(chart: &LoadedChart) -> Vec<Diagnostic> {
    ALL.iter()
        .flat_map(|(name, check)| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(chart))).unwrap_or_else(|_| {
                vec![Diagnostic::error(
                    RULE_PANIC,
                    &chart.chart.name,
                    format!("the {name} check crashed on this chart (a harness bug; please report it)"),
                )]
            })
        })
        .collect()
}

/// Every rule id `cargo xtask lint` reports (each documented in README.md).
pub const RULES: &[&str] = &[
    helm_lint::RULE,
    contract::RULE,
    chart_yaml::RULE_SCHEMA,
    chart_yaml::RULE_NAME,
    chart_yaml::RULE_VERSION,
    chart_yaml::RULE_APP_VERSION,
    chart_yaml::RULE_KUBE_VERSION,
    chart_yaml::RULE_CHANGES,
    chart_yaml::RULE_IMAGES,
    chart_yaml::RULE_LICENSE,
    chart_yaml::RULE_DEPENDENCY,
    chart_yaml::RULE_INCREMENT,
    crate::catalog::RULE_MISSING,
    render::DUPLICATE,
    crate::catalog::RULE_SYMLINK_LOOP,
    values_schema::RULE_VALUES,
    values_schema::RULE_MISSING,
    crate::schema::RULE_CAMEL,
    crate::schema::RULE_INVALID,
    crate::schema::RULE_REF,
    crate::schema::RULE_ADDITIONAL,
    crate::schema::RULE_DESCRIPTION,
    sources::RULE_NOT_JSON,
    sources::RULE_SYNTAX,
    sources::RULE_DUPLICATE,
    sources::RULE_EMPTY,
    sources::RULE_ENCODING,
    sources::RULE_TOO_LARGE,
    sources::RULE_READ,
    sources::RULE_CI_NAME,
    sources::RULE_NOT_REGULAR,
    sources::RULE_OUTSIDE_LINK,
    yaml_hygiene::RULE_TABS,
    yaml_hygiene::RULE_TRAILING,
    yaml_hygiene::RULE_FINAL_NEWLINE,
    yaml_hygiene::RULE_NEW_LINES,
    yaml_hygiene::RULE_EMPTY_LINES,
    yaml_hygiene::RULE_INDENTATION,
    yaml_hygiene::RULE_COMMENTS,
    yaml_hygiene::RULE_COLONS,
    yaml_hygiene::RULE_COMMAS,
    yaml_hygiene::RULE_TRUTHY,
    yaml_hygiene::RULE_BRACES,
    yaml_hygiene::RULE_BRACKETS,
    yaml_hygiene::RULE_HYPHENS,
    yaml_hygiene::RULE_LINE_LENGTH,
    crate::lintconf::RULE,
    crate::config::RULE_UNKNOWN_KEY,
    crate::config::RULE_CONFLICT,
    RULE_PANIC,
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_rule_is_documented_in_the_readme_and_well_formed() {
        let readme = include_str!("../../../../README.md");
        for rule in super::RULES {
            assert!(readme.contains(&format!("| `{rule}` |")), "README.md does not document {rule}");
            let (area, name) = rule.split_once('/').unwrap();
            let ok = |s: &str| {
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            };
            assert!(ok(area) && ok(name), "{rule}");
        }
    }
}
