//! `kube/*`: every rendered object validated, strictly, against the Kubernetes
//! JSON schema of its apiVersion and kind (or its CRD's schema) for each
//! Kubernetes version of the chart's matrix. One finding per problem, naming
//! the versions it occurs in.

use super::objects;
use crate::diag::{Diagnostic, Severity};
use crate::kube::Outcome;
use crate::load::LoadedChart;
use crate::manifest::Object;
use std::collections::BTreeMap;

pub const SCHEMA: &str = "kube/schema";
pub const UNKNOWN_KIND: &str = "kube/unknown-kind";
pub const UNAVAILABLE: &str = "kube/schemas-unavailable";
pub const CRD: &str = "kube/crd";
/// `kube/removed-api`: an apiVersion Kubernetes no longer serves (the object cannot be applied).
pub const REMOVED_API: &str = "kube/removed-api";

pub fn check(loaded: &LoadedChart) -> Vec<Diagnostic> {
    let chart = &loaded.chart.name;
    let mut diags: Vec<Diagnostic> = loaded
        .crd_errors
        .iter()
        .map(|e| Diagnostic::error(CRD, chart, format!("cannot read CRD file {e}")))
        .collect();
    // (scenario, object index in rendering, rule, path, message) → versions; the
    // object of the first rendering that saw it stands for the rest.
    type Key = (String, &'static str, String, String, String);
    let mut seen: BTreeMap<Key, (Vec<String>, &Object, Severity)> = BTreeMap::new();
    for r in &loaded.renderings {
        for (obj, outcome) in r.objects.iter().zip(&r.validation) {
            let mut add = |rule: &'static str, path: String, message: String, sev: Severity| {
                // Unavailable schemas concern the run, not the object: say it once per chart.
                let id = if rule == UNAVAILABLE { String::new() } else { obj.id() };
                let key = (r.scenario.name.clone(), rule, id, path, message);
                let e = seen.entry(key).or_insert_with(|| (Vec::new(), obj, sev));
                e.0.push(r.kube_version.clone());
            };
            match outcome {
                Outcome::Valid => {}
                Outcome::Invalid(vs) => {
                    for v in vs {
                        add(SCHEMA, v.path.clone(), v.message.clone(), Severity::Error);
                    }
                }
                Outcome::NoSchema => {
                    match crate::kube::removed::removed(obj.api_version(), obj.kind(), &r.kube_version) {
                        Some(gone) => add(
                            REMOVED_API,
                            "/apiVersion".into(),
                            format!(
                                "{} {} is not served since Kubernetes 1.{}; {}",
                                gone.api_version,
                                gone.kind,
                                gone.removed_in,
                                match gone.replacement {
                                    Some(to) => format!("use {to}"),
                                    None => "the kind was removed (no replacement)".into(),
                                }
                            ),
                            Severity::Error,
                        ),
                        None => add(
                            UNKNOWN_KIND,
                            "/kind".into(),
                            format!(
                                "no schema for {} {}, so it was not validated",
                                obj.api_version(),
                                obj.kind()
                            ),
                            Severity::Warning,
                        ),
                    }
                }
                Outcome::Unavailable(e) => add(UNAVAILABLE, String::new(), e.clone(), Severity::Error),
            }
        }
    }
    for ((scenario, rule, _, path, message), (versions, obj, severity)) in seen {
        let at = if path.is_empty() || rule != SCHEMA { String::new() } else { format!(" at {path}") };
        let f = objects::Finding {
            rule,
            severity,
            path: path.clone(),
            message: format!("{message}{at} (Kubernetes {})", versions.join(", ")),
            hint: match rule {
                UNKNOWN_KIND => Some(
                    "add its CRD to the chart's crds/ or the catalog's schemas/crds/, or fix apiVersion/kind"
                        .into(),
                ),
                _ => None,
            },
        };
        diags.push(objects::diagnostic(loaded, obj, &scenario, &f));
    }
    diags
}
