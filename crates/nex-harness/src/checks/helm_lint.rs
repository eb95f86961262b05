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
    let chart_yaml = loaded.files.chart_yaml.content.as_ref().ok().and_then(|f| f.root());
    loaded
        .helm_lint
        .iter()
        .flat_map(|run| run_diagnostics(&loaded.chart, run))
        .filter(|d| !excluded_by_capabilities(loaded, d))
        .map(|d| place_in_chart_yaml(d, &loaded.files.chart_yaml.path, chart_yaml))
        .map(|d| place_deprecated_api(d, loaded))
        .map(|d| offline(d, loaded))
        .collect()
}

/// helm lint fetches what a values.schema.json `$ref`s by URL; without the
/// network that fails on the machine, not in the chart: a warning that says what
/// was not checked, at the `$ref` that names the URL.
fn offline(mut d: Diagnostic, loaded: &LoadedChart) -> Diagnostic {
    let network = ["dial tcp", "no such host", "connection refused", "i/o timeout", "network is unreachable"];
    let Some(url) = d.message.split('"').find(|s| s.starts_with("http://") || s.starts_with("https://"))
    else {
        return d;
    };
    if !d.message.starts_with("Get ") || !network.iter().any(|n| d.message.contains(n)) {
        return d;
    }
    let url = url.to_owned();
    d.severity = Severity::Warning;
    d.message = format!(
        "helm could not fetch {url} (no network here), so the values were not validated against what \
         values.schema.json refers to there: {}",
        d.message.rsplit(": ").next().unwrap_or_default()
    );
    if let Some(schema) = &loaded.files.values_schema
        && let Ok(file) = &schema.content
        && let Some((line, column)) =
            file.text().lines().enumerate().find_map(|(i, l)| l.find(url.as_str()).map(|c| (i + 1, c + 1)))
    {
        d.location = Some(Location::at(&schema.path, line, column));
    }
    d.hint("run where that URL is reachable (as ct's CI is), or vendor the schema into the chart")
}

/// A deprecated API helm names in a template: the template's line that writes it.
fn place_deprecated_api(mut d: Diagnostic, loaded: &LoadedChart) -> Diagnostic {
    let Some((api_version, _)) = deprecated_api(&d.message) else { return d };
    let Some(loc) = d.location.as_mut().filter(|l| l.line.is_none()) else { return d };
    let Some(text) = loaded.templates.get(&loc.file) else { return d };
    let hit = text.lines().enumerate().find_map(|(i, l)| l.find(api_version).map(|c| (i + 1, c + 1)));
    if let Some((line, column)) = hit {
        loc.line = Some(line);
        loc.column = Some(column);
    }
    d
}

/// helm lint renders without a cluster: it answers `.Capabilities` from its own
/// defaults, so a chart that picks an object's apiVersion with a Capabilities
/// guard may be linted on the branch no cluster of its matrix takes, and warned
/// about an API that is deprecated (`policy/v1beta1 PodDisruptionBudget is
/// deprecated in v1.21+ …`). When every rendering of that scenario (each with
/// the API versions of a real Kubernetes of the chart's matrix) shows the
/// template producing none of that apiVersion and kind, the warning is helm's
/// guess, not the chart's: dropped. Rendered as deprecated, it is kept.
fn excluded_by_capabilities(loaded: &LoadedChart, d: &Diagnostic) -> bool {
    let Some((api_version, kind)) = deprecated_api(&d.message) else { return false };
    let Some(file) = d.location.as_ref().map(|l| &l.file) else { return false };
    let scenarios = &d.scenarios;
    let renders: Vec<&crate::render::Rendering> = loaded
        .renderings
        .iter()
        .filter(|r| scenarios.is_empty() || scenarios.contains(&r.scenario.name))
        .collect();
    if renders.is_empty() || renders.iter().any(|r| !r.succeeded()) {
        return false;
    }
    let from_file = |o: &&crate::manifest::Object| {
        o.source
            .as_deref()
            .and_then(|s| crate::load::source_path(&loaded.chart, &loaded.local_dependencies, s))
            == Some(file.clone())
    };
    renders.iter().all(|r| {
        !r.objects.iter().filter(from_file).any(|o| {
            o.value.get("apiVersion").and_then(|v| v.as_str()) == Some(api_version) && o.kind() == kind
        })
    })
}

/// `policy/v1beta1 PodDisruptionBudget is deprecated in v1.21+, …` → the apiVersion and kind.
fn deprecated_api(message: &str) -> Option<(&str, &str)> {
    let (head, _) = message.split_once(" is deprecated in ")?;
    let (api_version, kind) = head.split_once(' ')?;
    (api_version.contains('v') && !kind.contains(' ')).then_some((api_version, kind))
}

/// helm's Chart.yaml findings name a field; the finding points at it.
fn place_in_chart_yaml(
    d: Diagnostic,
    path: &std::path::Path,
    root: Option<&crate::yaml::Node>,
) -> Diagnostic {
    let Some(root) = root else { return d };
    let in_chart_yaml = d.location.as_ref().is_some_and(|l| l.file == path && l.line.is_none());
    if !in_chart_yaml {
        return d;
    }
    let m = d.message.to_lowercase();
    // The field each of helm's chartfile rules (pkg/lint/rules/chartfile.go) is about.
    let key = [
        ("apiversion", "apiVersion"),
        ("appversion", "appVersion"),
        ("version", "version"),
        ("chart name", "name"),
        ("name is required", "name"),
        ("maintainer", "maintainers"),
        ("source url", "sources"),
        ("icon", "icon"),
        ("chart type", "type"),
        ("dependencies", "dependencies"),
        ("kubeversion", "kubeVersion"),
    ]
    .iter()
    .find(|(needle, _)| m.contains(needle))
    .map(|(_, key)| *key);
    let node = key.and_then(|k| root.get(k).map(|n| (k, n)));
    match node {
        Some((k, n)) => {
            // The key's own line (the value may sit on the next one, as for lists).
            let at = root.entry(k).map(|e| e.key_span.start).unwrap_or(n.span.start);
            d.at(Location::at(path, at.line.max(1), at.column.max(1)))
        }
        None => d,
    }
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
            // The path helm names stays in the message unless the finding points at that very file.
            let named = r.path.trim_end_matches('/');
            let pointed = location.as_ref().is_some_and(|l| !named.is_empty() && l.file.ends_with(named));
            let message =
                if named.is_empty() || pointed { r.message } else { format!("{}: {}", r.path, r.message) };
            let d = Diagnostic::new(RULE, severity, &chart.name, message).scenario(scenario);
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

/// Parses `helm lint` output: `[LEVEL] path: message`, where a message goes
/// on over the following lines until the next record: indented (helm 4's
/// template errors) or not (the chart and each violation under "values don't
/// meet the specifications of the schema(s)", both majors).
fn parse(stdout: &str) -> Vec<Record> {
    let mut records: Vec<Record> = Vec::new();
    // A message ends at a blank line (what follows belongs to no record).
    let mut open = false;
    for line in stdout.lines() {
        let (level, rest) = if let Some(r) = line.strip_prefix("[ERROR] ") {
            (Level::Error, r)
        } else if let Some(r) = line.strip_prefix("[WARNING] ") {
            (Level::Warning, r)
        } else if let Some(r) = line.strip_prefix("[INFO] ") {
            (Level::Info, r)
        } else {
            let summary = line.starts_with("==> Linting ") || line.contains(" chart(s) linted, ");
            if line.trim().is_empty() || summary {
                open = false;
            } else if open && let Some(last) = records.last_mut() {
                last.message.push(' ');
                last.message.push_str(line.trim());
            }
            continue;
        };
        open = true;
        let (path, message) = rest.split_once(": ").unwrap_or(("", rest));
        records.push(Record { level, path: path.to_owned(), message: message.trim().to_owned() });
    }
    records
}

/// Finds `<chart>/<path>:<line>[:<col>]` in a message (`<chart>` is Chart.yaml's
/// name, which may differ from the folder's) and maps it to the file in the chart
/// folder; falls back to the file helm reported the finding on (a folder such as
/// `templates/` is no file: then there is no location, and the message keeps it).
fn locate(chart: &Chart, path: &str, message: &str) -> Option<Location> {
    for token in message.split_whitespace() {
        let token =
            token.trim_start_matches("template:").trim_start_matches('(').trim_end_matches([':', ')', ',']);
        let Some((_, rest)) = token.split_once('/') else {
            continue;
        };
        let mut parts = rest.split(':');
        let file = parts.next().unwrap_or_default();
        let line = parts.next().and_then(|l| l.parse().ok());
        let column = parts.next().and_then(|c| c.parse().ok());
        let full = chart.dir.join(file);
        if !file.is_empty() && full.is_file() {
            return Some(Location { file: full, line, column });
        }
    }
    let p = path.trim_end_matches('/');
    if p.is_empty() {
        return None;
    }
    let full: PathBuf = chart.dir.join(p);
    full.is_file().then(|| Location::file(full))
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
    fn a_message_over_several_lines_is_kept_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let c = chart(&tmp.path().join("demo"));
        // helm 3.17.2's output for a value of the wrong type (helm 4's differs in the last line only).
        let out = "==> Linting demo\n[ERROR] templates/: values don't meet the specifications of the schema(s) in the following chart(s):\ndemo:\n- replicaCount: Invalid type. Expected: integer, given: string\n\n1 chart(s) linted, 1 chart(s) failed\n";
        let diags = run_diagnostics(&c, &run(out, "", false));
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].message.ends_with("in the following chart(s): demo: - replicaCount: Invalid type. Expected: integer, given: string"),
            "{}",
            diags[0].message
        );
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
    fn a_message_keeps_the_folder_helm_names_unless_it_points_at_that_file() {
        let tmp = tempfile::tempdir().unwrap();
        let c = chart(&tmp.path().join("demo"));
        let out = "[WARNING] templates/: directory has no templates\n[ERROR] charts/: chart directory is missing these dependencies: redis\n[WARNING] templates/service.yaml: object name does not conform\n";
        let diags = run_diagnostics(&c, &run(out, "", false));
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "templates/: directory has no templates",
                "charts/: chart directory is missing these dependencies: redis",
                "object name does not conform"
            ]
        );
        assert_eq!(diags[2].location.as_ref().unwrap().file, c.dir.join("templates/service.yaml"));
        // A chart whose name differs from its folder: helm names files by the chart's name.
        let named = "[ERROR] templates/: template: other-name/templates/service.yaml:3:4: bad\n";
        let diags = run_diagnostics(&c, &run(named, "", false));
        let loc = diags[0].location.clone().unwrap();
        assert_eq!(
            (loc.file, loc.line, loc.column),
            (c.dir.join("templates/service.yaml"), Some(3), Some(4))
        );
    }

    #[test]
    fn deprecated_api_warnings_name_the_api() {
        assert_eq!(
            deprecated_api(
                "policy/v1beta1 PodDisruptionBudget is deprecated in v1.21+, unavailable in v1.25+; use policy/v1 PodDisruptionBudget"
            ),
            Some(("policy/v1beta1", "PodDisruptionBudget"))
        );
        assert_eq!(deprecated_api("icon is recommended"), None);
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
