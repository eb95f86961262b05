//! `ct/install-ready` over its fixture catalog (tests/fixtures/install-ready):
//! each scenario ct would install is judged against the kind job's cluster and
//! its fixtures (`.github/kind/ct-fixtures/`), a lint-only scenario (`ci/lint/`)
//! is rendered but never judged, and a chart without ci files is judged on its
//! defaults. The catalog itself is clean, and `ct install` applies the fixtures
//! the rule read.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use support::{copy_dir, workspace_root, xtask_in};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/install-ready")
}

fn lint_json(dir: &Path) -> (Option<i32>, Value) {
    let out = xtask_in(dir).args(["lint", "--format", "json"]).output().unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), json)
}

/// (scenario, file:line, message) of every ct/install-ready finding.
fn findings(json: &Value) -> Vec<(String, String, String)> {
    json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "ct/install-ready")
        .map(|d| {
            let l = &d["location"];
            (
                d["scenarios"][0].as_str().unwrap_or_default().to_owned(),
                format!("{}:{}", l["file"].as_str().unwrap_or_default(), l["line"]),
                d["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn each_scenario_ct_installs_is_judged_against_the_kind_cluster_and_its_fixtures() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), tmp.path());
    let (code, json) = lint_json(tmp.path());
    assert_eq!(code, Some(1), "{json:#}");
    let mut found = findings(&json);
    found.sort();
    let deployment = "charts/app/templates/deployment.yaml";
    let expect = [
        (
            "default",
            "charts/defaults-only/templates/service.yaml:6",
            "Service/nex-lb: a LoadBalancer Service never gets an address on kind, and Helm 3's --wait waits for one (ct install runs the defaults: the chart has no ci/*-values.yaml)",
        ),
        (
            "host-network",
            &format!("{deployment}:14"),
            "Deployment/nex-app: the test namespace's Pod Security \"restricted\" level rejects its pods (pss/host-namespaces: hostNetwork is true) (ct install runs ci/host-network-values.yaml)",
        ),
        (
            "missing-key",
            &format!("{deployment}:30"),
            "Deployment/nex-app: container \"app\" reads key other of Secret present, which the fixture in .github/kind/ct-fixtures lacks (ct install runs ci/missing-key-values.yaml)",
        ),
        (
            "missing-secret",
            &format!("{deployment}:30"),
            "Deployment/nex-app: container \"app\" reads Secret absent, which neither the scenario renders nor .github/kind/ct-fixtures holds (ct install runs ci/missing-secret-values.yaml)",
        ),
    ];
    let expect: Vec<(String, String, String)> =
        expect.iter().map(|(s, f, m)| (s.to_string(), f.to_string(), m.to_string())).collect();
    assert_eq!(found, expect);
    // The lint-only scenario (an HTTPRoute, the host network) was rendered, and is not judged.
    let human = xtask_in(tmp.path())
        .args(["render", "charts/app", "--values", "charts/app/ci/lint/route-values.yaml"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&human.stdout).contains("kind: HTTPRoute"));
    assert!(found.iter().all(|(s, ..)| s != "route"));

    // Without the fixture, the scenario that reads it is a finding too; with it moved
    // under ci/lint/, nothing of that scenario is.
    std::fs::remove_dir_all(tmp.path().join(".github")).unwrap();
    let (_, json) = lint_json(tmp.path());
    assert!(
        findings(&json)
            .iter()
            .any(|(s, _, m)| s == "fixture" && m.contains("reads Secret present, which neither")),
        "{:#?}",
        findings(&json)
    );
    let app = tmp.path().join("charts/app/ci");
    for s in ["fixture", "missing-key", "missing-secret", "host-network"] {
        std::fs::rename(app.join(format!("{s}-values.yaml")), app.join(format!("lint/{s}-values.yaml")))
            .unwrap();
    }
    let (_, json) = lint_json(tmp.path());
    let scenarios: Vec<String> = findings(&json).into_iter().map(|(s, ..)| s).collect();
    assert_eq!(scenarios, ["default"], "ct now installs app's defaults, which are clean");
}

#[test]
fn an_unreadable_fixture_stops_the_run_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), tmp.path());
    let file = tmp.path().join(".github/kind/ct-fixtures/secrets.yaml");
    std::fs::write(&file, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: elsewhere\n")
        .unwrap();
    let out = xtask_in(tmp.path()).args(["lint"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(".github/kind/ct-fixtures/secrets.yaml:1") && err.contains("\"elsewhere\""),
        "{err}"
    );
}

/// The catalog: every scenario ct installs is installable, and the fixtures the rule
/// read are the ones `ct install` applies (it lists the folder itself).
#[test]
fn the_catalog_is_install_ready_and_ct_install_applies_the_same_fixtures() {
    let root = workspace_root();
    let (_, json) = lint_json(&root);
    assert_eq!(findings(&json), [], "ct/install-ready on the catalog");
    let files = nex_harness::kind::files(&root).unwrap();
    assert!(files.len() >= 6, "{files:?}");
    let (fixtures, _) = nex_harness::kind::load(&root).unwrap();
    // Each fixture is read by a scenario ct installs (a stale one would hide a missing object).
    let config = nex_harness::config::CtConfig::load(&root).unwrap();
    let charts = nex_harness::catalog::discover(&root, &config).unwrap();
    let mut texts = String::new();
    for c in &charts {
        for s in c.ct_install_scenarios() {
            if let Some(f) = &s.values_file {
                texts.push_str(&std::fs::read_to_string(f).unwrap());
            }
        }
    }
    assert_eq!(fixtures.pod_security(), "restricted");
    for (file, o) in fixtures.objects.iter().filter(|(_, o)| o.kind() != "Namespace") {
        assert!(
            texts.contains(o.name()),
            "{}: {} is named by no scenario ct installs",
            file.display(),
            o.id()
        );
    }
}
