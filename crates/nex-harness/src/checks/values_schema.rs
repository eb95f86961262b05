//! `values.schema.json`: the schema itself (valid for its draft, local refs,
//! closed top level, described, camelCase) and the values of every scenario
//! (values.yaml, and each ci file coalesced over it) validated against it.
//! Each schema is compiled once per chart.

use crate::diag::{Diagnostic, Location};
use crate::files::JsonFile;
use crate::load::{ChartFiles, LoadedChart};
use crate::rule::{CATALOG, EVERY, Rule};
use crate::schema::{self, Problem};
use crate::values::{Merged, coalesce};
use crate::yaml::{Node, Span, Style, Value};
use jsonschema::error::ValidationErrorKind;
use std::path::Path;

pub const RULE_VALUES: Rule = Rule::error(
    "values/schema",
    EVERY,
    "values.yaml, and each ci file coalesced over it as Helm does (maps merge, `null` deletes), fail values.schema.json; points at the file and place that set the value",
);
pub const RULE_MISSING: Rule =
    Rule::error("values/schema-missing", CATALOG, "an application chart has no values.schema.json");
pub const RULES: &[Rule] = &[RULE_VALUES, RULE_MISSING];

pub fn check(loaded: &LoadedChart) -> Vec<Diagnostic> {
    // The bare defaults are judged only when they are a scenario of the run: ct
    // lints a chart with its ci files alone when it has some (profile ct does too).
    let defaults = loaded.chart.scenarios.iter().any(|s| s.values_file.is_none());
    check_scenarios(&loaded.chart.name, &loaded.chart.dir, &loaded.files, defaults)
}

/// The check over a chart's files as read (the entry point the fuzz target and
/// the robustness test feed directly).
pub fn check_files(chart: &str, dir: &Path, files: &ChartFiles) -> Vec<Diagnostic> {
    check_scenarios(chart, dir, files, true)
}

/// [`check_files`]; `defaults`: whether values.yaml alone is a scenario.
pub fn check_scenarios(
    chart: &str,
    dir: &Path,
    files: &ChartFiles,
    defaults_judged: bool,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Some(source) = &files.values_schema else {
        if !is_library(files) {
            out.push(
                Diagnostic::error(RULE_MISSING, chart, "application charts ship a values.schema.json")
                    .in_file(&dir.join("values.schema.json"))
                    .hint("describe every value (draft-07 or 2020-12, \"additionalProperties\": false at the top)"),
            );
        }
        return out;
    };
    // Unreadable or not JSON: reported by the sources check.
    let Ok(file) = &source.content else { return out };
    let Ok(schema_value) = &file.value else { return out };

    let problems = schema::problems(schema_value);
    // A schema the harness cannot compile (invalid, or with refs it does not
    // follow) is reported once, by those rules; its values go unvalidated here
    // (helm lint still validates them).
    let blocking = problems.iter().any(|p| {
        p.rule == schema::RULE_INVALID
            || p.rule == schema::RULE_REF
            || p.rule == schema::RULE_LOCAL_REF
            || p.rule == schema::RULE_REMOTE_REF
    });
    out.extend(problems.iter().map(|p| problem(chart, file, p)));
    let validator = match schema::compile(schema_value) {
        Ok(v) => v,
        Err(p) => {
            if !blocking {
                out.push(problem(chart, file, &p));
            }
            return out;
        }
    };

    let empty = Node { value: Value::Map(Vec::new()), span: Span::default(), style: Style::Indented };
    let values_path = dir.join("values.yaml");
    let defaults = match &files.values {
        None => &empty,
        Some(src) => match src.content.as_ref().ok().map(|f| &f.parsed) {
            Some(Ok(y)) => y.root().unwrap_or(&empty),
            // Unreadable or broken values.yaml: reported elsewhere; nothing to validate.
            _ => return out,
        },
    };
    let mut scenarios: Vec<(&str, Vec<(&Path, &Node)>)> = Vec::new();
    if defaults_judged {
        scenarios.push((crate::catalog::Scenario::DEFAULT, vec![(values_path.as_path(), defaults)]));
    }
    for (name, src) in &files.ci {
        if let Some(root) = src.content.as_ref().ok().and_then(|f| f.root()) {
            scenarios.push((name, vec![(values_path.as_path(), defaults), (src.path.as_path(), root)]));
        }
    }
    for (scenario, layers) in scenarios {
        let Some(merged) = coalesce(&layers) else { continue };
        let json = merged.to_json();
        for err in validator.iter_errors(&json) {
            out.extend(value_error(chart, scenario, &merged, schema_value, &file.path, &err));
        }
    }
    out
}

fn is_library(files: &ChartFiles) -> bool {
    let chart_yaml = files.chart_yaml.content.as_ref().ok();
    chart_yaml.and_then(|f| f.root()).and_then(|r| r.get("type")).and_then(Node::as_str) == Some("library")
}

fn problem(chart: &str, file: &JsonFile, p: &Problem) -> Diagnostic {
    let d = Diagnostic::error(p.rule, chart, p.message.clone());
    match file.position(&p.pointer) {
        Some((line, column)) => d.at(Location::at(&file.path, line, column)),
        None => d.in_file(&file.path),
    }
}

fn value_error(
    chart: &str,
    scenario: &str,
    merged: &Merged<'_>,
    schema_value: &serde_json::Value,
    schema_path: &Path,
    err: &jsonschema::ValidationError<'_>,
) -> Vec<Diagnostic> {
    let pointer = err.instance_path().as_str();
    // An unexpected key is shown at the key, one finding per key.
    let targets: Vec<(String, bool, String)> = match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|k| {
                let at = format!("{pointer}/{}", crate::yaml::escape_token(k));
                let msg = format!(
                    "`{}` is not a known value here (the schema allows no other keys)",
                    crate::yaml::dotted(&at)
                );
                (at, true, msg)
            })
            .collect(),
        _ => vec![(pointer.to_owned(), false, crate::yaml::prefixed(pointer, &err.to_string()))],
    };
    let wanted = crate::yaml::pointer_tokens(pointer)
        .and_then(|t| schema::subschema_at(schema_value, &t))
        .and_then(|s| s.get("description"))
        .and_then(serde_json::Value::as_str);
    targets
        .into_iter()
        .map(|(at, key, message)| {
            let (file, span) = merged.place(&at, key);
            let schema_file =
                schema_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let mut hint = format!("{schema_file}#{}", err.schema_path().as_str());
            if let Some(w) = wanted {
                hint = format!("{hint}: {w}");
            }
            Diagnostic::error(RULE_VALUES, chart, message)
                .at(Location::at(file, span.start.line.max(1), span.start.column.max(1)))
                .hint(hint)
                .scenario(scenario)
        })
        .collect()
}
