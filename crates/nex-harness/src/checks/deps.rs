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
            utc(*at),
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

/// `YYYY-MM-DD HH:MM` of seconds since the epoch, in UTC (days to civil date, after Howard Hinnant).
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (hh, mm) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00");
        assert_eq!(super::utc(1_700_000_000), "2023-11-14 22:13");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00");
    }
}
