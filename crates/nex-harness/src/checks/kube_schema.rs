//! `kube/*`: every rendered object validated, strictly, against the Kubernetes
//! JSON schema of its apiVersion and kind (or its CRD's schema) for each
//! Kubernetes version of the chart's matrix. One finding per problem, naming
//! the versions it occurs in.

use super::objects;
use crate::diag::{Diagnostic, Severity};
use crate::kube::Outcome;
use crate::load::LoadedChart;
use crate::manifest::Object;
use crate::rule::{EVERY, Rule};
use std::collections::BTreeMap;

pub const SCHEMA: Rule = Rule::error(
    "kube/schema",
    EVERY,
    "an object breaks the Kubernetes JSON schema of its apiVersion and kind (strict: unknown fields are errors), for each version of the chart's matrix; names the object, the JSON path and the versions",
);
pub const UNKNOWN_KIND: Rule = Rule::warning(
    "kube/unknown-kind",
    EVERY,
    "no schema knows the object's apiVersion/kind: add its CRD to the chart's `crds/` or to `schemas/crds/`",
);
pub const UNAVAILABLE: Rule =
    Rule::error("kube/schemas-unavailable", EVERY, "the Kubernetes schemas could not be provisioned");
pub const CRD: Rule =
    Rule::error("kube/crd", EVERY, "a CRD file in a chart's `crds/` or in `schemas/crds/` cannot be read");
/// An apiVersion Kubernetes no longer serves (the object cannot be applied).
pub const REMOVED_API: Rule = Rule::error(
    "kube/removed-api",
    EVERY,
    "an object's apiVersion is no longer served by a Kubernetes version of the chart's matrix (e.g. `policy/v1beta1` PodDisruptionBudget, removed in 1.25); names the version that removed it and the replacement",
);
pub const NOT_SERVED: Rule = Rule::warning(
    "kube/api-not-served",
    EVERY,
    "an object's apiVersion/kind that a newer Kubernetes of the chart's matrix serves but the oldest its `kubeVersion` admits (1.25 without one) does not (e.g. an API new in 1.34): names both versions",
);
pub const RULES: &[Rule] = &[SCHEMA, UNKNOWN_KIND, UNAVAILABLE, CRD, REMOVED_API, NOT_SERVED];

/// `1.25.0` → `1.25`.
fn short(version: &str) -> &str {
    version.strip_suffix(".0").unwrap_or(version)
}

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
    // (scenario, apiVersion, kind) → the Kubernetes versions that had a schema for it.
    let mut served: BTreeMap<(&str, &str, &str), Vec<&str>> = BTreeMap::new();
    for r in &loaded.renderings {
        for (obj, outcome) in r.objects.iter().zip(&r.validation) {
            if matches!(outcome, Outcome::Valid | Outcome::Invalid(_)) {
                served
                    .entry((r.scenario.name.as_str(), obj.api_version(), obj.kind()))
                    .or_default()
                    .push(r.kube_version.as_str());
            }
        }
    }
    let kube_version = loaded.meta.kube_version.as_deref().filter(|k| !k.trim().is_empty());
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
                        add(SCHEMA.id, v.path.clone(), v.message.clone(), Severity::Error);
                    }
                }
                Outcome::NoSchema => {
                    match crate::kube::removed::removed(obj.api_version(), obj.kind(), &r.kube_version) {
                        Some(gone) => add(
                            REMOVED_API.id,
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
                        None => {
                            match served.get(&(r.scenario.name.as_str(), obj.api_version(), obj.kind())) {
                                // A newer Kubernetes of the matrix has it: an API this version lacks.
                                Some(versions) => add(
                                    NOT_SERVED.id,
                                    "/apiVersion".into(),
                                    format!(
                                        "{} {} is not served by Kubernetes {}, which the chart admits ({}); Kubernetes {} serves it",
                                        obj.api_version(),
                                        obj.kind(),
                                        short(&r.kube_version),
                                        match kube_version {
                                            Some(k) => format!("kubeVersion {k:?}"),
                                            None => "it sets no kubeVersion".to_owned(),
                                        },
                                        versions.iter().map(|v| short(v)).collect::<Vec<_>>().join(", ")
                                    ),
                                    Severity::Warning,
                                ),
                                None => add(
                                    UNKNOWN_KIND.id,
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
                    }
                }
                Outcome::Unavailable(e) => add(UNAVAILABLE.id, String::new(), e.clone(), Severity::Error),
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
                _ if rule == UNKNOWN_KIND.id => Some(match &loaded.settings.crd_folder {
                    Some(folder) => {
                        format!("add its CRD to the chart's crds/ or to {folder}/, or fix apiVersion/kind")
                    }
                    None => "a custom resource: add its CRD to the chart's crds/ (or to schemas/crds/ at the \
                             repository root); otherwise fix apiVersion/kind"
                        .into(),
                }),
                _ if rule == NOT_SERVED.id => Some(
                    "set kubeVersion to the Kubernetes versions that serve it (for example \">=1.34.0-0\"), or \
                     render it only where the cluster has it (.Capabilities.APIVersions.Has)"
                        .into(),
                ),
                _ => None,
            },
        };
        diags.push(objects::diagnostic(loaded, obj, &scenario, &f));
    }
    diags
}
