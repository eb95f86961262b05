//! Policy exceptions: the only way to silence a policy finding, declared in a
//! chart's Chart.yaml annotations:
//!
//! ```yaml
//! annotations:
//!   nex-charts/policy-exceptions: |
//!     - rule: pss/host-namespaces
//!       objects: [Deployment/adguard-home]   # Kind, or Kind/name (the `nex-` prefix may be left out)
//!       scenarios: [host-network]            # optional; default: every scenario
//!       reason: Real client IPs need the host network; off by default.
//! ```
//!
//! A matched finding is kept and shown as allowed; an exception that matches
//! nothing is itself a warning, so stale exceptions do not pile up.

use crate::diag::{Diagnostic, Location};
use crate::helm::RELEASE;
use crate::load::LoadedChart;
use crate::manifest::Object;
use crate::model::ChartMeta;
use crate::rule::{CATALOG, Rule};
use crate::yaml::{Style, Value};
use serde::Deserialize;
use std::cell::RefCell;

pub const ANNOTATION: &str = "nex-charts/policy-exceptions";
pub const UNUSED: Rule =
    Rule::warning("policy/unused-exception", CATALOG, "a declared policy exception that matches no finding");
pub const INVALID: Rule = Rule::error(
    "policy/invalid-exception",
    CATALOG,
    "a malformed policy exception (unknown rule, no objects, no reason, unknown scenario)",
);
pub const RULES: &[Rule] = &[UNUSED, INVALID];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    pub rule: String,
    pub objects: Vec<String>,
    #[serde(default)]
    pub scenarios: Vec<String>,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Exceptions {
    list: Vec<Exception>,
    used: RefCell<Vec<bool>>,
}

impl Exceptions {
    pub fn new(list: Vec<Exception>) -> Self {
        let used = RefCell::new(vec![false; list.len()]);
        Self { list, used }
    }

    /// The reason of the first exception that allows `rule` for this object in this scenario.
    pub fn allow(&self, rule: &str, obj: &Object, scenario: &str) -> Option<String> {
        self.allow_in(rule, obj, scenario, RELEASE)
    }

    /// [`Exceptions::allow`] for objects rendered under `release`.
    pub fn allow_in(&self, rule: &str, obj: &Object, scenario: &str, release: &str) -> Option<String> {
        let i = self.list.iter().position(|e| {
            e.rule == rule
                && (e.scenarios.is_empty() || e.scenarios.iter().any(|s| s == scenario))
                && e.objects.iter().any(|o| matches_object(o, obj, release))
        })?;
        self.used.borrow_mut()[i] = true;
        Some(self.list[i].reason.clone())
    }

    /// Warnings for the exceptions no finding used.
    pub fn unused(&self, loaded: &LoadedChart) -> Vec<Diagnostic> {
        let used = self.used.borrow();
        self.list
            .iter()
            .zip(used.iter())
            .filter(|(_, u)| !**u)
            .map(|(e, _)| {
                Diagnostic::warning(
                    UNUSED,
                    &loaded.chart.name,
                    format!("the exception for {} on {} matches no finding", e.rule, e.objects.join(", ")),
                )
                .hint("remove it, or fix its rule, objects or scenarios")
                .at(annotation_location(&loaded.meta))
            })
            .collect()
    }
}

/// `Kind` matches every object of that kind; `Kind/name` matches the rendered
/// name, with or without the release prefix (`nex-`).
fn matches_object(pattern: &str, obj: &Object, release: &str) -> bool {
    match pattern.split_once('/') {
        None => pattern == obj.kind(),
        Some((kind, name)) => {
            let rendered = obj.name();
            kind == obj.kind()
                && (name == rendered || rendered.strip_prefix(&format!("{release}-")) == Some(name))
        }
    }
}

fn annotation_location(meta: &ChartMeta) -> Location {
    let file = &meta.path;
    match meta.annotation(ANNOTATION) {
        Some(a) => Location::at(file, a.pos.line, a.pos.column),
        None => Location::file(file),
    }
}

/// The chart's exceptions, and an error for each malformed entry (never
/// silently ignored). A bad entry is left out on its own: the valid entries
/// beside it still apply.
pub fn parse(loaded: &LoadedChart) -> (Exceptions, Vec<Diagnostic>) {
    let root = loaded.files.chart_yaml.content.as_ref().ok().and_then(|f| f.root());
    parse_meta(&loaded.chart, &loaded.meta, root)
}

/// [`parse`] from a chart's [`ChartMeta`] and the root node of its Chart.yaml
/// (for callers without a loaded chart, such as `cargo xtask images`).
pub fn parse_meta(
    chart: &crate::catalog::Chart,
    meta: &ChartMeta,
    root: Option<&crate::yaml::Node>,
) -> (Exceptions, Vec<Diagnostic>) {
    let Some(raw) = meta.value.pointer("/annotations").and_then(|a| a.get(ANNOTATION)) else {
        return (Exceptions::default(), Vec::new());
    };
    // The annotation's node in Chart.yaml, to place findings on the entry's own line.
    let node = root.and_then(|r| r.get("annotations")).and_then(|a| a.get(ANNOTATION));
    let place = |line: usize, column: usize| match node {
        Some(n) if matches!(n.style, Style::BlockScalar) => Location::at(
            meta.path.clone(),
            n.span.start.line + line.max(1) - 1,
            n.span.start.column + column.max(1) - 1,
        ),
        _ => annotation_location(meta),
    };
    let err = |msg: String, at: Location| {
        Diagnostic::error(INVALID, &chart.name, msg)
            .hint(format!("{ANNOTATION} is a YAML string holding a list of rule/objects/scenarios/reason"))
            .at(at)
    };
    let Some(text) = raw.as_str() else {
        let d = err(
            format!("{ANNOTATION} must be a string (annotations are strings)"),
            annotation_location(meta),
        );
        return (Exceptions::default(), vec![d]);
    };
    let items = match crate::yaml::parse(text) {
        Err(e) => {
            let d = err(format!("{ANNOTATION} is not valid YAML: {}", e.message), place(e.line, e.column));
            return (Exceptions::default(), vec![d]);
        }
        Ok(y) => match y.docs.into_iter().next().map(|n| n.value) {
            Some(Value::Seq(items)) => items,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => {
                let d = err(format!("{ANNOTATION} must hold a YAML list"), place(1, 1));
                return (Exceptions::default(), vec![d]);
            }
        },
    };
    let mut list = Vec::new();
    let mut diags = Vec::new();
    for item in &items {
        let at = place(item.span.start.line, item.span.start.column);
        let e: Exception = match serde_json::from_value(item.to_json()) {
            Ok(e) => e,
            Err(e) => {
                diags.push(err(format!("a malformed exception: {e}"), at));
                continue;
            }
        };
        let mut problems = Vec::new();
        match crate::checks::rule(&e.rule) {
            None => problems.push(format!("unknown rule {:?} (docs/rules.md lists the rules)", e.rule)),
            Some(r) if !r.exceptable => problems.push(format!(
                "{} cannot be excepted (docs/rules.md marks the rules an exception may allow)",
                e.rule
            )),
            Some(_) => {}
        }
        if e.objects.is_empty() {
            problems.push(format!("the exception for {} names no objects", e.rule));
        }
        if e.reason.trim().is_empty() {
            problems.push(format!("the exception for {} gives no reason", e.rule));
        }
        for s in &e.scenarios {
            if !chart.scenarios.iter().any(|x| &x.name == s) {
                problems.push(format!(
                    "the exception for {} names scenario {s:?}, which the chart does not have",
                    e.rule
                ));
            }
        }
        if problems.is_empty() {
            list.push(e);
        } else {
            diags.extend(problems.into_iter().map(|p| err(p, at.clone())));
        }
    }
    (Exceptions::new(list), diags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(kind: &str, name: &str) -> Object {
        Object { source: None, line: 1, value: json!({"kind": kind, "metadata": {"name": name}}) }
    }

    fn matches_object_nex(pattern: &str, obj: &Object) -> bool {
        matches_object(pattern, obj, RELEASE)
    }

    #[test]
    fn objects_match_by_kind_or_name_with_or_without_the_release_prefix() {
        let d = obj("Deployment", "nex-adguard-home");
        assert!(matches_object_nex("Deployment", &d));
        assert!(matches_object_nex("Deployment/adguard-home", &d));
        assert!(matches_object_nex("Deployment/nex-adguard-home", &d));
        assert!(!matches_object_nex("Deployment/other", &d));
        assert!(!matches_object_nex("StatefulSet", &d));
    }

    #[test]
    fn scenarios_limit_an_exception_and_use_is_recorded() {
        let ex = Exceptions::new(vec![Exception {
            rule: "pss/host-namespaces".into(),
            objects: vec!["Deployment/a".into()],
            scenarios: vec!["host-network".into()],
            reason: "needs it".into(),
        }]);
        let d = obj("Deployment", "nex-a");
        assert_eq!(ex.allow("pss/host-namespaces", &d, "default"), None);
        assert_eq!(ex.allow("pss/host-ports", &d, "host-network"), None);
        assert!(!ex.used.borrow()[0]);
        assert_eq!(ex.allow("pss/host-namespaces", &d, "host-network").as_deref(), Some("needs it"));
        assert!(ex.used.borrow()[0]);
    }

    fn parsed(yaml: &str) -> (usize, Vec<String>) {
        let loaded =
            crate::load::for_tests(&["default", "host-network"], json!({"annotations": {ANNOTATION: yaml}}));
        let (ex, diags) = parse(&loaded);
        (ex.list.len(), diags.into_iter().map(|d| d.message).collect())
    }

    #[test]
    fn valid_exceptions_parse_and_each_problem_is_named() {
        let ok = "- rule: pss/host-namespaces\n  objects: [Deployment]\n  scenarios: [host-network]\n  reason: r\n- rule: policy/probes\n  objects: [Job/x]\n  reason: runs once\n";
        assert_eq!(parsed(ok), (2, Vec::new()));
        let bad = "- rule: helm/lint\n  objects: [Deployment]\n  reason: r\n- rule: pss/privileged\n  objects: []\n  reason: r\n- rule: policy/probes\n  objects: [Job]\n  reason: \"  \"\n- rule: pss/seccomp\n  objects: [Pod]\n  scenarios: [default, nope]\n  reason: r\n";
        let (kept, errors) = parsed(bad);
        assert_eq!(kept, 0, "{errors:#?}");
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(errors[0].contains("helm/lint"), "{errors:#?}");
        assert!(errors[1].contains("pss/privileged names no objects"), "{errors:#?}");
        assert!(errors[2].contains("policy/probes gives no reason"), "{errors:#?}");
        assert!(errors[3].contains("scenario \"nope\""), "{errors:#?}");
        // One bad entry does not disable the valid one beside it.
        let mixed = "- rule: pss/seccomp\n  objects: [Pod]\n  reason: r\n- rule: nope/nope\n  objects: [Pod]\n  reason: r\n";
        let (kept, errors) = parsed(mixed);
        assert_eq!((kept, errors.len()), (1, 1), "{errors:#?}");
        // Not a string, not a list, an unknown field: errors, never ignored.
        let loaded = crate::load::for_tests(&["default"], json!({"annotations": {ANNOTATION: 3}}));
        assert_eq!(parse(&loaded).1.len(), 1);
        assert_eq!(parsed("rule: x\n").1.len(), 1);
        assert_eq!(parsed("- rule: pss/seccomp\n  objects: [Pod]\n  reason: r\n  why: x\n").1.len(), 1);
        // No annotation: no exceptions.
        let none = crate::load::for_tests(&["default"], json!({}));
        let (ex, diags) = parse(&none);
        assert_eq!((ex.list.len(), diags.len()), (0, 0));
    }

    #[test]
    fn the_first_matching_exception_is_used_and_others_stay_unused() {
        let loaded = crate::load::for_tests(
            &["default", "host-network"],
            json!({"annotations": {ANNOTATION: "- rule: pss/seccomp\n  objects: [Pod/a, Deployment]\n  reason: first\n- rule: pss/seccomp\n  objects: [Deployment]\n  reason: second\n- rule: pss/seccomp\n  objects: [StatefulSet]\n  reason: third\n"}}),
        );
        let (ex, diags) = parse(&loaded);
        assert!(diags.is_empty(), "{diags:#?}");
        assert_eq!(ex.allow("pss/seccomp", &obj("Deployment", "nex-b"), "default").as_deref(), Some("first"));
        assert_eq!(ex.allow("pss/seccomp", &obj("Pod", "a"), "host-network").as_deref(), Some("first"));
        assert_eq!(*ex.used.borrow(), [true, false, false]);
        let unused = ex.unused(&loaded);
        assert_eq!(unused.len(), 2);
        assert!(unused.iter().all(|d| d.rule == UNUSED.id));
        assert!(unused[0].message.contains("Deployment") && unused[1].message.contains("StatefulSet"));
    }

    /// A bad entry of a block-scalar annotation is placed on its own line and
    /// column in Chart.yaml (the annotation's text is offset into the file).
    #[test]
    fn a_bad_entry_is_located_in_chart_yaml() {
        let text = "apiVersion: v2\nname: t\nannotations:\n  nex-charts/policy-exceptions: |\n    - rule: pss/seccomp\n      objects: [Pod]\n      reason: r\n    - rule: nope/nope\n      objects: [Pod]\n      reason: r\n";
        let parsed = crate::yaml::parse(text);
        let path = std::path::Path::new("charts/t/Chart.yaml");
        let meta = ChartMeta::from_parsed(path, text.to_owned(), &parsed);
        let root = parsed.as_ref().ok().and_then(|y| y.root());
        let chart = crate::catalog::Chart { name: "t".into(), dir: "charts/t".into(), scenarios: Vec::new() };
        let (ex, diags) = parse_meta(&chart, &meta, root);
        assert_eq!(ex.list.len(), 1);
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert_eq!(diags[0].location, Some(Location::at(path, 8, 7)), "{diags:#?}");
        // A flow (quoted) annotation cannot be mapped line by line: the annotation's key.
        let text =
            "apiVersion: v2\nname: t\nannotations:\n  nex-charts/policy-exceptions: \"- rule: nope/nope\"\n";
        let parsed = crate::yaml::parse(text);
        let meta = ChartMeta::from_parsed(path, text.to_owned(), &parsed);
        let (_, diags) = parse_meta(&chart, &meta, parsed.as_ref().ok().and_then(|y| y.root()));
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert_eq!(diags[0].location, Some(Location::at(path, 4, 3)), "{diags:#?}");
    }
}
