//! Checks: pure functions from a loaded chart to diagnostics.
//!
//! Adding a check means writing `fn(&LoadedChart) -> Vec<Diagnostic>` in its own
//! module and listing it in [`ALL`]; the pipeline runs every listed check. Its
//! rules are declared beside it and listed in [`REGISTRY`] (see [`crate::rule`]).

use crate::diag::Diagnostic;
use crate::load::LoadedChart;
use crate::rule::{EVERY, Rule};

pub mod chart_yaml;
pub mod contract;
pub mod deps;
pub mod docs;
pub mod helm_lint;
pub mod image;
pub mod install_ready;
pub mod kube_schema;
pub mod objects;
pub mod policy;
pub mod pss;
pub mod render;
pub mod runtime;
pub mod secret_keep;
pub mod sources;
pub mod stack;
pub mod stack_serves;
pub mod upgrade;
pub mod value_names;
pub mod values_schema;
pub mod yaml_hygiene;

pub type Check = fn(&LoadedChart) -> Vec<Diagnostic>;

/// Every check, with the name it is known by.
pub const ALL: &[(&str, Check)] = &[
    ("deps", deps::check),
    ("helm-lint", helm_lint::check),
    ("sources", sources::check),
    ("chart-yaml", chart_yaml::check),
    ("values-schema", values_schema::check),
    ("value-names", value_names::check),
    ("contract", contract::check),
    ("yaml-hygiene", yaml_hygiene::check),
    ("render", render::check),
    ("kube-schema", kube_schema::check),
    // Pod Security "restricted" and the catalog's rules, with the chart's exceptions.
    ("policy", policy::check),
    // The chart's runtime contract against every rendered scenario.
    ("runtime", runtime::check),
    ("docs", docs::check),
    // What ct install would install on the kind job's cluster.
    ("install-ready", install_ready::check),
    // Breaking changes for users of the target branch's version (`lint --changed`).
    ("upgrade", upgrade::check),
];

/// `harness/panic`: a check crashed on this chart (a bug in the harness, reported
/// as a finding so the other checks and charts still run).
pub const RULE_PANIC: Rule = Rule::error(
    "harness/panic",
    EVERY,
    "a check crashed on a chart (a harness bug); the other checks and charts still run",
);

pub fn run_all(chart: &LoadedChart) -> Vec<Diagnostic> {
    ALL.iter()
        .flat_map(|(name, check)| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(chart))).unwrap_or_else(|_| {
                vec![Diagnostic::error(
                    RULE_PANIC,
                    &chart.chart.name,
                    format!("the {name} check crashed on this chart (a harness bug; please report it)"),
                )]
            })
        })
        .collect()
}

pub const RULES: &[Rule] = &[RULE_PANIC];

/// The rule registry: every module's `RULES`, each rule declared once beside
/// its check (see [`crate::rule`] for how to add one). `--list-rules`,
/// `docs/rules.md`, `harness.yaml` and exception validation all read it.
pub const REGISTRY: &[&[Rule]] = &[
    helm_lint::RULES,
    deps::RULES,
    chart_yaml::RULES,
    crate::catalog::RULES,
    values_schema::RULES,
    contract::RULES,
    crate::schema::RULES,
    sources::RULES,
    yaml_hygiene::RULES,
    crate::config::RULES,
    crate::lintconf::RULES,
    RULES,
    render::RULES,
    kube_schema::RULES,
    pss::RULES,
    policy::RULES,
    policy::exceptions::RULES,
    runtime::RULES,
    stack::RULES,
    stack_serves::RULES,
    image::RULES,
    install_ready::RULES,
    docs::RULES,
    upgrade::RULES,
];

/// Every registered rule, in registry order.
pub fn rules() -> impl Iterator<Item = &'static Rule> {
    REGISTRY.iter().flat_map(|m| m.iter())
}

/// The registered rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    rules().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_well_formed_and_registered_once() {
        let mut seen = std::collections::BTreeSet::new();
        for r in rules() {
            assert!(crate::rule::well_formed(r.id), "{}", r.id);
            assert!(seen.insert(r.id), "{} is registered twice", r.id);
            assert!(!r.summary.trim().is_empty() && !r.summary.contains('\n'), "{}: one-line summary", r.id);
            assert!(
                r.in_profile(crate::rule::Profile::Catalog),
                "{}: the catalog profile holds every rule",
                r.id
            );
        }
    }

    /// Literals that look like rule ids but are not (annotations, API groups).
    const NOT_RULES: &[&str] =
        &["nex-charts/publish", "nex-charts/policy-exceptions", "schemas/crds", "schemas/gitops"];

    /// Every string literal in `text` that follows one of `openers` (after white space).
    fn literals_after<'a>(text: &'a str, openers: &[&str]) -> Vec<&'a str> {
        let mut out = Vec::new();
        for opener in openers {
            for (at, _) in text.match_indices(opener) {
                let rest = text[at + opener.len()..].trim_start();
                if let Some(lit) = rest.strip_prefix('"').and_then(|r| r.split_once('"')).map(|(l, _)| l) {
                    out.push(lit);
                }
            }
        }
        out
    }

    /// The rule ids a source file can emit or declare: literals given to a
    /// diagnostic or finding, declared as a `Rule`, or held by a `&str` constant.
    fn emitted(code: &str) -> Vec<String> {
        let mut ids: Vec<String> = literals_after(
            code,
            &[
                "Diagnostic::error(",
                "Diagnostic::warning(",
                "Diagnostic::new(",
                "Finding::error(",
                "Finding::warning(",
                "Rule::error(",
                "Rule::warning(",
                "id:",
                ": &str =",
                ": &'static str =",
            ],
        )
        .into_iter()
        .filter(|l| crate::rule::well_formed(l) && !NOT_RULES.contains(l))
        .map(str::to_owned)
        .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    #[test]
    fn code_emits_no_rule_id_the_registry_lacks() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut stack = vec![root.join("src"), root.join("../../xtask/src")];
        let mut files = 0;
        let mut missing = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files += 1;
                    let text = std::fs::read_to_string(&path).unwrap();
                    // Unit tests may name made-up rules.
                    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                    let code: String = code
                        .lines()
                        .filter(|l| !l.trim_start().starts_with("//"))
                        .collect::<Vec<_>>()
                        .join("\n");
                    for id in emitted(&code) {
                        if rule(&id).is_none() {
                            missing.push(format!("{}: {id}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(files > 50, "the sources were not found ({files} files)");
        assert!(
            missing.is_empty(),
            "rule ids no registry holds (declare each as a `Rule` and list it in its module's RULES, \
             see crate::rule; or add a non-rule literal to NOT_RULES):\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn the_scan_finds_unregistered_ids_in_each_form() {
        let code = r#"
            pub const A: &str = "kube/not-registered-a";
            pub const B: Rule = Rule::error("kube/not-registered-b", EVERY, "x");
            out.push(Finding::warning(
                "kube/not-registered-c", path, "m"));
            let d = Diagnostic::error("helm/lint", chart, "m");
            let v = "policy/v1beta1";
        "#;
        assert_eq!(
            emitted(code),
            ["helm/lint", "kube/not-registered-a", "kube/not-registered-b", "kube/not-registered-c"]
        );
        assert!(rule("helm/lint").is_some() && rule("kube/not-registered-a").is_none());
    }
}
