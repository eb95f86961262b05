//! Findings the harness once got wrong on charts written the way other chart
//! repositories write them (issue 15): one fixture chart per case under
//! tests/fixtures/findings, linted once; each test asserts what must (and
//! must not) be reported for its chart.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod support;
use support::{copy_dir, xtask_in as xtask};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/findings")
}

struct Run {
    _dir: tempfile::TempDir,
    json: Value,
}

/// The fixture catalog, copied and linted once.
fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&fixture(), dir.path());
        let o = xtask(dir.path()).args(["lint", "--format", "json"]).output().unwrap();
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
        let json = serde_json::from_slice(&o.stdout).expect("json report");
        Run { _dir: dir, json }
    })
}

/// Every finding about `chart`.
fn findings(chart: &str) -> Vec<&'static Value> {
    run().json["diagnostics"].as_array().unwrap().iter().filter(|d| d["chart"] == chart).collect()
}

fn rules(chart: &str) -> Vec<String> {
    findings(chart).iter().map(|d| format!("{} {}", d["rule"].as_str().unwrap(), d["message"])).collect()
}

#[test]
fn a_ci_default_values_file_is_its_own_scenario() {
    // Its values once replaced the defaults' own: every image looked hard-coded.
    assert_eq!(rules("ci-default"), Vec::<String>::new());
}

fn rule_count(chart: &str, rule: &str) -> usize {
    findings(chart).iter().filter(|d| d["rule"] == rule).count()
}

#[test]
fn an_unreachable_dependency_is_said_once_and_blames_nothing_else() {
    let found = findings("remote-dep");
    assert_eq!(found.len(), 1, "{:#?}", rules("remote-dep"));
    let d = found[0];
    assert_eq!(d["rule"], "deps/unavailable");
    let message = d["message"].as_str().unwrap();
    assert!(message.contains("redis ~1.2.0 (http://127.0.0.1:1/charts)"), "{message}");
    // Aliased twice in Chart.yaml, one chart to fetch: named once.
    assert_eq!(message.matches("redis ~1.2.0").count(), 1, "{message}");
    assert_eq!(d["location"]["line"], 23, "at `dependencies:` in Chart.yaml: {d}");
    assert!(message.contains("connection refused") || message.contains("127.0.0.1:1"), "{message}");
}

/// A chart repository on 127.0.0.1 serving `redis` 1.2.3 (a chart with one
/// helper) and `memcached` 2.3.4.
fn chart_repository(dir: &Path) -> support::StaticServer {
    for (name, version) in [("redis", "1.2.3"), ("memcached", "2.3.4")] {
        let src = dir.join("src").join(name);
        std::fs::create_dir_all(src.join("templates")).unwrap();
        std::fs::write(src.join("Chart.yaml"), format!("apiVersion: v2\nname: {name}\nversion: {version}\n"))
            .unwrap();
        std::fs::write(
            src.join("templates/_helpers.tpl"),
            format!("{{{{- define \"{name}.fullname\" -}}}}{{{{ .Release.Name }}}}-{name}-from-repo{{{{- end -}}}}\n"),
        )
        .unwrap();
    }
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let helm =
        nex_harness::helm::Helm::locate(nex_harness::helm::Major::V4, &nex_harness::provision::cache_root())
            .expect("pinned helm");
    let (redis, memcached) = (dir.join("src/redis"), dir.join("src/memcached"));
    for args in [
        vec!["package", redis.to_str().unwrap(), memcached.to_str().unwrap(), "-d", repo.to_str().unwrap()],
        vec!["repo", "index", repo.to_str().unwrap()],
    ] {
        let mut cmd = helm.command();
        cmd.args(&args);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "helm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    support::StaticServer::start(repo)
}

#[test]
fn a_reachable_dependency_is_built_rendered_and_kept_in_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), tmp.path());
    let server = chart_repository(tmp.path());
    let chart_yaml = tmp.path().join("charts/remote-dep/Chart.yaml");
    let text =
        std::fs::read_to_string(&chart_yaml).unwrap().replace("http://127.0.0.1:1/charts", &server.url());
    std::fs::write(&chart_yaml, text).unwrap();
    let lint = || {
        let o = xtask(tmp.path()).args(["lint", "remote-dep", "--format", "json"]).output().unwrap();
        let json: Value = serde_json::from_slice(&o.stdout).expect("json report");
        json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| format!("{} {}", d["rule"], d["message"]))
            .collect::<Vec<_>>()
    };
    assert_eq!(lint(), Vec::<String>::new());
    let archive = tmp.path().join("charts/remote-dep/charts/redis-1.2.3.tgz");
    assert!(archive.is_file(), "helm dependency build vendored the dependency");
    // The dependency's helper was rendered (helm lint and renders ran with it).
    let o = xtask(tmp.path()).args(["render", "remote-dep"]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("address: \"nex-redis-from-repo\""), "{out}");
    // Served from the harness cache once built: the repository is gone.
    drop(server);
    std::fs::remove_file(&archive).unwrap();
    assert_eq!(lint(), Vec::<String>::new());
    assert!(archive.is_file());
}

#[test]
fn hidden_folders_hold_no_charts() {
    // charts/.github/fixtures/broken is a broken chart a CI setup keeps for itself.
    let charts: Vec<&str> = run().json["charts"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(!charts.is_empty(), "the report lists the charts: {}", run().json);
    assert!(!charts.iter().any(|c| c.contains("broken") || c.contains("wrong-name")), "{charts:?}");
    let all = run().json["diagnostics"].to_string();
    assert!(!all.contains("wrong-name") && !all.contains("charts/.github"), "{all}");
}

#[test]
fn a_chart_name_two_folders_share_is_ambiguous() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), tmp.path());
    for group in ["one", "two"] {
        copy_dir(
            &fixture().join("charts/ci-default"),
            &tmp.path().join("charts").join(group).join("ci-default"),
        );
    }
    let o = xtask(tmp.path()).args(["lint", "ci-default"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    for path in ["charts/ci-default", "charts/one/ci-default", "charts/two/ci-default"] {
        assert!(err.contains(path), "{err}");
    }
    assert!(err.contains("ambiguous"), "{err}");
    // By its folder, each is its own chart.
    let o = xtask(tmp.path()).args(["lint", "charts/two/ci-default"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn removed_apis_are_errors_naming_the_release_and_the_replacement() {
    let removed: Vec<String> = findings("removed-api")
        .iter()
        .filter(|d| d["rule"] == "kube/removed-api")
        .map(|d| {
            assert_eq!(d["severity"], "error");
            d["message"].as_str().unwrap().to_owned()
        })
        .collect();
    for expected in [
        "policy/v1beta1 PodDisruptionBudget is not served since Kubernetes 1.25; use policy/v1",
        "autoscaling/v2beta2 HorizontalPodAutoscaler is not served since Kubernetes 1.26; use autoscaling/v2",
        "extensions/v1beta1 Ingress is not served since Kubernetes 1.22; use networking.k8s.io/v1",
    ] {
        assert!(removed.iter().any(|m| m.contains(expected)), "{expected} in {removed:#?}");
    }
    // autoscaling/v2beta2 is still served by 1.25, the oldest of the matrix.
    assert!(
        removed.iter().any(|m| m.contains("v2beta2") && m.ends_with("(Kubernetes 1.37.0)")),
        "{removed:#?}"
    );
    assert_eq!(rule_count("removed-api", "kube/unknown-kind"), 0);
}

#[test]
fn other_repositories_conventions_are_not_findings() {
    // Plain-string changes, an empty ci file, an APIService that asks the
    // cluster which apiregistration version it serves (helm template alone
    // does not know apiregistration.k8s.io/v1), an in-tree subchart without a
    // repository or a range, its values, and Alertmanager's and Kubernetes'
    // own names in values passed through. Only the catalog's own rule that
    // charts ship a values schema applies.
    let rules: Vec<String> =
        findings("other-repo").iter().map(|d| d["rule"].as_str().unwrap().to_owned()).collect();
    assert_eq!(rules, ["values/schema-missing"], "{:#?}", self::rules("other-repo"));
}

#[test]
fn reports_name_files_relative_to_the_repository() {
    // A chart named by its absolute path, outside the chart dirs: helm quotes
    // the path it was given, the harness must not.
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), tmp.path());
    copy_dir(&fixture().join("charts/removed-api"), &tmp.path().join("elsewhere/removed-api"));
    let chart = tmp.path().join("elsewhere/removed-api");
    for format in ["github", "json", "human"] {
        let o =
            xtask(tmp.path()).args(["lint", chart.to_str().unwrap(), "--format", format]).output().unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("elsewhere/removed-api/templates/old.yaml"), "{format}: {out}");
        let root = tmp.path().to_string_lossy();
        assert!(!out.contains(root.as_ref()), "{format} names an absolute path: {out}");
    }
}

#[test]
fn gateway_api_prometheus_operator_and_traefik_kinds_are_validated() {
    // HTTPRoute, IngressRoute, PrometheusRule and ServiceMonitor, with the
    // CRDs built into the harness: no unknown kinds, and the one wrong field is found.
    let found: Vec<String> = findings("crd-kinds")
        .iter()
        .map(|d| format!("{} {}", d["rule"].as_str().unwrap(), d["message"]))
        .collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].starts_with("kube/schema"), "{found:#?}");
    assert!(
        found[0].contains("unknown field \\\"scrapeEvery\\\" at /spec/endpoints/0/scrapeEvery"),
        "{found:#?}"
    );
    // helm writes a file's objects in its own kind order; the line is still the template's.
    let at = &findings("crd-kinds")[0]["location"];
    assert_eq!((at["line"].as_u64(), at["column"].as_u64()), (Some(21), Some(7)), "{at}");
}

#[test]
fn keys_a_schema_leaves_open_are_not_the_charts_names() {
    // The schema documents upstream configuration (Prometheus' `global`,
    // Alertmanager's `route`) and alert names in objects it leaves open.
    assert_eq!(rules("open-schema"), Vec::<String>::new());
}
