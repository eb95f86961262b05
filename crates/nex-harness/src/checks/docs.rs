//! `docs/stale`: a chart's README differs from what `cargo xtask docs` generates,
//! so the docs would tell users something the chart no longer does.

use crate::diag::{Diagnostic, Location};
use crate::docs;
use crate::load::LoadedChart;
use crate::rule::{CATALOG, Rule};
use std::path::Path;

pub const RULE: Rule = Rule::error(
    "docs/stale",
    CATALOG,
    "a chart's `README.md`, or this README's chart table (whole-catalog runs only), differs from what `cargo xtask docs` generates; points at the first changed line, the hint shows the diff",
);
pub const RULES: &[Rule] = &[RULE];
/// A diff longer than this is cut in the hint; `cargo xtask docs --check` prints all of it.
const MAX_DIFF_LINES: usize = 40;

pub fn check(loaded: &LoadedChart) -> Vec<Diagnostic> {
    let file = loaded.chart.dir.join(docs::README);
    let name = &loaded.chart.name;
    // Unreadable or unparsable inputs are other checks' findings, not stale docs.
    let Ok(sources) = &loaded.docs.sources else { return Vec::new() };
    let Ok(want) = docs::chart_readme(sources, loaded.docs.readme.as_deref()) else { return Vec::new() };
    match &loaded.docs.readme {
        // A chart without a README is not judged here: test fixtures and half-made
        // charts have none. `docs --check` reports it, and `cargo test` runs that
        // over the catalog, so a catalog chart cannot ship without one.
        None => Vec::new(),
        Some(have) => compare(
            name,
            &file,
            have,
            &want,
            "README.md is stale: it differs from what Chart.yaml, the values schema and values.yaml generate",
        )
        .into_iter()
        .collect(),
    }
}

/// The catalog table of the top-level README `file`, as it is and as it should be
/// (from [`docs::catalog_readme`]); a catalog-wide finding. Lint runs it only over
/// the whole catalog: a table of some of the charts would look stale.
pub fn catalog(file: &Path, readme: Option<(String, String)>) -> Vec<Diagnostic> {
    let Some((have, want)) = readme else { return Vec::new() };
    compare(
        "",
        file,
        &have,
        &want,
        "README.md's catalog table is stale: it differs from the charts' Chart.yaml",
    )
    .into_iter()
    .collect()
}

/// A stale-README finding when `have` is not `want`, at the first differing line, with the diff.
fn compare(chart: &str, file: &Path, have: &str, want: &str, message: &str) -> Option<Diagnostic> {
    if have == want {
        return None;
    }
    let diff = docs::unified_diff(file, have, want);
    let mut lines: Vec<&str> = diff.lines().collect();
    let cut = lines.len().saturating_sub(MAX_DIFF_LINES);
    lines.truncate(MAX_DIFF_LINES);
    let mut shown = lines.join("\n");
    if cut > 0 {
        shown.push_str(&format!("\n… {cut} more lines (`cargo xtask docs --check` shows them all)"));
    }
    let line = docs::first_changed_line(have, want);
    Some(
        Diagnostic::error(RULE, chart, message)
            .at(Location::at(file, line, 1))
            .hint(format!("run `cargo xtask docs`; the difference:\n{shown}")),
    )
}
