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
    let Err(DepsError::Unavailable { missing, reason, remembered }) = &loaded.dependencies else {
        return Vec::new();
    };
    let minutes = crate::deps::UNAVAILABLE_FOR.as_secs() / 60;
    let when = match remembered {
        Some(at) => format!(
            "; this failure (at {} UTC) is remembered for {minutes} minutes: set {}=1 to try again now",
            crate::dates::minute(*at),
            crate::deps::RECHECK
        ),
        None => format!("; remembered for {minutes} minutes ({}=1 tries again sooner)", crate::deps::RECHECK),
    };
    vec![
        Diagnostic::warning(
            RULE_UNAVAILABLE,
            &loaded.chart.name,
            format!(
                "dependencies could not be fetched, so the chart was not rendered or linted by helm: {} ({reason}){when}",
                missing.join(", ")
            ),
        )
        .at(place(loaded))
        .hint("run where the chart repositories are reachable, list them in ct.yaml `chart-repos`, or vendor the dependencies into charts/"),
    ]
}

/// At `dependencies:` in Chart.yaml, or, for a Chart API v1 chart, at its first
/// dependency in requirements.yaml.
fn place(loaded: &LoadedChart) -> crate::diag::Location {
    let root = loaded.files.chart_yaml.content.as_ref().ok().and_then(|f| f.root());
    match (root.and_then(|r| r.entry("dependencies")), loaded.meta.dependencies.first()) {
        (Some(e), _) => crate::diag::Location::at(
            &loaded.meta.path,
            e.key_span.start.line.max(1),
            e.key_span.start.column.max(1),
        ),
        (None, Some(d)) => crate::diag::Location::at(
            loaded.chart.dir.join("requirements.yaml"),
            d.pos.line.max(1),
            d.pos.column.max(1),
        ),
        (None, None) => crate::diag::Location::file(&loaded.meta.path),
    }
}
