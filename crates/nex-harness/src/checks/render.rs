//! `render/*`: a chart × scenario × Kubernetes version that helm cannot render,
//! or that renders text that is not YAML. Template errors point at the
//! template file and line helm names (Helm 3 and Helm 4 word them differently).

use crate::catalog::Chart;
use crate::diag::{Diagnostic, Location};
use crate::load::{self, LoadedChart};
use crate::render::Rendering;
use crate::rule::{EVERY, Rule};

pub const TEMPLATE: Rule = Rule::error(
    "render/template",
    EVERY,
    "`helm template` fails for a scenario × Kubernetes version (a template error `helm lint` did not already report, e.g. one that only breaks on the oldest Kubernetes the chart claims); points at the template `file:line:col` helm names",
);
pub const YAML: Rule = Rule::error("render/yaml", EVERY, "a template renders text that is not YAML");
pub const KUBE_VERSION: Rule = Rule::error(
    "render/kube-version",
    EVERY,
    "Chart.yaml's `kubeVersion` cannot be read, or allows no Kubernetes version from 1.25 to 1.37",
);
/// Two objects with one kind, namespace and name in one rendering (the second
/// silently replaces the first at install).
pub const DUPLICATE: Rule = Rule::error(
    "render/duplicate-object",
    EVERY,
    "two objects with the same kind, namespace and name in one rendering (objects inside a `kind: List` included): the install applies only one",
);
/// A key twice in one mapping of a rendered object: Kubernetes keeps the last value.
pub const DUPLICATE_KEY: Rule = Rule::warning(
    "render/duplicate-key",
    EVERY,
    "a rendered object writes a key twice in one mapping (YAML forbids it; Kubernetes keeps the last value, the first is lost); the object is still validated as Kubernetes reads it",
);
pub const RULES: &[Rule] = &[TEMPLATE, YAML, KUBE_VERSION, DUPLICATE, DUPLICATE_KEY];

pub fn check(loaded: &LoadedChart) -> Vec<Diagnostic> {
    let chart = &loaded.chart;
    let mut diags = Vec::new();
    if let Err(e) = &loaded.kube_versions {
        diags.push(
            Diagnostic::error(KUBE_VERSION, &chart.name, e.clone())
                .hint("set kubeVersion to a constraint such as \">=1.25.0-0\"")
                .in_file(&loaded.meta.path),
        );
    }
    // One finding per failure, naming the Kubernetes versions it occurs for.
    let mut failures: Vec<(Diagnostic, Vec<&str>)> = Vec::new();
    for r in &loaded.renderings {
        if let Some(d) = failure(loaded, r) {
            match failures.iter_mut().find(|(f, _)| *f == d) {
                Some((_, versions)) => versions.push(&r.kube_version),
                None => failures.push((d, vec![&r.kube_version])),
            }
        }
        for e in &r.parse_errors {
            diags.push(not_yaml(loaded, r, e));
        }
    }
    for r in &loaded.renderings {
        for d in duplicates(loaded, r) {
            if !diags.contains(&d) {
                diags.push(d);
            }
        }
    }
    for (mut d, versions) in failures {
        d.message = format!("{} (Kubernetes {})", d.message, versions.join(", "));
        diags.push(d);
    }
    diags
}

/// `render/yaml`: which template, where in its output, what is wrong — and, when
/// the offending line is written as is in the template, that line of the template.
fn not_yaml(loaded: &LoadedChart, r: &Rendering, e: &crate::manifest::ParseError) -> Diagnostic {
    let chart = &loaded.chart;
    let template = e.source.as_deref().and_then(|s| load::source_path(chart, &loaded.local_dependencies, s));
    let shown = e.source.as_deref().and_then(|s| s.split_once('/')).map_or("a template", |(_, rel)| rel);
    // The document's first line is helm's `# Source:` comment; the template's output follows it.
    let where_ = match e.at {
        Some((line, column)) if line > 1 => format!(" at line {}, column {column} of its output", line - 1),
        _ => format!(" (line {} of the rendered stream)", e.line),
    };
    let mut d = if e.duplicate_key {
        Diagnostic::warning(
            DUPLICATE_KEY,
            &chart.name,
            format!(
                "{shown} renders a key twice in one mapping{where_} ({}); Kubernetes keeps the last value",
                e.message.trim_end_matches('.')
            ),
        )
    } else {
        Diagnostic::error(
            YAML,
            &chart.name,
            format!("{shown} renders text that is not YAML{where_}: {}", e.message.trim_end_matches('.')),
        )
    }
    .scenario(&r.scenario.name)
    .hint("render it with `helm template --debug` to see the output; check indentation (nindent) and quoting there");
    if e.duplicate_key {
        d = d.hint("write each key once: two parts of the template (or two values) write the same key here");
    } else if let Some(rendered) = e.rendered.as_deref().map(str::trim_end).filter(|l| !l.trim().is_empty()) {
        d = d.hint(format!(
            "the output line: `{}`; render it with `helm template --debug` to see the rest; check indentation (nindent) and quoting there",
            rendered.trim()
        ));
    }
    let Some(path) = template else { return d };
    let line_in_template = e
        .rendered
        .as_deref()
        .filter(|l| !l.trim().is_empty())
        .and_then(|l| template_line(l, loaded.templates.get(&path)?));
    match (line_in_template, e.at) {
        (Some(line), Some((_, column))) => d.at(Location::at(&path, line, column)),
        _ => d.in_file(&path),
    }
}

/// The template line that wrote a rendered line: the one line with the same text,
/// else the one line whose literal parts (around its `{{ … }}` actions) the
/// rendered line holds, in order. `None` when no single line fits.
fn template_line(rendered: &str, template: &str) -> Option<usize> {
    let rendered = rendered.trim_end();
    let unique = |hits: Vec<usize>| if let [one] = hits[..] { Some(one + 1) } else { None };
    let exact: Vec<usize> =
        template.lines().enumerate().filter(|(_, t)| t.trim_end() == rendered).map(|(i, _)| i).collect();
    if !exact.is_empty() {
        return unique(exact);
    }
    let fits = |t: &str| {
        let t = t.trim_end();
        if !t.contains("{{") {
            return false;
        }
        // The literal text between actions.
        let mut literals = Vec::new();
        let mut rest = t;
        while let Some(open) = rest.find("{{") {
            literals.push(&rest[..open]);
            let Some(close) = rest[open..].find("}}") else { return false };
            rest = &rest[open + close + 2..];
        }
        literals.push(rest);
        if literals.iter().all(|l| l.trim().is_empty()) {
            return false; // only actions: nothing to recognise the line by
        }
        let (first, last) = (literals[0], literals[literals.len() - 1]);
        if !rendered.starts_with(first) || !rendered[first.len()..].ends_with(last) {
            return false;
        }
        let mut at = first.len();
        let end = rendered.len() - last.len();
        for lit in &literals[1..literals.len() - 1] {
            match rendered[at..end].find(lit) {
                Some(p) => at += p + lit.len(),
                None => return false,
            }
        }
        true
    };
    unique(template.lines().enumerate().filter(|(_, t)| fits(t)).map(|(i, _)| i).collect())
}

/// Objects rendered twice under one kind, namespace and name: one would
/// overwrite the other at install. An object
/// without a namespace lands in the release's.
fn duplicates(loaded: &LoadedChart, r: &Rendering) -> Vec<Diagnostic> {
    let chart = &loaded.chart;
    let mut seen: std::collections::HashMap<(&str, &str, &str), &crate::manifest::Object> =
        std::collections::HashMap::new();
    let mut out = Vec::new();
    for o in &r.objects {
        let ns =
            o.value.pointer("/metadata/namespace").and_then(|v| v.as_str()).unwrap_or(crate::helm::NAMESPACE);
        let Some(first) = seen.get(&(o.kind(), ns, o.name())).copied() else {
            seen.insert((o.kind(), ns, o.name()), o);
            continue;
        };
        let from = |o: &crate::manifest::Object| o.source.clone().unwrap_or_else(|| "?".into());
        let mut d = Diagnostic::error(
            DUPLICATE,
            &chart.name,
            format!(
                "{} in namespace {ns} is rendered twice (from {} and {}); one would overwrite the other",
                o.id(),
                from(first),
                from(o)
            ),
        )
        .scenario(&r.scenario.name)
        .hint("give each object its own name");
        if let Some(p) =
            o.source.as_deref().and_then(|s| load::source_path(chart, &loaded.local_dependencies, s))
        {
            d = d.in_file(&p);
        }
        out.push(d);
    }
    out
}

fn failure(loaded: &LoadedChart, r: &Rendering) -> Option<Diagnostic> {
    let chart = &loaded.chart;
    let scenario = r.scenario.name.as_str();
    let out = match &r.output {
        Ok(o) if o.success => return None,
        Ok(o) => o,
        Err(e) => {
            return Some(
                Diagnostic::error(TEMPLATE, &chart.name, format!("helm could not be run: {e}"))
                    .scenario(scenario),
            );
        }
    };
    let text = out.stderr.trim();
    // Helm 4 spreads one error over indented lines; join them into one message.
    let message = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("Error: ")
        .to_owned();
    let message = message.replace(" Use --debug flag to render out invalid YAML", "");
    let message =
        if message.is_empty() { "helm template failed without a message".to_owned() } else { message };
    // The same message for every Kubernetes version, so the findings merge into one.
    let mut d = Diagnostic::error(TEMPLATE, &chart.name, format!("helm template failed: {message}"))
        .scenario(scenario);
    if let Some(loc) = locate(chart, &loaded.local_dependencies, &message) {
        if reported_by_helm_lint(loaded, scenario, &loc) {
            return None;
        }
        d = d.at(loc);
    } else if lint_failed_alike(loaded, scenario, &message) {
        // Not about a template (values against values.schema.json, a values file
        // helm cannot read): `helm lint` said it already, for every Kubernetes version.
        return None;
    } else if let Some(values) = &r.scenario.values_file
        && message.contains(&*values.to_string_lossy())
    {
        d = d.in_file(values);
    }
    Some(d)
}

/// `helm lint` renders too: a template error it already reported at the same
/// place in the same scenario is not reported twice.
fn reported_by_helm_lint(loaded: &LoadedChart, scenario: &str, loc: &Location) -> bool {
    let Ok(rel) = loc.file.strip_prefix(&loaded.chart.dir) else { return false };
    // `<chart>/templates/x.yaml:12` (the chart's name may differ from its folder's),
    // or, for an error without a line, helm lint's `[ERROR] templates/x.yaml: …`.
    let needle = match loc.line {
        Some(line) => format!("/{}:{line}", rel.display()),
        None => format!("[ERROR] {}: ", rel.display()),
    };
    loaded.helm_lint.iter().filter(|l| l.scenario.name == scenario).any(|l| {
        l.result
            .as_ref()
            .is_ok_and(|o| !o.success && (o.stdout.contains(&needle) || o.stderr.contains(&needle)))
    })
}

/// The same scenario's `helm lint` failed with a message that starts alike.
fn lint_failed_alike(loaded: &LoadedChart, scenario: &str, message: &str) -> bool {
    let head: String = message.chars().take(48).collect();
    loaded.helm_lint.iter().filter(|l| l.scenario.name == scenario).any(|l| {
        l.result.as_ref().is_ok_and(|o| {
            let said = format!("{} {}", o.stdout, o.stderr).split_whitespace().collect::<Vec<_>>().join(" ");
            !o.success && said.contains(&head)
        })
    })
}

/// Finds `<chart>/<path>:<line>[:<col>]` (`template: a/templates/x.yaml:3:7:`,
/// `parse error at (a/templates/x.yaml:5)`) or `YAML parse error on <chart>/<path>`.
fn locate(chart: &Chart, deps: &[(String, std::path::PathBuf)], message: &str) -> Option<Location> {
    for token in message.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '"') {
        let token = token.trim_start_matches("template:").trim_end_matches(':');
        // `<chart>/templates/…` or `<chart>/charts/…`; `<chart>` is Chart.yaml's name.
        let Some((_, rest)) = token.split_once('/') else { continue };
        if !(rest.starts_with("templates/") || rest.starts_with("charts/")) {
            continue;
        }
        let mut parts = token.split(':');
        let file = parts.next().unwrap_or_default();
        let line = parts.next().and_then(|l| l.parse().ok());
        let column = parts.next().and_then(|c| c.parse().ok());
        let path = load::source_path(chart, deps, file)?;
        if path.is_file() {
            return Some(Location { file: path, line, column });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_line_is_traced_to_the_template_line_that_wrote_it() {
        let template = "data:\n{{- range $k, $v := .a }}\n  {{ $k }}: {{ $v }}\n{{- end }}\n{{- range $k, $v := .b }}\n  {{ $k }}:\n{{ toYaml $v | indent 4 }}\n{{- end }}\n";
        assert_eq!(template_line("  key:", template), Some(6));
        assert_eq!(template_line("  key: value", template), Some(3));
        assert_eq!(template_line("data:", template), Some(1));
        assert_eq!(template_line("    line 1", template), None, "only actions write it");
    }

    #[test]
    fn locates_helm_3_and_4_template_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("demo");
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        std::fs::write(dir.join("templates/cm.yaml"), "x").unwrap();
        let chart = Chart { name: "demo".into(), dir: dir.clone(), scenarios: vec![] };
        for msg in [
            "template: demo/templates/cm.yaml:6:14: executing \"demo/templates/cm.yaml\" at <.Values.a.b>: nil pointer",
            "demo/templates/cm.yaml:6:14 executing \"demo/templates/cm.yaml\" at <.Values.a.b>: nil pointer",
        ] {
            let loc = locate(&chart, &[], msg).unwrap();
            assert_eq!(
                (loc.file.clone(), loc.line, loc.column),
                (dir.join("templates/cm.yaml"), Some(6), Some(14))
            );
        }
        let loc =
            locate(&chart, &[], "parse error at (demo/templates/cm.yaml:5): function \"nope\" not defined")
                .unwrap();
        assert_eq!(loc.line, Some(5));
        let loc =
            locate(&chart, &[], "YAML parse error on demo/templates/cm.yaml: error converting YAML to JSON")
                .unwrap();
        assert_eq!((loc.line, loc.column), (None, None));
    }
}
