//! The runtime contract (`runtime.yaml`) read against rendered scenarios: each
//! `runtime/*` rule fires on its fixture (tests/fixtures/runtime, one chart per
//! case) at the place and in the scenarios it should, charts that meet their
//! contract or have none are not judged, the `ct` profile runs the rules when a
//! contract exists, an edit of the contract is not hidden by the findings
//! cache, and the authelia chart as it was before issue 22's fix is flagged.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod support;
use support::{copy_dir, workspace_root, xtask_in as xtask};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runtime")
}

fn lint(dir: &Path, args: &[&str]) -> Value {
    let o = xtask(dir).args(["lint", "--format", "json"]).args(args).output().unwrap();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("json report")
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
        let json = lint(dir.path(), &[]);
        Run { _dir: dir, json }
    })
}

fn runtime_findings(json: &Value, chart: &str) -> Vec<Value> {
    json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["chart"] == chart && d["rule"].as_str().unwrap().starts_with("runtime/"))
        .cloned()
        .collect()
}

/// The one finding of `rule` for `chart` whose message holds `text`; its file and line, and its scenarios.
#[track_caller]
fn find(chart: &str, rule: &str, text: &str) -> (String, u64, Vec<String>, Value) {
    let all = runtime_findings(&run().json, chart);
    let hits: Vec<&Value> =
        all.iter().filter(|d| d["rule"] == rule && d["message"].as_str().unwrap().contains(text)).collect();
    assert_eq!(hits.len(), 1, "{rule} {text:?} for {chart}: {all:#?}");
    let d = hits[0].clone();
    let scenarios = d["scenarios"]
        .as_array()
        .map(|s| s.iter().map(|x| x.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    (
        d["location"]["file"].as_str().unwrap().to_owned(),
        d["location"]["line"].as_u64().unwrap_or(0),
        scenarios,
        d,
    )
}

#[test]
fn a_write_outside_a_writable_mount_is_found_as_the_scenario_configures_it() {
    // Fatal, unless the configuration or the environment turns it off.
    let (file, line, scenarios, d) =
        find("write-healthcheck", "runtime/read-only-write", "/app/.healthcheck.env");
    assert_eq!((file.as_str(), line), ("charts/write-healthcheck/templates/workload.yaml", 44));
    assert_eq!(scenarios, ["default"], "disabled (config) and env (environment) turn it off");
    assert_eq!(d["severity"], "error");
    let hint = d["hint"].as_str().unwrap();
    assert!(hint.contains("charts/write-healthcheck/runtime.yaml:9"), "{hint}");
    assert!(hint.contains("`startup.go`") && hint.contains("example/app at v1.0.0"), "{hint}");
    assert!(hint.contains("$APP_DISABLE_HEALTHCHECK / `server.disable_healthcheck` = true"), "{hint}");
    // A path read from the configuration, written only where the configuration sets it.
    let (_, _, scenarios, _) = find("write-healthcheck", "runtime/read-only-write", "/data/app.db");
    assert_eq!(scenarios, ["storage"]);
    // A write upstream tolerates failing is a warning.
    let (_, _, scenarios, d) = find("write-healthcheck", "runtime/read-only-write", "/var/log/app");
    assert_eq!(d["severity"], "warning");
    assert_eq!(scenarios, ["default", "disabled", "env", "storage"]);
    // /tmp is an emptyDir: the socket is fine everywhere.
    assert!(runtime_findings(&run().json, "write-healthcheck").len() == 3);
}

#[test]
fn probes_on_what_the_program_does_not_serve_are_found() {
    let (file, line, scenarios, _) =
        find("probes", "runtime/readiness-not-ready", "TCP connect on port 8080");
    assert_eq!((file.as_str(), line), ("charts/probes/templates/workload.yaml", 29));
    assert_eq!(scenarios, ["tcp-readiness"]);
    let (_, _, scenarios, _) = find("probes", "runtime/probe-unlisted", "livenessProbe makes GET /metrics");
    assert_eq!(scenarios, ["unlisted"]);
    let (_, _, scenarios, _) = find("probes", "runtime/probe-unlisted", "startupProbe calls port 9999");
    assert_eq!(scenarios, ["unlisted"]);
    // The configuration moves the listener: the probes on the container port miss it.
    let (_, _, scenarios, d) = find("probes", "runtime/probe-unlisted", "readinessProbe calls port 8080");
    assert_eq!(scenarios, ["moved-port"]);
    assert!(d["message"].as_str().unwrap().contains("(runtime contract: http 9090)"), "{d}");
    assert_eq!(runtime_findings(&run().json, "probes").len(), 5);
}

#[test]
fn user_capabilities_and_credential_are_read_against_the_settings() {
    let (_, _, scenarios, _) = find("identity", "runtime/user", "needs root here: it opens a tun device");
    assert_eq!(scenarios, ["kernel"]);
    let (_, _, scenarios, _) = find("identity", "runtime/capability", "drops NET_BIND_SERVICE");
    assert_eq!(scenarios, ["default"]);
    let (_, _, scenarios, d) = find("identity", "runtime/capability", "adds SYS_ADMIN");
    assert_eq!(scenarios, ["kernel"]);
    // Chart.yaml declares an exception for it: shown, allowed, not failing.
    assert!(d["allowed"].as_str().unwrap().contains("like to any policy rule"), "{d}");
    let (_, _, _, d) = find("identity", "runtime/capability", "drops NET_BIND_SERVICE");
    assert!(d.get("allowed").is_none(), "{d}");
    // Missing by default; given from a Secret in `kernel`; a deliberate mode without it in `interactive`.
    let (_, _, scenarios, d) = find("identity", "runtime/credential", "none of APP_AUTHKEY");
    assert_eq!(scenarios, ["default"]);
    assert!(d["message"].as_str().unwrap().contains("restarts every minute"), "{d}");
    assert_eq!(runtime_findings(&run().json, "identity").len(), 4);
}

#[test]
fn a_bad_contract_is_placed_in_the_contract() {
    let all = runtime_findings(&run().json, "bad-contract");
    let places: Vec<(u64, u64, &str)> = all
        .iter()
        .map(|d| {
            (
                d["location"]["line"].as_u64().unwrap(),
                d["location"]["column"].as_u64().unwrap(),
                d["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        all.iter().all(|d| d["rule"] == "runtime/contract"
            && d["location"]["file"] == "charts/bad-contract/runtime.yaml")
    );
    assert_eq!(places.len(), 2, "{places:?}");
    assert_eq!((places[0].0, places[0].1), (11, 5));
    assert!(places[0].2.contains("writes[0].fatal") && places[0].2.contains("boolean"), "{places:?}");
    assert_eq!((places[1].0, places[1].1), (12, 5));
    assert!(places[1].2.contains("`writes[0].colour` is not a runtime contract key"), "{places:?}");
    let (file, line, _, _) =
        find("wrong-container", "runtime/contract", "no workload runs a container named `server`");
    assert_eq!((file.as_str(), line), ("charts/wrong-container/runtime.yaml", 5));
}

#[test]
fn charts_meeting_their_contract_or_without_one_are_not_judged() {
    assert_eq!(runtime_findings(&run().json, "clean"), Vec::<Value>::new());
    assert_eq!(runtime_findings(&run().json, "no-contract"), Vec::<Value>::new());
}

#[test]
fn the_ct_profile_runs_the_rules_when_a_contract_exists() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    std::fs::write(dir.path().join("harness.yaml"), "profile: ct\n").unwrap();
    let json = lint(dir.path(), &[]);
    let rules: Vec<String> =
        runtime_findings(&json, "identity").iter().map(|d| d["rule"].as_str().unwrap().to_owned()).collect();
    // ct lints the ci files only (the defaults when there are none).
    assert!(rules.contains(&"runtime/user".to_owned()), "{rules:?}");
    assert!(!rules.contains(&"runtime/credential".to_owned()), "{rules:?}");
    assert!(!runtime_findings(&json, "clean").iter().any(|_| true));
    assert_eq!(runtime_findings(&json, "no-contract"), Vec::<Value>::new());
}

#[test]
fn an_edited_contract_is_judged_again_not_served_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    let count = |json: &Value| {
        runtime_findings(json, "probes").iter().filter(|d| d["rule"] == "runtime/readiness-not-ready").count()
    };
    assert_eq!(count(&lint(dir.path(), &["probes"])), 1);
    // Warm: the same findings again.
    assert_eq!(count(&lint(dir.path(), &["probes"])), 1);
    let contract = dir.path().join("charts/probes/runtime.yaml");
    let text = std::fs::read_to_string(&contract).unwrap();
    let edited = text.replace(
        "before the configuration loaded\n    readiness: false",
        "after it loaded\n    readiness: true",
    );
    assert_ne!(text, edited);
    std::fs::write(&contract, edited).unwrap();
    assert_eq!(count(&lint(dir.path(), &["probes"])), 0);
}

/// A catalog holding one real chart of the catalog (and its library), as a user's clone has them.
fn chart_catalog(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = workspace_root();
    for chart in [name, "common"] {
        copy_dir(&root.join("charts").join(chart), &dir.path().join("charts").join(chart));
    }
    std::fs::write(
        dir.path().join("ct.yaml"),
        "chart-dirs: [charts]\ntarget-branch: main\ncheck-version-increment: false\nvalidate-maintainers: false\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("harness.yaml"), "profile: catalog\n").unwrap();
    dir
}

#[test]
fn authelia_before_the_healthcheck_fix_is_flagged_and_after_it_is_not() {
    let dir = chart_catalog("authelia");
    let now = lint(dir.path(), &["authelia"]);
    assert_eq!(runtime_findings(&now, "authelia"), Vec::<Value>::new());
    // Issue 22: the chart as it was, neither the setting nor (with existingConfigMap) the variable.
    let tpl = dir.path().join("charts/authelia/templates/_config.tpl");
    let text = std::fs::read_to_string(&tpl).unwrap();
    let before: String = text
        .lines()
        .filter(|l| {
            !l.contains("\"disable_healthcheck\" true") && !l.contains("AUTHELIA_SERVER_DISABLE_HEALTHCHECK")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(text.lines().count() - before.lines().count(), 2, "the fix's two lines");
    std::fs::write(&tpl, before).unwrap();
    let then = lint(dir.path(), &["authelia"]);
    let found = runtime_findings(&then, "authelia");
    assert_eq!(found.len(), 1, "{found:#?}");
    let d = &found[0];
    assert_eq!(d["rule"], "runtime/read-only-write");
    assert!(d["message"].as_str().unwrap().contains("writes /app/.healthcheck.env"), "{d}");
    assert!(d["message"].as_str().unwrap().contains("the program exits when it cannot"), "{d}");
    let scenarios = d["scenarios"].as_array().unwrap();
    assert!(
        scenarios.iter().any(|s| s == "default") && scenarios.iter().any(|s| s == "existing-secret"),
        "{d}"
    );
}

#[test]
fn tailscale_before_its_readiness_fix_is_flagged_and_after_it_is_not() {
    let dir = chart_catalog("tailscale");
    let now = lint(dir.path(), &["tailscale"]);
    // The interactive-login scenario's missing key is a declared exception.
    let found = runtime_findings(&now, "tailscale");
    assert!(found.iter().all(|d| d["allowed"].is_string()), "{found:#?}");
    assert_eq!(found.len(), 1, "{found:#?}");
    // Issue 22: readiness on the listener (a TCP connect), which opens before any login.
    let values = dir.path().join("charts/tailscale/values.yaml");
    let text = std::fs::read_to_string(&values).unwrap();
    let old = text.replace(
        "    httpGet:\n      path: /healthz\n      port: metrics\n",
        "    tcpSocket:\n      port: metrics\n",
    );
    assert_ne!(old, text);
    std::fs::write(&values, old).unwrap();
    let then = lint(dir.path(), &["tailscale"]);
    let d = runtime_findings(&then, "tailscale")
        .into_iter()
        .find(|d| d["rule"] == "runtime/readiness-not-ready")
        .expect("runtime/readiness-not-ready");
    let message = d["message"].as_str().unwrap();
    assert!(message.contains("TCP connect on port 9002") && message.contains("before `tailscale up`"), "{d}");
    assert!(d["scenarios"].as_array().unwrap().iter().any(|s| s == "default"), "{d}");
}

#[test]
fn stack_lint_reads_the_contract_against_the_stack_values() {
    let stack = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stacks/runtime-readiness");
    let out =
        xtask(&workspace_root()).args(["stack", "lint", "--format", "json"]).arg(&stack).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: Vec<&Value> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"].as_str().unwrap().starts_with("runtime/"))
        .collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["rule"], "runtime/readiness-not-ready");
    assert_eq!(found[0]["chart"], "tailscale");
    assert!(
        found[0]["location"]["file"].as_str().unwrap().ends_with("runtime-readiness/stack.yaml"),
        "{}",
        found[0]
    );
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("StatefulSet/tailscale (tailscale/templates/workload.yaml)"),
        "{}",
        found[0]
    );
}
