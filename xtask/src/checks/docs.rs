//! `docs/stale`: a chart's README differs from what `cargo xtask docs` generates
//! (or is missing), so the docs would tell users something the chart no longer does.

use crate::diag::{Diagnostic, Location};
use crate::docs;
use crate::load::LoadedChart;

pub const RULE: &str = "docs/stale";
/// A diff longer than this is cut in the hint; `cargo xtask docs --check` prints all of it.
const MAX_DIFF_LINES: usize = 40;

pub fn check(loaded: &LoadedChart) -> Vec<Diagnostic> {
    // Unreadable or unparsable inputs are other checks' findings, not stale docs.
    let Ok(sources) = &loaded.docs.sources else { return Vec::new() };
    let Ok(want) = docs::chart_readme(sources, loaded.docs.readme.as_deref()) else { return Vec::new() };
    let file = loaded.chart.dir.join(docs::README);
    let name = &loaded.chart.name;
    match &loaded.docs.readme {
        None => vec![
            Diagnostic::error(RULE, name, "README.md is missing")
                .in_file(&file)
                .hint("run `cargo xtask docs` to generate it"),
        ],
        Some(have) if *have != want => {
            let diff = docs::unified_diff(&file, have, &want);
            let mut lines: Vec<&str> = diff.lines().collect();
            let cut = lines.len().saturating_sub(MAX_DIFF_LINES);
            lines.truncate(MAX_DIFF_LINES);
            let mut shown = lines.join("\n");
            if cut > 0 {
                shown.push_str(&format!("\n… {cut} more lines (`cargo xtask docs --check` shows them all)"));
            }
            let line = docs::first_changed_line(have, &want);
            vec![
                Diagnostic::error(
                    RULE,
                    name,
                    "README.md is stale: it differs from what Chart.yaml, the values schema and values.yaml generate",
                )
                .at(Location::at(&file, line, 1))
                .hint(format!("run `cargo xtask docs`; the difference:\n{shown}")),
            ]
        }
        Some(_) => Vec::new(),
    }
}
