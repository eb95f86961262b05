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

use crate::checks::{policy, pss};
use crate::diag::{Diagnostic, Location};
use crate::helm::RELEASE;
use crate::load::LoadedChart;
use crate::manifest::Object;
use serde::Deserialize;
use std::cell::RefCell;

pub const ANNOTATION: &str = "nex-charts/policy-exceptions";
pub const UNUSED: &str = "policy/unused-exception";
pub const INVALID: &str = "policy/invalid-exception";

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
        let i = self.list.iter().position(|e| {
            e.rule == rule
                && (e.scenarios.is_empty() || e.scenarios.iter().any(|s| s == scenario))
                && e.objects.iter().any(|o| matches_object(o, obj))
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
                .at(annotation_location(loaded))
            })
            .collect()
    }
}

/// `Kind` matches every object of that kind; `Kind/name` matches the rendered
/// name, with or without the release prefix (`nex-`).
fn matches_object(pattern: &str, obj: &Object) -> bool {
    match pattern.split_once('/') {
        None => pattern == obj.kind(),
        Some((kind, name)) => {
            let rendered = obj.name();
            kind == obj.kind()
                && (name == rendered || rendered.strip_prefix(&format!("{RELEASE}-")) == Some(name))
        }
    }
}

fn annotation_location(loaded: &LoadedChart) -> Location {
    let file = loaded.chart.dir.join("Chart.yaml");
    match loaded.chart_yaml.lines().position(|l| l.contains(ANNOTATION)) {
        Some(i) => {
            let col =
                loaded.chart_yaml.lines().nth(i).map(|l| l.len() - l.trim_start().len() + 1).unwrap_or(1);
            Location::at(file, i + 1, col)
        }
        None => Location::file(file),
    }
}

/// The chart's exceptions; malformed ones are errors (never silently ignored).
pub fn parse(loaded: &LoadedChart) -> Result<Exceptions, Vec<Diagnostic>> {
    let Some(raw) = loaded.chart_meta.pointer("/annotations").and_then(|a| a.get(ANNOTATION)) else {
        return Ok(Exceptions::default());
    };
    let err = |msg: String| {
        vec![
            Diagnostic::error(INVALID, &loaded.chart.name, msg)
                .hint(format!(
                    "{ANNOTATION} is a YAML string holding a list of rule/objects/scenarios/reason"
                ))
                .at(annotation_location(loaded)),
        ]
    };
    let Some(text) = raw.as_str() else {
        return Err(err(format!("{ANNOTATION} must be a string (annotations are strings)")));
    };
    let list: Vec<Exception> = serde_saphyr::from_str(text)
        .map_err(|e| err(format!("{ANNOTATION}: {}", e.to_string().lines().next().unwrap_or_default())))?;
    let mut problems = Vec::new();
    for e in &list {
        if !pss::RULES.contains(&e.rule.as_str()) && !policy::RULES.contains(&e.rule.as_str()) {
            problems
                .push(format!("unknown rule {:?}: only pss/* and policy/* rules can be excepted", e.rule));
        }
        if e.objects.is_empty() {
            problems.push(format!("the exception for {} names no objects", e.rule));
        }
        if e.reason.trim().is_empty() {
            problems.push(format!("the exception for {} gives no reason", e.rule));
        }
        for s in &e.scenarios {
            if !loaded.chart.scenarios.iter().any(|x| &x.name == s) {
                problems.push(format!(
                    "the exception for {} names scenario {s:?}, which the chart does not have",
                    e.rule
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems.into_iter().flat_map(err).collect());
    }
    Ok(Exceptions::new(list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(kind: &str, name: &str) -> Object {
        Object { source: None, line: 1, value: json!({"kind": kind, "metadata": {"name": name}}) }
    }

    #[test]
    fn objects_match_by_kind_or_name_with_or_without_the_release_prefix() {
        let d = obj("Deployment", "nex-adguard-home");
        assert!(matches_object("Deployment", &d));
        assert!(matches_object("Deployment/adguard-home", &d));
        assert!(matches_object("Deployment/nex-adguard-home", &d));
        assert!(!matches_object("Deployment/other", &d));
        assert!(!matches_object("StatefulSet", &d));
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

    fn parsed(yaml: &str) -> Result<Exceptions, Vec<String>> {
        let loaded =
            crate::load::for_tests(&["default", "host-network"], json!({"annotations": {ANNOTATION: yaml}}));
        parse(&loaded).map_err(|d| d.into_iter().map(|d| d.message).collect())
    }

    #[test]
    fn valid_exceptions_parse_and_each_problem_is_named() {
        let ok = "- rule: pss/host-namespaces\n  objects: [Deployment]\n  scenarios: [host-network]\n  reason: r\n- rule: policy/probes\n  objects: [Job/x]\n  reason: runs once\n";
        assert_eq!(parsed(ok).map(|e| e.list.len()), Ok(2));
        let bad = "- rule: helm/lint\n  objects: [Deployment]\n  reason: r\n- rule: pss/privileged\n  objects: []\n  reason: r\n- rule: policy/probes\n  objects: [Job]\n  reason: \"  \"\n- rule: pss/seccomp\n  objects: [Pod]\n  scenarios: [default, nope]\n  reason: r\n";
        let errors = parsed(bad).err().unwrap();
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(errors[0].contains("unknown rule \"helm/lint\""), "{errors:#?}");
        assert!(errors[1].contains("pss/privileged names no objects"), "{errors:#?}");
        assert!(errors[2].contains("policy/probes gives no reason"), "{errors:#?}");
        assert!(errors[3].contains("scenario \"nope\""), "{errors:#?}");
        // Not a string, not a list, an unknown field: errors, never ignored.
        let loaded = crate::load::for_tests(&["default"], json!({"annotations": {ANNOTATION: 3}}));
        assert!(parse(&loaded).is_err());
        assert!(parsed("rule: x\n").is_err());
        assert!(parsed("- rule: pss/seccomp\n  objects: [Pod]\n  reason: r\n  why: x\n").is_err());
        // No annotation: no exceptions.
        let none = crate::load::for_tests(&["default"], json!({}));
        assert_eq!(parse(&none).map(|e| e.list.len()).ok(), Some(0));
    }

    #[test]
    fn the_first_matching_exception_is_used_and_others_stay_unused() {
        let ex = parsed("- rule: pss/seccomp\n  objects: [Pod/a, Deployment]\n  reason: first\n- rule: pss/seccomp\n  objects: [Deployment]\n  reason: second\n- rule: pss/seccomp\n  objects: [StatefulSet]\n  reason: third\n").unwrap();
        assert_eq!(ex.allow("pss/seccomp", &obj("Deployment", "nex-b"), "default").as_deref(), Some("first"));
        assert_eq!(ex.allow("pss/seccomp", &obj("Pod", "a"), "host-network").as_deref(), Some("first"));
        assert_eq!(*ex.used.borrow(), [true, false, false]);
        let loaded = crate::load::for_tests(&["default"], json!({}));
        let unused = ex.unused(&loaded);
        assert_eq!(unused.len(), 2);
        assert!(unused.iter().all(|d| d.rule == UNUSED));
        assert!(unused[0].message.contains("Deployment") && unused[1].message.contains("StatefulSet"));
    }
}
