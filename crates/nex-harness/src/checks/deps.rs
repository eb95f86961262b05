//! Dependencies that could not be had: said once per chart, naming them, so
//! that nothing downstream (helm lint, renders, schemas, policy) blames the
//! chart's templates for what is missing.

use crate::deps::DepsError;
use crate::diag::Diagnostic;
use crate::load::LoadedChart;

/// `deps/unavailable`: remote dependencies could not be fetched (offline, unknown repository).
pub const RULE_UNAVAILABLE: &str = "deps/unavailable";

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
        .in_file(&loaded.chart.dir.join("Chart.yaml"))
        .hint("run where the chart repositories are reachable, list them in ct.yaml `chart-repos`, or vendor the dependencies into charts/"),
    ]
}
