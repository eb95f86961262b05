//! Dependencies that could not be had: said once per chart, naming them, so
//! that nothing downstream (helm lint, renders, schemas, policy) blames the
//! chart's templates for what is missing.

use crate::deps::DepsError;
use crate::diag::Diagnostic;
use crate::load::LoadedChart;
use crate::rule::{EVERY, Rule};

/// Remote dependencies could not be fetched (offline, unknown repository).
pub const RULE_UNAVAILABLE: Rule = Rule::warning(
    "deps/unavailable",
    EVERY,
    "a chart's remote dependencies could not be fetched (offline, unknown repository): said once, naming them, and the chart is not rendered, so no finding blames its templates",
);
pub const RULES: &[Rule] = &[RULE_UNAVAILABLE];

pub fn check(loaded: &LoadedChart) -> Vec<Diagnostic> {
    let Err(DepsError::Unavailable { missing, reason }) = &loaded.dependencies else {
        return Vec::new();
    };
    vec![
        Diagnostic::warning(
            RULE_UNAVAILABLE,
            &loaded.chart.name,
            format!(
                "dependencies could not be fetched, so the chart was not rendered or linted by helm: {} ({reason})",
                missing.join(", ")
            ),
        )
        .in_file(&loaded.meta.path)
        .hint("run where the chart repositories are reachable, list them in ct.yaml `chart-repos`, or vendor the dependencies into charts/"),
    ]
}
