//! The chart's files themselves: readable, UTF-8, not too large, not empty,
//! valid YAML without duplicate keys, a schema that is JSON, no symlink
//! loops, and no ci file that ct would silently skip.

use crate::diag::{Diagnostic, Location};
use crate::files::{FileError, YamlFile};
use crate::load::{LoadedChart, Source};
use crate::rule::{CATALOG, EVERY, Rule};
use std::path::Path;

pub const RULE_TOO_LARGE: Rule = Rule::error("file/too-large", EVERY, "a chart file is over 1 MiB");
pub const RULE_ENCODING: Rule =
    Rule::error("file/encoding", EVERY, "a file is not UTF-8 (placed at the first bad byte)");
pub const RULE_EMPTY: Rule =
    Rule::error("file/empty", EVERY, "Chart.yaml, a ci file or values.schema.json holds nothing");
pub const RULE_READ: Rule = Rule::error("file/read", EVERY, "a file cannot be read");
pub const RULE_SYNTAX: Rule =
    Rule::error("yaml/syntax", EVERY, "YAML syntax error (line and column of the parser's stop)");
pub const RULE_DUPLICATE: Rule =
    Rule::error("yaml/duplicate-key", EVERY, "a key repeats in one mapping (parsers disagree on which wins)");
pub const RULE_NOT_JSON: Rule = Rule::error("schema/not-json", EVERY, "values.schema.json is not JSON");
pub const RULE_CI_NAME: Rule = Rule::warning(
    "ct/values-file-name",
    EVERY,
    "a values file under `ci/` that ct skips (named `*values*.yaml`/`.yml` but not `*-values.yaml`); scripts and other files there are left alone",
);
pub const RULE_NOT_REGULAR: Rule = Rule::error(
    "file/not-regular",
    EVERY,
    "a chart file that is not a regular file (a FIFO, device or socket, or a link to one): it is not read and the chart is not given to helm",
);
// A house rule: other repositories link a shared LICENSE into each chart on
// purpose; the cache fingerprints link targets whatever the profile.
pub const RULE_OUTSIDE_LINK: Rule = Rule::error(
    "file/outside-link",
    CATALOG,
    "a symbolic link in a chart that leads outside the chart folder (what it points at is not the chart's to ship)",
);
// Objective, so in every profile: `helm package` follows such a link and
// publishes what it points at (the packaging job's environment, a key), and
// helm reads it when rendering; no repository ships that on purpose.
pub const RULE_LEAVES_REPO: Rule = Rule::error(
    "file/link-leaves-repo",
    EVERY,
    "a symbolic link in a chart that leads outside the repository (helm would package and render what it points at, such as /proc/self/environ); the chart is not given to helm",
);
pub const RULES: &[Rule] = &[
    RULE_NOT_REGULAR,
    RULE_LEAVES_REPO,
    RULE_OUTSIDE_LINK,
    RULE_TOO_LARGE,
    RULE_ENCODING,
    RULE_EMPTY,
    RULE_READ,
    RULE_SYNTAX,
    RULE_DUPLICATE,
    RULE_NOT_JSON,
    RULE_CI_NAME,
];

pub fn check(loaded: &LoadedChart) -> Vec<Diagnostic> {
    let chart = loaded.chart.name.as_str();
    let files = &loaded.files;
    let mut out = Vec::new();
    match &files.chart_yaml.content {
        Err(FileError::Missing) => out.push(
            Diagnostic::error(crate::catalog::RULE_MISSING, chart, "the chart has no Chart.yaml")
                .in_file(&files.chart_yaml.path),
        ),
        _ => yaml_source(&mut out, chart, &files.chart_yaml, true),
    }
    if let Some(values) = &files.values {
        yaml_source(&mut out, chart, values, false);
    }
    // An empty ci file is how ct users lint the defaults once more: allowed.
    for (_, ci) in &files.ci {
        yaml_source(&mut out, chart, ci, false);
        if ci.path.file_name().is_some_and(|n| n.to_string_lossy().contains(',')) {
            out.push(
                Diagnostic::error(
                    RULE_CI_NAME,
                    chart,
                    "helm splits `--values` at commas, so it would read this file as two; the scenario is not rendered",
                )
                .in_file(&ci.path)
                .hint("rename it without a comma"),
            );
        }
    }
    if let Some(schema) = &files.values_schema {
        match &schema.content {
            Err(e) => out.push(file_error(chart, &schema.path, e)),
            Ok(json) => {
                if let Err(e) = &json.value {
                    let d = if json.blank {
                        Diagnostic::error(RULE_EMPTY, chart, "values.schema.json is empty")
                            .in_file(&schema.path)
                    } else {
                        Diagnostic::error(
                            RULE_NOT_JSON,
                            chart,
                            format!("values.schema.json is not JSON: {}", e.message),
                        )
                        .at(Location::at(&schema.path, e.line, e.column))
                    };
                    out.push(d);
                }
            }
        }
    }
    for (path, kind) in &files.scan.special {
        // values and schema files name themselves through their read error already.
        if !is_read_source(files, path) {
            out.push(
                Diagnostic::error(
                    RULE_NOT_REGULAR,
                    chart,
                    format!("{kind}, not a regular file: helm would block on it or read it forever, so the chart is not rendered"),
                )
                .in_file(path),
            );
        }
    }
    for (link, target) in &files.scan.leaving_repo {
        // Chart.yaml, values, ci and schema files name themselves through their read error already.
        if !is_read_source(files, link) {
            out.push(leaves_repo(chart, link, target));
        }
    }
    for (link, target) in &files.scan.outside_links {
        out.push(
            Diagnostic::error(
                RULE_OUTSIDE_LINK,
                chart,
                format!("symbolic link to {}, outside the chart folder", target.display()),
            )
            .in_file(link)
            .hint("a packaged chart holds a copy, not the link; keep the file inside the chart"),
        );
    }
    for path in &files.symlink_loops {
        out.push(crate::catalog::symlink_loop_diagnostic(chart, path));
    }
    for path in files.ci_ignored.iter().filter(|p| meant_as_values(p)) {
        out.push(
            Diagnostic::warning(
                RULE_CI_NAME,
                chart,
                "this looks like a values file, but ct reads only ci/*-values.yaml: no scenario lints it",
            )
            .at(Location::at(path, 1, 1))
            .hint("rename it to <scenario>-values.yaml, or move it out of ci/"),
        );
    }
    out
}

/// A file under `ci/` that ct skips but that was meant as values: YAML named for
/// values (`values-tls.yaml`, `tls_values.yml`, `tls-values.yml`). Scripts and other
/// files there (`lint.sh`, `extra_args`, `kind-config.yaml`) are none of ct's business.
fn meant_as_values(path: &Path) -> bool {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().to_lowercase()) else { return false };
    let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
    yaml && name.contains("values")
}

/// Whether `path` is a file whose read error is reported on its own (Chart.yaml, values, ci, schema).
fn is_read_source(files: &crate::load::ChartFiles, path: &Path) -> bool {
    std::iter::once(&files.chart_yaml.path)
        .chain(files.values.iter().map(|v| &v.path))
        .chain(files.ci.iter().map(|(_, c)| &c.path))
        .chain(files.values_schema.iter().map(|v| &v.path))
        .any(|p| p == path)
}

fn leaves_repo(chart: &str, link: &Path, target: &Path) -> Diagnostic {
    Diagnostic::error(
        RULE_LEAVES_REPO,
        chart,
        format!(
            "symbolic link to {}, outside the repository: helm would package and render it, so the chart is not given to helm",
            target.display()
        ),
    )
    .in_file(link)
    .hint("remove the link; a chart ships only files of its own")
}

fn file_error(chart: &str, path: &Path, e: &FileError) -> Diagnostic {
    match e {
        FileError::LeavesRepo(target) => leaves_repo(chart, path, target),
        FileError::NotRegular(_) => Diagnostic::error(RULE_NOT_REGULAR, chart, e.to_string()).in_file(path),
        FileError::TooLarge { .. } => Diagnostic::error(RULE_TOO_LARGE, chart, e.to_string()).in_file(path),
        FileError::NotUtf8 { line, column } => {
            Diagnostic::error(RULE_ENCODING, chart, "file is not UTF-8 text")
                .at(Location::at(path, *line, *column))
        }
        FileError::Missing | FileError::Io(_) => {
            Diagnostic::error(RULE_READ, chart, e.to_string()).in_file(path)
        }
    }
}

/// Read errors, emptiness, syntax and duplicate keys of one YAML file.
/// `must_hold_data`: an empty Chart.yaml or ci file is an error; an empty
/// values.yaml is legal (no defaults).
fn yaml_source(out: &mut Vec<Diagnostic>, chart: &str, source: &Source<YamlFile>, must_hold_data: bool) {
    let file = match &source.content {
        Ok(f) => f,
        Err(e) => return out.push(file_error(chart, &source.path, e)),
    };
    match &file.parsed {
        Err(e) => out.push(
            Diagnostic::error(RULE_SYNTAX, chart, format!("YAML syntax error: {}", e.message))
                .at(Location::at(&file.path, e.line, e.column)),
        ),
        Ok(y) => {
            if must_hold_data && y.docs.iter().all(|d| matches!(d.value, crate::yaml::Value::Null)) {
                out.push(Diagnostic::error(RULE_EMPTY, chart, "file holds no YAML data").in_file(&file.path));
            }
            for d in &y.duplicates {
                out.push(
                    Diagnostic::error(
                        RULE_DUPLICATE,
                        chart,
                        format!("key `{}` repeats the one on line {}", d.key, d.first.start.line),
                    )
                    .at(Location::at(&file.path, d.second.start.line, d.second.start.column))
                    .hint("parsers disagree on which copy wins; keep one"),
                );
            }
        }
    }
}
