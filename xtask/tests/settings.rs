//! The run's settings on real catalogs: `harness.yaml` (profile, rule
//! overrides, located errors), `--config` for a ct.yaml elsewhere, ct's
//! `helm-lint-extra-args`, and `--list-rules` against the registry.

use serde_json::Value;
use std::path::{Path, PathBuf};

mod support;
use support::{copy_dir, xtask_in as xtask};

fn render_fixture(chart: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/render/charts").join(chart)
}

/// A catalog holding the `privileged` fixture chart (Pod Security and policy
/// findings, otherwise valid) under `dir`, with a plain ct.yaml at the root, and a
/// kind job whose test namespace is privileged (so ct/install-ready admits the pod).
fn catalog(dir: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&render_fixture("privileged"), &tmp.path().join(dir).join("privileged"));
    let ct = format!("chart-dirs: [{dir}]\ncheck-version-increment: false\n");
    std::fs::write(tmp.path().join("ct.yaml"), ct).unwrap();
    let fixtures = tmp.path().join(nex_harness::kind::FIXTURES_DIR);
    std::fs::create_dir_all(&fixtures).unwrap();
    std::fs::write(fixtures.join("namespace.yaml"), PRIVILEGED_NAMESPACE).unwrap();
    tmp
}

const PRIVILEGED_NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: nex\n  labels:\n    pod-security.kubernetes.io/enforce: privileged\n";

fn lint(dir: &Path, extra: &[&str]) -> (Option<i32>, Value, String) {
    let out = xtask(dir).args(["lint", "--format", "json"]).args(extra).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), json, stderr)
}

/// (rule, severity) of every finding.
fn findings(json: &Value) -> Vec<(String, String)> {
    json["diagnostics"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| (d["rule"].as_str().unwrap().to_owned(), d["severity"].as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn house(rule: &str) -> bool {
    nex_harness::checks::rule(rule).is_some_and(|r| !r.in_profile(nex_harness::rule::Profile::Ct))
}

#[test]
fn the_ct_profile_leaves_house_rules_out_and_catalog_keeps_them() {
    let tmp = catalog("charts");
    // No harness.yaml: profile ct.
    let (code, json, err) = lint(tmp.path(), &[]);
    let ct = findings(&json);
    assert!(!ct.iter().any(|(r, _)| house(r)), "house rules under profile ct: {ct:?}");
    assert_eq!(code, Some(0), "{ct:?} {err}");
    assert_eq!(json["charts"].as_array().map(Vec::len), Some(1), "{json}");
    // ct/install-ready judges this repository's own kind job (a namespace enforcing
    // "restricted" unless a fixture says otherwise): a house rule. Profile ct leaves it
    // off; harness.yaml may turn it on.
    let namespace = tmp.path().join(nex_harness::kind::FIXTURES_DIR).join("namespace.yaml");
    std::fs::remove_file(&namespace).unwrap();
    let (code, json, _) = lint(tmp.path(), &[]);
    assert_eq!(findings(&json), []);
    assert_eq!(code, Some(0));
    std::fs::write(tmp.path().join("harness.yaml"), "profile: ct\nrules:\n  ct/install-ready: error\n")
        .unwrap();
    let (code, json, _) = lint(tmp.path(), &[]);
    assert_eq!(findings(&json), [("ct/install-ready".into(), "error".into())]);
    assert_eq!(code, Some(1));
    std::fs::write(&namespace, PRIVILEGED_NAMESPACE).unwrap();

    std::fs::write(tmp.path().join("harness.yaml"), "profile: catalog\n").unwrap();
    let (code, json, _) = lint(tmp.path(), &[]);
    let all = findings(&json);
    assert!(all.contains(&("pss/privileged".into(), "error".into())), "{all:?}");
    assert_eq!(code, Some(1));

    // The flag overrides the file.
    let (code, json, _) = lint(tmp.path(), &["--profile", "ct"]);
    assert!(!findings(&json).iter().any(|(r, _)| house(r)));
    assert_eq!(code, Some(0));
}

#[test]
fn harness_yaml_rules_turn_a_rule_off_or_change_its_severity() {
    let tmp = catalog("charts");
    std::fs::write(tmp.path().join("harness.yaml"), "profile: catalog\nrules:\n  pss/privileged: warning\n")
        .unwrap();
    let (code, json, err) = lint(tmp.path(), &[]);
    let after = findings(&json);
    assert!(after.contains(&("pss/privileged".into(), "warning".into())), "{after:?} {err}");
    assert_eq!(code, Some(0), "a warning does not fail the run");
    std::fs::write(tmp.path().join("harness.yaml"), "profile: catalog\nrules:\n  pss/privileged: off\n")
        .unwrap();
    let (code, json, _) = lint(tmp.path(), &[]);
    assert!(!findings(&json).iter().any(|(r, _)| r == "pss/privileged"));
    assert_eq!(code, Some(0));

    // Under profile ct a rule named in `rules:` runs all the same.
    std::fs::write(tmp.path().join("harness.yaml"), "profile: ct\nrules:\n  pss/privileged: error\n")
        .unwrap();
    let (code, json, _) = lint(tmp.path(), &[]);
    let ct: Vec<String> = findings(&json).into_iter().filter(|(r, _)| house(r)).map(|(r, _)| r).collect();
    assert_eq!(ct, ["pss/privileged"]);
    assert_eq!(code, Some(1));
}

#[test]
fn an_unknown_rule_or_key_in_harness_yaml_stops_the_run_at_its_place() {
    let tmp = catalog("charts");
    std::fs::write(
        tmp.path().join("harness.yaml"),
        "profile: catalog\nrules:\n  pss/privilegd: off\nrelese: x\n",
    )
    .unwrap();
    let (code, _, err) = lint(tmp.path(), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("harness.yaml:3:3: unknown rule `pss/privilegd` (did you mean `pss/privileged`?)"),
        "{err}"
    );
    assert!(err.contains("harness.yaml:4:1: unknown key `relese` (did you mean `release`?)"), "{err}");
    // --harness-config names another file; a missing one is an error too.
    std::fs::write(tmp.path().join("other.yaml"), "profile: catalog\n").unwrap();
    let (code, json, _) = lint(tmp.path(), &["--harness-config", "other.yaml"]);
    assert_eq!(code, Some(1));
    assert!(findings(&json).iter().any(|(r, _)| r == "pss/privileged"));
    let (code, _, err) = lint(tmp.path(), &["--harness-config", "gone.yaml"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("gone.yaml"), "{err}");
}

#[test]
fn config_points_at_a_ct_yaml_kept_elsewhere() {
    let tmp = catalog("kubernetes");
    let nested = tmp.path().join(".ci/ct");
    std::fs::create_dir_all(&nested).unwrap();
    std::fs::rename(tmp.path().join("ct.yaml"), nested.join("ct.yaml")).unwrap();
    std::fs::write(
        nested.join("ct.yaml"),
        "chart-dirs: [kubernetes]\ncheck-version-increment: false\nchrt-dirs: []\n",
    )
    .unwrap();
    let (code, json, err) = lint(tmp.path(), &["--config", ".ci/ct/ct.yaml"]);
    assert_eq!(json["charts"].as_array().map(Vec::len), Some(1), "{json} {err}");
    // Its findings name the file where it is.
    let d = json["diagnostics"].as_array().unwrap().iter().find(|d| d["rule"] == "ct/unknown-key").unwrap();
    assert_eq!(d["location"]["file"], ".ci/ct/ct.yaml");
    assert_eq!(d["location"]["line"], 3);
    assert_eq!(code, Some(1));
    let (code, _, err) = lint(tmp.path(), &["--config", ".ci/missing.yaml"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("missing.yaml"), "{err}");
}

#[test]
fn helm_lint_is_strict_only_where_ct_yaml_asks() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("charts/hpa");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: hpa\nversion: 0.1.0\n").unwrap();
    std::fs::write(chart.join("values.yaml"), "replicas: 1\n").unwrap();
    // helm lint warns about a deprecated API (a warning, not an error, for helm).
    std::fs::write(
        chart.join("templates/hpa.yaml"),
        "apiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: x\n",
    )
    .unwrap();
    let helm_lint = |ct: &str| {
        std::fs::write(tmp.path().join("ct.yaml"), ct).unwrap();
        let (_, json, err) = lint(tmp.path(), &[]);
        let f: Vec<String> =
            findings(&json).into_iter().filter(|(r, _)| r == "helm/lint").map(|(_, s)| s).collect();
        assert!(!f.is_empty(), "no helm/lint finding: {json} {err}");
        f
    };
    let base = "chart-dirs: [charts]\ncheck-version-increment: false\n";
    assert!(helm_lint(base).iter().all(|s| s == "warning"));
    assert!(helm_lint(&format!("{base}helm-lint-extra-args: --strict\n")).iter().all(|s| s == "error"));
    // ct's flag overrides the file, both ways.
    let (_, json, _) = lint(tmp.path(), &["--helm-lint-extra-args="]);
    assert!(findings(&json).iter().filter(|(r, _)| r == "helm/lint").all(|(_, s)| s == "warning"));
    std::fs::write(tmp.path().join("ct.yaml"), base).unwrap();
    let (_, json, _) = lint(tmp.path(), &["--helm-lint-extra-args", "--strict"]);
    let strict: Vec<(String, String)> =
        findings(&json).into_iter().filter(|(r, _)| r == "helm/lint").collect();
    assert!(!strict.is_empty() && strict.iter().all(|(_, s)| s == "error"), "{strict:?}");
}

#[test]
fn list_rules_lists_every_registered_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let out = xtask(tmp.path()).args(["lint", "--list-rules", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = listed.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let registry: Vec<&str> = nex_harness::checks::rules().map(|r| r.id).collect();
    assert_eq!(ids, registry);
    assert!(ids.len() > 80, "{}", ids.len());
    let text = xtask(tmp.path()).args(["lint", "--list-rules"]).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    for id in registry {
        assert!(text.lines().any(|l| l.starts_with(&format!("{id} "))), "{id}");
    }
}

#[test]
fn a_bad_exception_is_its_own_finding_and_the_valid_ones_still_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("charts/excepted");
    copy_dir(&render_fixture("excepted"), &chart);
    std::fs::write(tmp.path().join("ct.yaml"), "chart-dirs: [charts]\ncheck-version-increment: false\n")
        .unwrap();
    std::fs::write(tmp.path().join("harness.yaml"), "profile: catalog\n").unwrap();
    let path = chart.join("Chart.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let head = &text[..text.find("  nex-charts/policy-exceptions: |\n").unwrap()];
    let exceptions = "  nex-charts/policy-exceptions: |\n\
                      \x20   - rule: pss/privileged\n\
                      \x20     objects: [Deployment/excepted]\n\
                      \x20     reason: The fixture needs a privileged container.\n\
                      \x20   - rule: kube/schema\n\
                      \x20     objects: [Deployment]\n\
                      \x20     reason: Not a rule an exception may allow.\n\
                      \x20   - rule: pss/no-such-rule\n\
                      \x20     objects: [Deployment]\n\
                      \x20     reason: Unknown.\n\
                      \x20   - rul: pss/privileged\n\
                      \x20     objects: [Deployment]\n\
                      \x20     reason: Misspelt field.\n";
    std::fs::write(&path, format!("{head}{exceptions}")).unwrap();
    let (code, json, err) = lint(tmp.path(), &[]);
    let diags = json["diagnostics"].as_array().unwrap_or_else(|| panic!("{err}"));
    let privileged: Vec<&Value> = diags.iter().filter(|d| d["rule"] == "pss/privileged").collect();
    assert!(!privileged.is_empty() && privileged.iter().all(|d| d["allowed"].is_string()), "{privileged:?}");
    let invalid: Vec<(u64, String)> = diags
        .iter()
        .filter(|d| d["rule"] == "policy/invalid-exception")
        .map(|d| (d["location"]["line"].as_u64().unwrap(), d["message"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(invalid.len(), 3, "{invalid:?}");
    assert_eq!(invalid[0].0, 26);
    assert!(invalid[0].1.contains("kube/schema cannot be excepted"), "{invalid:?}");
    assert_eq!(invalid[1].0, 29);
    assert!(invalid[1].1.contains("unknown rule \"pss/no-such-rule\""), "{invalid:?}");
    assert_eq!(invalid[2].0, 32);
    assert!(invalid[2].1.contains("rul"), "{invalid:?}");
    assert_eq!(code, Some(1), "the bad entries are errors");
}

#[test]
fn chart_yaml_schema_of_ct_yaml_replaces_the_catalog_schema() {
    let tmp = catalog("charts");
    let chart_yaml = tmp.path().join("charts/privileged/Chart.yaml");
    // A field the catalog's own schema rejects but this yamale schema allows.
    let text = std::fs::read_to_string(&chart_yaml).unwrap().replace("icon:", "x-team: core\nicon:");
    std::fs::write(&chart_yaml, text).unwrap();
    let keys = ["apiVersion", "description", "appVersion", "kubeVersion", "home", "icon", "x-team"];
    let mut schema: String = keys.iter().map(|k| format!("{k}: str(required=False)\n")).collect();
    schema.push_str(
        "name: str()\nversion: str()\nowner: str()\nsources: list(str(), required=False)\n\
         maintainers: list(include('maintainer'), required=False)\n\
         annotations: map(str(), key=str(), required=False)\n---\nmaintainer:\n  name: str()\n  email: str(required=False)\n",
    );
    // Not `chart_schema.yaml` at the root: ct (and so nexct) would find that one unnamed.
    std::fs::write(tmp.path().join("team-chart-schema.yaml"), schema).unwrap();
    let ct = "chart-dirs: [charts]\ncheck-version-increment: false\n";
    let schema_findings = |json: &Value| -> Vec<String> {
        json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["rule"] == "chart/schema")
            .map(|d| format!("{}:{} {}", d["location"]["line"], d["location"]["column"], d["message"]))
            .collect()
    };
    // Without it: the built-in ct shape (profile ct), which rejects the unknown field.
    std::fs::write(tmp.path().join("ct.yaml"), ct).unwrap();
    let (_, json, _) = lint(tmp.path(), &[]);
    let before = schema_findings(&json);
    assert!(before.iter().any(|m| m.contains("x-team")), "{before:?}");
    // With it: that schema alone (profile ct), which asks for an owner.
    std::fs::write(tmp.path().join("ct.yaml"), format!("{ct}chart-yaml-schema: team-chart-schema.yaml\n"))
        .unwrap();
    let (code, json, err) = lint(tmp.path(), &[]);
    let after = schema_findings(&json);
    assert_eq!(after, ["1:1 \"`owner` is required\""], "{err}");
    assert_eq!(code, Some(1));
    // Under the catalog profile the catalog's schema applies on top.
    let (_, json, _) = lint(tmp.path(), &["--profile", "catalog"]);
    let both = schema_findings(&json);
    assert!(
        both.iter().any(|m| m.contains("x-team")) && both.iter().any(|m| m.contains("owner")),
        "{both:?}"
    );
    // A schema the harness cannot read stops the run at its place.
    std::fs::write(tmp.path().join("team-chart-schema.yaml"), "name: str()\nversion: strng()\n").unwrap();
    let (code, _, err) = lint(tmp.path(), &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("team-chart-schema.yaml:2:10: `version`: unknown validator `strng()`"), "{err}");
}

#[test]
fn harness_yaml_sets_the_release_namespace_and_kubernetes_versions_of_the_renders() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&render_fixture("invalid-field"), &tmp.path().join("charts/invalid-field"));
    std::fs::write(tmp.path().join("ct.yaml"), "chart-dirs: [charts]\ncheck-version-increment: false\n")
        .unwrap();
    let schema_message = |harness: &str| {
        std::fs::write(tmp.path().join("harness.yaml"), harness).unwrap();
        let (_, json, err) = lint(tmp.path(), &[]);
        let d = json["diagnostics"]
            .as_array()
            .and_then(|a| a.iter().find(|d| d["rule"] == "kube/schema").cloned());
        d.unwrap_or_else(|| panic!("no kube/schema finding: {json} {err}"))["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let default = schema_message("profile: ct\n");
    assert!(default.starts_with("Deployment/nex-invalid-field"), "{default}");
    assert!(default.contains("(Kubernetes 1.25.0, 1.37.0)"), "{default}");
    let set = schema_message("profile: ct\nrelease: web\nnamespace: apps\nkube-versions: [\"1.30\"]\n");
    assert!(set.starts_with("Deployment/web-invalid-field"), "{set}");
    assert!(set.contains("(Kubernetes 1.30.0)"), "{set}");
}

/// A chart whose defaults require a value its ci files give (a password): ct
/// lints it with the ci files only, so `profile: ct` does not judge the bare
/// defaults; `profile: catalog` (its charts install with their defaults) does.
/// A LICENSE linked from the repository root is a house rule's concern only.
#[test]
fn under_ct_a_chart_with_ci_files_is_not_judged_on_bare_defaults_nor_a_shared_license_link() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("charts/needs-password");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::create_dir_all(chart.join("ci")).unwrap();
    std::fs::write(tmp.path().join("ct.yaml"), "chart-dirs: [charts]\ncheck-version-increment: false\n")
        .unwrap();
    std::fs::write(tmp.path().join("LICENSE"), "Apache-2.0\n").unwrap();
    std::os::unix::fs::symlink("../../LICENSE", chart.join("LICENSE")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        // ct validates maintainers by default: one is named.
        "apiVersion: v2\nname: needs-password\ndescription: d\nversion: 0.1.0\nmaintainers:\n  - name: octocat\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), "password:\n").unwrap();
    std::fs::write(chart.join("ci/set-values.yaml"), "password: secret\n").unwrap();
    std::fs::write(
        chart.join("templates/secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}\nstringData:\n  p: {{ required \"password is required\" .Values.password | quote }}\n",
    )
    .unwrap();
    let (code, json, err) = lint(tmp.path(), &[]);
    let ct = findings(&json);
    assert!(
        !ct.iter().any(|(r, s)| s == "error" && (r.starts_with("render/") || r == "helm/lint")),
        "{ct:?} {err}"
    );
    assert!(!ct.iter().any(|(r, _)| r == "file/outside-link"), "{ct:?}");
    assert_eq!(code, Some(0), "{ct:?} {err}");
    let (code, json, _) = lint(tmp.path(), &["--profile", "catalog"]);
    let all = findings(&json);
    assert!(all.iter().any(|(r, _)| r == "render/template" || r == "helm/lint"), "{all:?}");
    assert!(all.iter().any(|(r, _)| r == "file/outside-link"), "{all:?}");
    assert_eq!(code, Some(1));
}
