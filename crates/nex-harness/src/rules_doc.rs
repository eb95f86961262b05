//! The rule reference, generated from the registry: `docs/rules.md`
//! (`cargo xtask docs`) and `cargo xtask lint --list-rules`.

use crate::diag::Severity;
use crate::rule::{Profile, Rule};
use std::fmt::Write;

/// Where the generated reference lives, from the repository root.
pub const FILE: &str = "docs/rules.md";

fn severity(r: &Rule) -> &'static str {
    match r.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn profiles(r: &Rule) -> String {
    r.profiles.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")
}

/// `docs/rules.md`: every registered rule, in registry order.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Rules\n\n\
         <!-- Generated from the rule registry by `cargo xtask docs`; do not edit. -->\n\n\
         Every finding of `cargo xtask lint` names one of these rules. `profile: catalog` (this\n\
         repository's default) runs every rule; `profile: ct` runs the rules marked `ct`: what\n\
         `ct lint` checks plus the objective checks, without this catalog's house rules.\n\
         `harness.yaml` can turn any rule `off` or change its severity; a chart's policy\n\
         exception may allow the findings of a rule marked exceptable. The same table:\n\
         `cargo xtask lint --list-rules`.\n\n\
         | rule | severity | profiles | exceptable | what it catches |\n\
         | --- | --- | --- | --- | --- |\n",
    );
    for r in crate::checks::rules() {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            r.id,
            severity(r),
            profiles(r),
            if r.exceptable { "yes" } else { "" },
            r.summary.replace('|', "\\|"),
        );
    }
    out
}

/// The `--list-rules` table: one rule a line, aligned.
pub fn text() -> String {
    let rules: Vec<&Rule> = crate::checks::rules().collect();
    let w = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(out, "{:w$}  {:8} {:12} {:10} summary", "rule", "severity", "profiles", "exceptable");
    for r in rules {
        let exc = if r.exceptable { "yes" } else { "-" };
        let _ = writeln!(out, "{:w$}  {:8} {:12} {:10} {}", r.id, severity(r), profiles(r), exc, r.summary);
    }
    out
}

/// The `--list-rules --format json` document.
pub fn json() -> String {
    let list: Vec<serde_json::Value> = crate::checks::rules()
        .map(|r| {
            serde_json::json!({
                "id": r.id,
                "severity": severity(r),
                "summary": r.summary,
                "exceptable": r.exceptable,
                "profiles": r.profiles.iter().map(|p| p.name()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&list).unwrap_or_default();
    s.push('\n');
    s
}

/// The rules a profile runs.
pub fn in_profile(profile: Profile) -> impl Iterator<Item = &'static Rule> {
    crate::checks::rules().filter(move |r| r.in_profile(profile))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_rules_md_is_generated_from_the_registry() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(FILE);
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(have == markdown(), "{FILE} is stale: run `cargo xtask docs`");
    }

    #[test]
    fn every_rule_is_listed_in_each_form() {
        let (md, text, json) = (markdown(), text(), json());
        let parsed: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed.len(), crate::checks::rules().count());
        for r in crate::checks::rules() {
            assert!(md.contains(&format!("| `{}` |", r.id)), "{}", r.id);
            assert!(text.lines().any(|l| l.split_whitespace().next() == Some(r.id)), "{}", r.id);
            assert!(parsed.iter().any(|v| v["id"] == r.id), "{}", r.id);
        }
    }

    #[test]
    fn the_ct_profile_leaves_house_rules_out() {
        let ct: Vec<&str> = in_profile(Profile::Ct).map(|r| r.id).collect();
        assert!(ct.contains(&"helm/lint") && ct.contains(&"kube/schema"));
        assert!(!ct.contains(&"policy/resources") && !ct.contains(&"values/camel-case"));
    }
}
