//! What the charts render against what each upstream application reads.
//!
//! None of these apps publishes a schema for its configuration, and their YAML
//! loaders ignore unknown keys silently (a typo does nothing), so every
//! scenario's rendered configuration is checked against the keys of the
//! upstream config structs, and the container's command, port and probes
//! against the upstream image. The key lists are read from the upstream
//! sources named beside each (fetched repositories, at the tag noted); the
//! chart READMEs' "Upstream facts" tables carry the same sources.
//! adguard-home has its own file (`adguard_home.rs`).

use serde_json::Value;
use std::path::PathBuf;

use nex_harness::helm::{Helm, Major};

mod support;
use support::{documents, workspace_root as root};

/// Every scenario of `chart` (defaults, then each ci file), rendered.
fn scenarios(chart: &str) -> Vec<(String, Vec<Value>)> {
    let helm = Helm::locate(Major::V4, &nex_harness::provision::cache_root()).expect("pinned helm");
    let dir = root().join("charts").join(chart);
    nex_harness::deps::ensure(
        &nex_harness::catalog::load(&dir),
        &nex_harness::files::read_chart_meta(&dir),
        &helm,
    )
    .expect("vendor the library");
    let mut files: Vec<Option<PathBuf>> = vec![None];
    // Every scenario's file, the lint-only ones (ci/lint/) included.
    let ci: Vec<PathBuf> =
        nex_harness::catalog::load(&dir).scenarios.into_iter().filter_map(|s| s.values_file).collect();
    files.extend(ci.into_iter().map(Some));
    files
        .into_iter()
        .map(|file| {
            let mut cmd = helm.command();
            cmd.args(["template", "nex"]).arg(&dir).args(["--namespace", "nex"]);
            if let Some(f) = &file {
                cmd.arg("--values").arg(f);
            }
            let out = cmd.output().expect("run helm");
            assert!(out.status.success(), "{chart} {file:?}: {}", String::from_utf8_lossy(&out.stderr));
            let name = file
                .map(|f| f.file_name().unwrap().to_string_lossy().trim_end_matches("-values.yaml").to_owned())
                .unwrap_or_else(|| "default".into());
            (name, documents(&String::from_utf8_lossy(&out.stdout)))
        })
        .collect()
}

fn workload(objects: &[Value]) -> &Value {
    objects.iter().find(|o| o["kind"] == "Deployment" || o["kind"] == "StatefulSet").expect("a workload")
}

fn container(objects: &[Value]) -> &Value {
    &workload(objects)["spec"]["template"]["spec"]["containers"][0]
}

/// The chart's own ConfigMap's `key`, parsed; None when the scenario uses an existing ConfigMap.
fn config(objects: &[Value], key: &str) -> Option<Value> {
    objects
        .iter()
        .filter(|o| o["kind"] == "ConfigMap")
        .find_map(|cm| cm["data"][key].as_str())
        .map(|text| serde_saphyr::from_str(text).expect("the rendered config is YAML"))
}

fn keys_within(value: &Value, allowed: &[&str], what: &str) {
    for key in value.as_object().into_iter().flat_map(|o| o.keys()) {
        assert!(
            allowed.contains(&key.as_str()),
            "{what}: key {key:?} is not read upstream (allowed: {allowed:?})"
        );
    }
}

fn container_port(objects: &[Value], name: &str) -> i64 {
    container(objects)["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == name)
        .and_then(|p| p["containerPort"].as_i64())
        .unwrap_or_else(|| panic!("no container port {name}"))
}

fn probe_paths(objects: &[Value]) -> Vec<String> {
    let c = container(objects);
    ["startupProbe", "readinessProbe", "livenessProbe"]
        .iter()
        .filter_map(|p| c[*p]["httpGet"]["path"].as_str().map(str::to_owned))
        .collect()
}

fn env(objects: &[Value], name: &str) -> Option<String> {
    container(objects)["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str().map(str::to_owned))
}

// glanceapp/glance v0.8.5 (91324e8d), internal/glance/config.go `type config struct`.
const GLANCE_TOP: &[&str] = &["server", "auth", "document", "theme", "branding", "pages"];
const GLANCE_SERVER: &[&str] = &["host", "port", "proxied", "assets-path", "base-url"];

#[test]
fn glance_renders_only_keys_its_loader_reads_and_runs_the_binary_once() {
    let mut checked = 0;
    for (scenario, objects) in scenarios("glance") {
        let what = format!("glance {scenario}");
        // Dockerfile: ENTRYPOINT ["/app/glance", "--config", "/app/config/glance.yml"] (exec form).
        assert_eq!(container(&objects)["command"], serde_json::json!(["/app/glance"]), "{what}");
        assert_eq!(
            container(&objects)["args"],
            serde_json::json!(["--config", "/app/config/glance.yml"]),
            "{what}"
        );
        // internal/glance/glance.go: GET /api/healthz answers 200.
        assert!(probe_paths(&objects).iter().all(|p| p == "/api/healthz"), "{what}");
        let Some(cfg) = config(&objects, "glance.yml") else { continue };
        keys_within(&cfg, GLANCE_TOP, &what);
        keys_within(&cfg["server"], GLANCE_SERVER, &what);
        // config.go defaults server.port to 8080; the chart sets it to the container port.
        assert_eq!(cfg["server"]["port"].as_i64(), Some(container_port(&objects, "http")), "{what}");
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} glance configs checked");
}

// TwiN/gatus v5.36.0 (ed1107b4): config/config.go `type Config struct`,
// config/web/web.go `type Config struct`, storage/config.go `type Config struct`.
const GATUS_TOP: &[&str] = &[
    "debug",
    "metrics",
    "skip-invalid-config-update",
    "disable-monitoring-lock",
    "concurrency",
    "security",
    "alerting",
    "endpoints",
    "external-endpoints",
    "suites",
    "storage",
    "web",
    "ui",
    "maintenance",
    "remote",
    "connectivity",
    "tunneling",
];
const GATUS_WEB: &[&str] = &["address", "port", "read-buffer-size", "tls"];
const GATUS_STORAGE: &[&str] =
    &["path", "type", "caching", "maximum-number-of-results", "maximum-number-of-events"];

#[test]
fn gatus_renders_only_keys_its_loader_reads() {
    let mut checked = 0;
    for (scenario, objects) in scenarios("gatus") {
        let what = format!("gatus {scenario}");
        // Dockerfile: ENTRYPOINT ["/gatus"], no CMD; the chart passes neither.
        assert!(
            container(&objects).get("command").is_none() && container(&objects).get("args").is_none(),
            "{what}"
        );
        // api/api.go: GET /health.
        assert!(probe_paths(&objects).iter().all(|p| p == "/health"), "{what}");
        // main.go reads GATUS_CONFIG_PATH; the chart mounts the ConfigMap there.
        assert_eq!(env(&objects, "GATUS_CONFIG_PATH").as_deref(), Some("/config/config.yaml"), "{what}");
        let Some(cfg) = config(&objects, "config.yaml") else { continue };
        keys_within(&cfg, GATUS_TOP, &what);
        keys_within(&cfg["web"], GATUS_WEB, &what);
        keys_within(&cfg["storage"], GATUS_STORAGE, &what);
        assert_eq!(cfg["web"]["port"].as_i64(), Some(container_port(&objects, "http")), "{what}");
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} gatus configs checked");
}

// gethomepage/homepage v1.12.3 (d6e7e7e7): the files src/utils/config/config.js
// copies from src/skeleton/ (what Homepage reads from /app/config), and the keys
// src/utils/config/kubernetes.js and src/utils/kubernetes/*-list.js read.
const HOMEPAGE_FILES: &[&str] = &[
    "bookmarks.yaml",
    "custom.css",
    "custom.js",
    "docker.yaml",
    "kubernetes.yaml",
    "proxmox.yaml",
    "services.yaml",
    "settings.yaml",
    "widgets.yaml",
];
const HOMEPAGE_KUBERNETES: &[&str] = &["mode", "ingress", "traefik", "gateway"];

#[test]
fn homepage_renders_only_files_and_keys_it_reads_and_its_probes_pass_the_host_check() {
    for (scenario, objects) in scenarios("homepage") {
        let what = format!("homepage {scenario}");
        // Dockerfile: ENTRYPOINT ["docker-entrypoint.sh"], CMD ["node", "server.js"]; the chart keeps both.
        assert!(
            container(&objects).get("command").is_none() && container(&objects).get("args").is_none(),
            "{what}"
        );
        let port = container_port(&objects, "http");
        assert_eq!(env(&objects, "PORT"), Some(port.to_string()), "{what}");
        // src/middleware.js: /api/* needs Host in HOMEPAGE_ALLOWED_HOSTS or localhost:<PORT>;
        // the kubelet would send the pod IP, so the probes name localhost:<PORT>.
        let c = container(&objects);
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            let get = &c[probe]["httpGet"];
            if get.is_null() {
                continue;
            }
            assert_eq!(get["path"], "/api/healthcheck", "{what} {probe}");
            let host = get["httpHeaders"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|h| h["name"] == "Host")
                .and_then(|h| h["value"].as_str());
            let host = host.unwrap_or_else(|| panic!("{what} {probe}: no Host header"));
            let allowed = env(&objects, "HOMEPAGE_ALLOWED_HOSTS").unwrap_or_default();
            assert!(
                host == format!("localhost:{port}") || allowed.split(',').any(|h| h == host),
                "{what} {probe}: Host {host} is refused by the middleware (PORT {port}, allowed {allowed})"
            );
        }
        let Some(cm) = objects.iter().find(|o| o["kind"] == "ConfigMap") else { continue };
        for file in cm["data"].as_object().into_iter().flat_map(|d| d.keys()) {
            assert!(HOMEPAGE_FILES.contains(&file.as_str()), "{what}: Homepage reads no {file}");
        }
        if let Some(k) = config(&objects, "kubernetes.yaml") {
            keys_within(&k, HOMEPAGE_KUBERNETES, &what);
            assert!(["cluster", "default", "disabled"].contains(&k["mode"].as_str().unwrap_or("")), "{what}");
        }
    }
}

#[test]
fn homepage_probes_pass_the_host_check_on_another_container_port() {
    let helm = Helm::locate(Major::V4, &nex_harness::provision::cache_root()).expect("pinned helm");
    let dir = root().join("charts/homepage");
    nex_harness::deps::ensure(
        &nex_harness::catalog::load(&dir),
        &nex_harness::files::read_chart_meta(&dir),
        &helm,
    )
    .expect("vendor the library");
    let out = helm
        .command()
        .args(["template", "nex"])
        .arg(&dir)
        .args(["--set", "service.ports.http.containerPort=8080"])
        .output()
        .expect("run helm");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let objects = documents(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(env(&objects, "PORT").as_deref(), Some("8080"));
    // The probes still send `Host: localhost:3000` (values); the middleware must admit it.
    let allowed = env(&objects, "HOMEPAGE_ALLOWED_HOSTS").unwrap_or_default();
    assert!(allowed.split(',').any(|h| h == "localhost:3000"), "{allowed}");
}

#[test]
fn common_test_runs_whoami_as_upstream_builds_it() {
    for (scenario, objects) in scenarios("common-test") {
        let what = format!("common-test {scenario}");
        // traefik/whoami v1.11.0 (7e571907): Dockerfile ENTRYPOINT ["/whoami"] (exec form);
        // app.go: `--port` (default 80 or WHOAMI_PORT_NUMBER), GET /health answers 200.
        let c = container(&objects);
        assert!(c.get("command").is_none(), "{what}");
        let port = container_port(&objects, "http");
        assert_eq!(c["args"], serde_json::json!([format!("--port={port}")]), "{what}");
        assert!(probe_paths(&objects).iter().all(|p| p == "/health"), "{what}");
    }
}

/// `helm template` of `chart` with `--set` pairs, as objects.
fn render_with(chart: &str, sets: &[&str]) -> Vec<Value> {
    let helm = Helm::locate(Major::V4, &nex_harness::provision::cache_root()).expect("pinned helm");
    let dir = root().join("charts").join(chart);
    let mut cmd = helm.command();
    cmd.args(["template", "nex"]).arg(&dir).args(["--namespace", "nex"]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().expect("run helm");
    assert!(out.status.success(), "{chart} {sets:?}: {}", String::from_utf8_lossy(&out.stderr));
    documents(&String::from_utf8_lossy(&out.stdout))
}

// authelia/authelia v4.39.20 (1b524f7): internal/middlewares/startup.go `StartupChecks` opens
// /app/.healthcheck.env for writing unless `server.disable_healthcheck`, and
// internal/commands/root.go makes its error fatal; the environment source is merged after the
// files (internal/configuration/sources.go `NewDefaultSources`), so AUTHELIA_SERVER_DISABLE_HEALTHCHECK
// wins over a file the chart does not render.
#[test]
fn authelia_never_writes_its_healthcheck_file_on_the_read_only_root() {
    let mut checked = 0;
    let mut all = scenarios("authelia");
    all.push(("existingConfigMap".into(), render_with("authelia", &["existingConfigMap=mine"])));
    for (scenario, objects) in all {
        let what = format!("authelia {scenario}");
        assert_eq!(container(&objects)["securityContext"]["readOnlyRootFilesystem"], true, "{what}");
        let mounts: Vec<&str> = container(&objects)["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["mountPath"].as_str())
            .collect();
        assert!(!mounts.iter().any(|m| *m == "/app" || m.starts_with("/app/")), "{what}: {mounts:?}");
        let from_env = env(&objects, "AUTHELIA_SERVER_DISABLE_HEALTHCHECK").as_deref() == Some("true");
        // The OIDC key is a `{{ secret … }}` expression Authelia expands before parsing: not YAML yet.
        let cfg = objects.iter().filter(|o| o["kind"] == "ConfigMap").find_map(|cm| {
            cm["data"]["configuration.yml"].as_str().map(|text| {
                let mut text = text.to_owned();
                while let (Some(a), Some(b)) = (text.find("{{"), text.find("}}")) {
                    text.replace_range(a..b + 2, "expanded");
                }
                serde_saphyr::from_str::<Value>(&text).expect("the rendered configuration is YAML")
            })
        });
        match cfg {
            Some(cfg) => {
                assert_eq!(cfg["server"]["disable_healthcheck"], true, "{what}: the rendered configuration")
            }
            None => assert!(
                from_env,
                "{what}: no rendered configuration and no AUTHELIA_SERVER_DISABLE_HEALTHCHECK"
            ),
        }
        checked += 1;
    }
    assert!(checked >= 11, "only {checked} authelia scenarios checked");
}

// tailscale/tailscale v1.94.2 (2de4d31): kube/health/healthz.go answers /healthz with 200 only while
// the node has a tailnet IP; kube/metrics/metrics.go proxies /metrics with no such condition; and
// cmd/containerboot/main.go gives the login 60 s (bootCtx) before exiting, so without a key the pod
// restarts every minute.
#[test]
fn tailscale_is_ready_only_in_the_tailnet_and_needs_a_key_or_asks_for_interactive_login() {
    let mut checked = 0;
    for (scenario, objects) in scenarios("tailscale") {
        let what = format!("tailscale {scenario}");
        let c = container(&objects);
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/healthz", "{what}");
        assert_eq!(c["readinessProbe"]["httpGet"]["port"], "metrics", "{what}");
        assert_eq!(env(&objects, "TS_ENABLE_HEALTH_CHECK").as_deref(), Some("true"), "{what}");
        let local = env(&objects, "TS_LOCAL_ADDR_PORT").expect("TS_LOCAL_ADDR_PORT");
        assert!(local.ends_with(&format!(":{}", container_port(&objects, "metrics"))), "{what}: {local}");
        // The helm test proves membership too.
        let test = objects
            .iter()
            .find(|o| o["kind"] == "Pod" && o["metadata"]["annotations"]["helm.sh/hook"] == "test")
            .expect("a test pod");
        let args = test["spec"]["containers"][0]["command"].to_string()
            + &test["spec"]["containers"][0]["args"].to_string();
        assert!(args.contains("/healthz") && !args.contains("/metrics"), "{what}: {args}");
        let key = c["env"].as_array().unwrap().iter().any(|e| e["name"] == "TS_AUTHKEY");
        assert!(key || scenario == "interactive-login", "{what}: no auth key");
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} tailscale scenarios checked");
    // No key and no deliberate interactive login: refused, naming the way out.
    let helm = Helm::locate(Major::V4, &nex_harness::provision::cache_root()).expect("pinned helm");
    let out = helm
        .command()
        .args(["template", "nex"])
        .arg(root().join("charts/tailscale"))
        .args(["--set", "existingSecret="])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("existingSecret is empty") && err.contains("interactiveLogin: true"), "{err}");
}
