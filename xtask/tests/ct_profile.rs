//! Profile ct is never stricter than ct (with helm 3, as ct's image) and
//! Kubernetes (issue 25): a repository without a harness.yaml, charts written
//! as others write them (tests/fixtures/ct-profile), and exactly the findings
//! ct or a cluster would agree with, each at its line.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod support;
use support::{copy_dir, xtask_in as xtask};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ct-profile")
}

/// The fixture, copied and linted once per profile.
fn report(profile: &str) -> &'static Value {
    static CT: OnceLock<(tempfile::TempDir, Value)> = OnceLock::new();
    static CATALOG: OnceLock<(tempfile::TempDir, Value)> = OnceLock::new();
    let cell = if profile == "ct" { &CT } else { &CATALOG };
    &cell
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            copy_dir(&fixture(), dir.path());
            let mut cmd = xtask(dir.path());
            cmd.args(["lint", "--format", "json"]);
            if profile != "ct" {
                cmd.args(["--profile", profile]);
            }
            let o = cmd.output().unwrap();
            assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
            (dir, serde_json::from_slice(&o.stdout).unwrap())
        })
        .1
}

fn findings(profile: &str) -> Vec<(String, String, String, u64, u64)> {
    report(profile)["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let l = &d["location"];
            (
                d["chart"].as_str().unwrap_or_default().to_owned(),
                d["rule"].as_str().unwrap().to_owned(),
                l["file"].as_str().unwrap_or_default().to_owned(),
                l["line"].as_u64().unwrap_or(0),
                l["column"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn only_what_ct_or_kubernetes_would_say_is_said() {
    // Not said, though the harness once said them: the name differs from the folder
    // (chart/name), `v1.2.0` (chart/version), the bare defaults fail the schema though ct
    // lints with the ci file only (values/schema), ci/lint.sh and ci/extra_args
    // (ct/values-file-name), helm lint's guess at the PodDisruptionBudget's apiVersion
    // that the Capabilities guard excludes on every real Kubernetes (helm/lint).
    let expected = vec![
        // A custom resource no schema knows, in a chart named unlike its folder: the
        // finding names the template (helm's `# Source:` says `app/templates/…`) and
        // the line of its kind, not the `issuerRef`'s.
        (
            "app-folder".to_owned(),
            "kube/unknown-kind".to_owned(),
            "charts/app-folder/templates/certificate.yaml".to_owned(),
            2,
            1,
        ),
        // yamllint reports the second line of a block scalar too (ct lint fails on it).
        (
            "app-folder".to_owned(),
            "yaml/trailing-spaces".to_owned(),
            "charts/app-folder/values.yaml".to_owned(),
            5,
            13,
        ),
        // An API Kubernetes serves from 1.34 on, in a chart that claims every version.
        (
            "new-api".to_owned(),
            "kube/api-not-served".to_owned(),
            "charts/new-api/templates/deviceclass.yaml".to_owned(),
            1,
            1,
        ),
    ];
    assert_eq!(findings("ct"), expected, "{:#}", report("ct"));
    let unknown = &report("ct")["diagnostics"][0];
    let hint = unknown["hint"].as_str().unwrap();
    assert!(
        hint.contains("chart's crds/") && !hint.contains("catalog"),
        "no catalog folder elsewhere: {hint}"
    );
    let d = &report("ct")["diagnostics"][2];
    let message = d["message"].as_str().unwrap();
    assert!(
        message.contains("not served by Kubernetes 1.25") && message.contains("1.37 serves it"),
        "{message}"
    );
    assert!(!d["hint"].as_str().unwrap().contains("CRD"), "not a custom resource: {d}");
}

#[test]
fn the_house_rules_are_the_catalog_profile_s() {
    let rules: Vec<String> = findings("catalog").into_iter().map(|f| f.1).collect();
    for house in ["chart/name", "chart/version", "values/schema"] {
        assert!(rules.iter().any(|r| r == house), "{house} under profile catalog: {rules:?}");
    }
}
