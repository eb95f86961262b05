//! Checks: pure functions from a loaded chart to diagnostics.
//!
//! Adding a check means writing `fn(&LoadedChart) -> Vec<Diagnostic>` in its own
//! module and listing it in [`ALL`]; the pipeline runs every listed check.

use crate::diag::Diagnostic;
use crate::load::LoadedChart;

pub mod chart_yaml;
pub mod docs;
pub mod helm_lint;
pub mod kube_schema;
pub mod objects;
pub mod policy;
pub mod pss;
pub mod render;
pub mod sources;
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
    ("yaml-hygiene", yaml_hygiene::check),
    ("render", render::check),
    ("kube-schema", kube_schema::check),
    // Pod Security "restricted" and the catalog's rules, with the chart's exceptions.
    ("policy", policy::check),
    ("docs", docs::check),
];

pub fn run_all(chart: &LoadedChart) -> Vec<Diagnostic> {
    ALL.iter().flat_map(|(_, check)| check(chart)).collect()
}
