//! `helm/lint`: helm's own linter (`helm lint`, `--strict` when ct.yaml says so), its messages turned
//! into diagnostics that point at the file (and line) helm names.

use crate::catalog::Chart;
use crate::diag::{Diagnostic, Location, Severity};
use crate::load::{LintRun, LoadedChart};
use crate::rule::{EVERY, Rule};
use std::path::PathBuf;

pub const RULE: Rule = Rule::error(
    "helm/lint",
    EVERY,
    "`helm lint` (plus ct.yaml's `helm-lint-extra-args`, e.g. `--strict`) with the chart's values and each `ci/*-values.yaml`; template errors point at `file:line:col`",
);
pub const RULES: &[Rule] = &[RULE];

pub fn check(loaded: &LoadedChart) -> Vec<Diagnostic> {
    loaded.helm_lint.iter().flat_map(|run| run_diagnostics(&loaded.chart, run)).collect()
}

fn run_diagnostics(chart: &Chart, run: &LintRun) -> Vec<Diagnostic> {
    let scenario = run.scenario.name.as_str();
    let output = match &run.result {
        Ok(o) => o,
        Err(e) => {
            return vec![
                Diagnostic::error(RULE, &chart.name, format!("helm could not be run: {e}"))
                    .scenario(scenario),
            ];
        }
    };
    let mut diags: Vec<Diagnostic> = parse(&output.stdout)
        .into_iter()
        .filter(|r| r.level != Level::Info)
        .map(|r| {
            let location = locate(chart, &r.path, &r.message);
            // --strict fails on warnings, so they are errors then, as they are for helm.
            let severity =
                if r.level == Level::Warning && !run.strict { Severity::Warning } else { Severity::Error };
            let d = Diagnostic::new(RULE, severity, &chart.name, r.message).scenario(scenario);
            match location {
                Some(l) => d.at(l),
                None => d,
            }
        })
        .collect();
    // helm's own failures (a values file it cannot parse, a missing chart) come on stderr.
    for line in output.stderr.lines().map(str::trim) {
        let Some(msg) = line.strip_prefix("Error: ") else {
            continue;
        };
        if is_summary(msg) {
            continue;
        }
        let mut d = Diagnostic::error(RULE, &chart.name, msg.to_owned()).scenario(scenario);
        if let Some(values) = &run.scenario.values_file {
            let line = yaml_error_line(msg);
            d = d.at(Location { file: values.clone(), line, column: None });
        }
        diags.push(d);
    }
    if !output.success && diags.is_empty() {
        let text = format!("{}{}", output.stdout, output.stderr);
        diags.push(
            Diagnostic::error(RULE, &chart.name, format!("helm lint failed: {}", text.trim()))
                .scenario(scenario),
        );
    }
    diags
}

fn is_summary(msg: &str) -> bool {
    msg.contains("chart(s) linted")
}

#[derive(Debug, PartialEq, Eq)]
enum Level {
    Error,
    Warning,
    Info,
}

#[derive(Debug)]
struct Record {
    level: Level,
    /// The path helm reports the finding against (`templates/`, `Chart.yaml`).
    path: String,
    message: String,
}

/// Parses `helm lint` output: `[LEVEL] path: message`, where Helm 4 continues a
/// message on indented lines and Helm 3 keeps it on one.
fn parse(stdout: &str) -> Vec<Record> {
    let mut records: Vec<Record> = Vec::new();
    for line in stdout.lines() {
        let (level, rest) = if let Some(r) = line.strip_prefix("[ERROR] ") {
            (Level::Error, r)
        } else if let Some(r) = line.strip_prefix("[WARNING] ") {
            (Level::Warning, r)
        } else if let Some(r) = line.strip_prefix("[INFO] ") {
            (Level::Info, r)
        } else {
            if line.starts_with(' ')
                && let Some(last) = records.last_mut()
            {
                last.message.push(' ');
                last.message.push_str(line.trim());
            }
            continue;
        };
        let (path, message) = rest.split_once(": ").unwrap_or(("", rest));
        records.push(Record { level, path: path.to_owned(), message: message.trim().to_owned() });
    }
    records
}

/// Finds `<chart>/<path>:<line>[:<col>]` in a message and maps it to the file
/// in the chart folder; falls back to the path helm reported the finding on.
fn locate(chart: &Chart, path: &str, message: &str) -> Option<Location> {
    let prefix = format!("{}/", chart.name);
    for token in message.split_whitespace() {
        let token = token.trim_start_matches("template:").trim_end_matches(':');
        let Some(rest) = token.strip_prefix(&prefix) else {
            continue;
        };
        let mut parts = rest.split(':');
        let file = parts.next().unwrap_or_default();
        let line = parts.next().and_then(|l| l.parse().ok());
        let column = parts.next().and_then(|c| c.parse().ok());
        let full = chart.dir.join(file);
        if full.exists() {
            return Some(Location { file: full, line, column });
        }
    }
    let p = path.trim_end_matches('/');
    if p.is_empty() {
        return None;
    }
    let full: PathBuf = chart.dir.join(p);
    full.exists().then(|| Location::file(full))
}

/// `yaml: line 3: …` in a values parse error names the line.
fn yaml_error_line(msg: &str) -> Option<usize> {
    let rest = &msg[msg.find("yaml: line ")? + "yaml: line ".len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Scenario;
    use crate::process::ProcOutput;
    use std::path::Path;

    fn chart(dir: &Path) -> Chart {
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        std::fs::write(dir.join("templates/service.yaml"), "x").unwrap();
        std::fs::write(dir.join("Chart.yaml"), "x").unwrap();
        Chart {
            name: "demo".into(),
            dir: dir.to_path_buf(),
            scenarios: vec![Scenario { name: "default".into(), values_file: None }],
        }
    }

    fn run(stdout: &str, stderr: &str, success: bool) -> LintRun {
        LintRun {
            scenario: Scenario { name: "default".into(), values_file: None },
            result: Ok(ProcOutput { success, stdout: stdout.into(), stderr: stderr.into(), signal: None }),
            strict: true,
        }
    }

    const HELM4: &str = "==> Linting demo\n[INFO] Chart.yaml: icon is recommended\n[ERROR] templates/: demo/templates/service.yaml:16:10\n  executing \"demo/templates/service.yaml\" at <.Values.foo.bar>:\n    nil pointer evaluating interface {}.bar\n\n";
    const HELM3: &str = "==> Linting demo\n[INFO] Chart.yaml: icon is recommended\n[ERROR] templates/: template: demo/templates/service.yaml:16:10: executing \"demo/templates/service.yaml\" at <.Values.foo.bar>: nil pointer evaluating interface {}.bar\n\n";

    #[test]
    fn template_errors_point_at_file_line_and_column_in_both_majors() {
        let tmp = tempfile::tempdir().unwrap();
        let c = chart(&tmp.path().join("demo"));
        for out in [HELM4, HELM3] {
            let diags =
                run_diagnostics(&c, &run(out, "Error: 1 chart(s) linted, 1 chart(s) failed\n", false));
            assert_eq!(diags.len(), 1, "{diags:?}");
            let loc = diags[0].location.clone().unwrap();
            assert_eq!(loc.file, c.dir.join("templates/service.yaml"));
            assert_eq!((loc.line, loc.column), (Some(16), Some(10)));
            assert!(diags[0].message.contains("nil pointer evaluating"), "{}", diags[0].message);
        }
    }

    #[test]
    fn info_is_dropped_and_warnings_fail_under_strict() {
        let tmp = tempfile::tempdir().unwrap();
        let c = chart(&tmp.path().join("demo"));
        let out = "[INFO] Chart.yaml: icon is recommended\n[WARNING] Chart.yaml: something odd\n";
        let diags = run_diagnostics(&c, &run(out, "", false));
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].severity, Severity::Error);
        assert_eq!(diags[0].location.as_ref().unwrap().file, c.dir.join("Chart.yaml"));
        // Without --strict (ct.yaml does not ask for it) helm passes warnings: so does the harness.
        let lax = LintRun { strict: false, ..run(out, "", true) };
        let diags = run_diagnostics(&c, &lax);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].severity, Severity::Warning);
    }

    #[test]
    fn a_values_file_helm_cannot_parse_names_the_file_and_line() {
        let tmp = tempfile::tempdir().unwrap();
        let c = chart(&tmp.path().join("demo"));
        let mut r = run(
            "",
            "Error: failed to parse ci/x-values.yaml: error converting YAML to JSON: yaml: line 4: did not find expected node content\n",
            false,
        );
        r.scenario = Scenario { name: "x".into(), values_file: Some("ci/x-values.yaml".into()) };
        let diags = run_diagnostics(&c, &r);
        assert_eq!(diags.len(), 1);
        let loc = diags[0].location.clone().unwrap();
        assert_eq!(loc.file, PathBuf::from("ci/x-values.yaml"));
        assert_eq!(loc.line, Some(4));
    }

    #[test]
    fn unexplained_failure_still_reports() {
        let tmp = tempfile::tempdir().unwrap();
        let c = chart(&tmp.path().join("demo"));
        let diags = run_diagnostics(&c, &run("garbage", "", false));
        assert_eq!(diags.len(), 1);
        assert!(diags[0].message.contains("garbage"));
    }
}
