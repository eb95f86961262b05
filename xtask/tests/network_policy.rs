//! The library's NetworkPolicy admits every ingress controller by default.
//!
//! Each chart is rendered with the real pinned helm and its NetworkPolicy is
//! evaluated the way Kubernetes does for a connection from a pod (namespace
//! labels, pod labels, port name and protocol): the served port must be
//! reachable from a controller in any namespace (ingress-nginx, Envoy Gateway,
//! Traefik in its own namespace), while a port the chart does not serve stays
//! closed, and a named gateway narrows the served port to that peer.

use serde_json::{Map, Value};
use std::path::PathBuf;

use nex_harness::helm::{Helm, Major};

mod support;
use support::{documents, workspace_root as root};

fn helm() -> Helm {
    Helm::locate(Major::V4, &nex_harness::provision::cache_root()).expect("pinned helm")
}

/// `helm template nex <chart> -n nex [-f values...]`, the chart's NetworkPolicy.
fn render_policy(helm: &Helm, chart: &str, values: &[PathBuf]) -> Option<Value> {
    let dir = root().join("charts").join(chart);
    nex_harness::deps::ensure(
        &nex_harness::catalog::load(&dir),
        &nex_harness::files::read_chart_meta(&dir),
        helm,
    )
    .expect("vendor the library");
    let mut cmd = helm.command();
    cmd.args(["template", "nex"]).arg(&dir).args(["--namespace", "nex"]);
    for v in values {
        cmd.arg("--values").arg(v);
    }
    let out = cmd.output().expect("run helm");
    assert!(out.status.success(), "helm template {chart}: {}", String::from_utf8_lossy(&out.stderr));
    documents(&String::from_utf8_lossy(&out.stdout)).into_iter().find(|o| o["kind"] == "NetworkPolicy")
}

/// A connecting pod: its namespace's labels and its own.
struct Source<'a> {
    namespace: &'a str,
    pod: &'a [(&'a str, &'a str)],
}

impl Source<'_> {
    fn namespace_labels(&self) -> Vec<(&str, &str)> {
        vec![("kubernetes.io/metadata.name", self.namespace)]
    }
}

/// `matchLabels` against labels; `matchExpressions` are not used by the charts
/// and would make the evaluation unsound, so they fail the test.
fn selects(selector: &Value, labels: &[(&str, &str)]) -> bool {
    assert!(selector.get("matchExpressions").is_none(), "matchExpressions are not evaluated: {selector}");
    let empty = Map::new();
    let wanted = selector.get("matchLabels").and_then(Value::as_object).unwrap_or(&empty);
    wanted.iter().all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && Some(*lv) == v.as_str()))
}

/// One NetworkPolicyPeer against a pod source; `ipBlock` peers never match a
/// pod here (cluster-internal pod IPs are the CNI's business), which keeps the
/// evaluation on the "denied" side.
fn peer_admits(peer: &Value, policy_namespace: &str, source: &Source) -> bool {
    if peer.get("ipBlock").is_some() {
        return false;
    }
    let ns_ok = match peer.get("namespaceSelector") {
        Some(sel) => selects(sel, &source.namespace_labels()),
        None => source.namespace == policy_namespace,
    };
    let pod_ok = peer.get("podSelector").is_none_or(|sel| selects(sel, source.pod));
    ns_ok && pod_ok
}

/// Whether the policy admits `source` to the container port `port` (a name, as
/// the library writes them) over `protocol`.
fn admits(policy: &Value, source: &Source, port: &str, protocol: &str) -> bool {
    let namespace = policy["metadata"]["namespace"].as_str().unwrap_or("nex");
    let rules = policy["spec"]["ingress"].as_array().cloned().unwrap_or_default();
    rules.iter().any(|rule| {
        let from_ok = match rule.get("from").and_then(Value::as_array) {
            None => true,
            Some(peers) if peers.is_empty() => true,
            Some(peers) => peers.iter().any(|p| peer_admits(p, namespace, source)),
        };
        let port_ok = match rule.get("ports").and_then(Value::as_array) {
            None => true,
            Some(ports) if ports.is_empty() => true,
            Some(ports) => ports.iter().any(|p| {
                p["port"].as_str() == Some(port) && p["protocol"].as_str().unwrap_or("TCP") == protocol
            }),
        };
        from_ok && port_ok
    })
}

const NGINX: Source =
    Source { namespace: "ingress-nginx", pod: &[("app.kubernetes.io/name", "ingress-nginx")] };
const ENVOY: Source =
    Source { namespace: "envoy-gateway-system", pod: &[("app.kubernetes.io/name", "envoy")] };
const TRAEFIK: Source = Source { namespace: "traefik", pod: &[("app.kubernetes.io/name", "traefik")] };
const K3S_TRAEFIK: Source =
    Source { namespace: "kube-system", pod: &[("app.kubernetes.io/name", "traefik")] };

fn tmp_values(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".yaml").tempfile().expect("temp file");
    std::fs::write(file.path(), text).expect("write values");
    file
}

#[test]
fn every_chart_serves_its_http_port_to_any_ingress_controller_by_default() {
    let helm = helm();
    // Every chart with an ingress or route: its default policy admits the
    // controllers' pods wherever they run.
    for chart in ["adguard-home", "authelia", "common-test", "gatus", "glance", "homepage"] {
        let policy = render_policy(&helm, chart, &[])
            .unwrap_or_else(|| panic!("{chart}: no NetworkPolicy by default"));
        for source in [&NGINX, &ENVOY, &TRAEFIK, &K3S_TRAEFIK] {
            assert!(
                admits(&policy, source, "http", "TCP"),
                "{chart}: http not reachable from namespace {}: {policy:#}",
                source.namespace
            );
        }
    }
}

#[test]
fn a_port_the_chart_does_not_serve_stays_closed() {
    let helm = helm();
    // common-test with a second (metrics) port: http open to all, metrics not,
    // unless it is scraped, and then only from the monitoring namespace.
    let metrics =
        tmp_values("service:\n  ports:\n    metrics:\n      port: 9090\n      containerPort: 9090\n");
    let policy =
        render_policy(&helm, "common-test", &[metrics.path().to_path_buf()]).expect("a NetworkPolicy");
    assert!(admits(&policy, &NGINX, "http", "TCP"));
    for source in [&NGINX, &ENVOY, &TRAEFIK, &K3S_TRAEFIK] {
        assert!(
            !admits(&policy, source, "metrics", "TCP"),
            "metrics open to {}: {policy:#}",
            source.namespace
        );
    }
    // The release's helm test pod reaches every port.
    let test_pod = Source {
        namespace: "nex",
        pod: &[("app.kubernetes.io/name", "common-test-test"), ("app.kubernetes.io/instance", "nex")],
    };
    assert!(admits(&policy, &test_pod, "metrics", "TCP"), "{policy:#}");

    // tailscale serves nothing over HTTP: its metrics port is closed to everyone.
    let policy = policy_of(&helm, "tailscale", None);
    for source in [&NGINX, &ENVOY, &TRAEFIK, &K3S_TRAEFIK] {
        assert!(!admits(&policy, source, "metrics", "TCP"), "tailscale metrics open: {policy:#}");
    }
    // adguard-home: the web UI is served, DNS is open by its own extraIngress.
    let policy = policy_of(&helm, "adguard-home", None);
    assert!(admits(&policy, &NGINX, "http", "TCP"));
    assert!(admits(&policy, &NGINX, "dns-udp", "UDP"));
    assert!(!admits(&policy, &NGINX, "dns-udp", "TCP"));
}

fn policy_of(helm: &Helm, chart: &str, scenario: Option<&str>) -> Value {
    let values: Vec<PathBuf> =
        scenario.map(|s| support::ci_values(&root().join("charts").join(chart), s)).into_iter().collect();
    render_policy(helm, chart, &values).unwrap_or_else(|| panic!("{chart} {scenario:?}: no NetworkPolicy"))
}

#[test]
fn a_named_gateway_narrows_the_served_port_to_it() {
    let helm = helm();
    // common-test's network-policy scenario names namespace `gateway`.
    let policy = policy_of(&helm, "common-test", Some("network-policy"));
    let gateway = Source { namespace: "gateway", pod: &[("app", "anything")] };
    assert!(admits(&policy, &gateway, "http", "TCP"), "{policy:#}");
    assert!(!admits(&policy, &NGINX, "http", "TCP"), "{policy:#}");
    // A pod selector with no namespace selector means the release's namespace only.
    let narrowed = tmp_values(
        "networkPolicy:\n  gateway:\n    podSelector:\n      matchLabels:\n        app.kubernetes.io/name: ingress-nginx\n",
    );
    let policy = render_policy(&helm, "glance", &[narrowed.path().to_path_buf()]).expect("a NetworkPolicy");
    assert!(!admits(&policy, &NGINX, "http", "TCP"), "{policy:#}");
    let local = Source { namespace: "nex", pod: &[("app.kubernetes.io/name", "ingress-nginx")] };
    assert!(admits(&policy, &local, "http", "TCP"), "{policy:#}");
}

#[test]
fn served_ports_empty_closes_them_and_an_unknown_one_fails_the_render() {
    let helm = helm();
    let policy = policy_of(&helm, "common-test", Some("network-policy-deny"));
    assert_eq!(policy["spec"]["ingress"], Value::Array(vec![]), "{policy:#}");

    let dir = root().join("charts/glance");
    let bad = tmp_values("networkPolicy:\n  servedPorts: [metrics]\n");
    let out = helm
        .command()
        .args(["template", "nex"])
        .arg(&dir)
        .arg("--values")
        .arg(bad.path())
        .output()
        .expect("run helm");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("served port \"metrics\" is not in service.ports"), "{err}");
}

/// The DNS rule is the chart's own, not a default of `extraIngress`: extra rules (the
/// stack admits Gatus and Homepage that way) add to it. Helm replaces lists, so a DNS
/// rule kept in `extraIngress`'s default was lost the moment a user added one.
#[test]
fn adguard_dns_stays_open_when_extra_ingress_rules_are_added() {
    let helm = helm();
    // k3s' ServiceLB forwards LAN DNS from its svclb pod in kube-system (klipper-lb masquerades).
    let svclb = Source {
        namespace: "kube-system",
        pod: &[("svccontroller.k3s.cattle.io/svcname", "nex-adguard-home")],
    };
    let extra = tmp_values(
        "networkPolicy:\n  extraIngress:\n    - from:\n        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: home\n      ports:\n        - port: http\n          protocol: TCP\n",
    );
    for values in [vec![], vec![extra.path().to_path_buf()]] {
        let policy = render_policy(&helm, "adguard-home", &values).expect("a NetworkPolicy");
        for (port, protocol) in [("dns-udp", "UDP"), ("dns-tcp", "TCP")] {
            for source in [&svclb, &NGINX] {
                assert!(
                    admits(&policy, source, port, protocol),
                    "{values:?}: {port}/{protocol} closed to {}: {policy:#}",
                    source.namespace
                );
            }
        }
    }
    // `dnsClients` narrows DNS (and only DNS) to the peers it names.
    let narrowed = tmp_values(
        "dnsClients:\n  - namespaceSelector:\n      matchLabels:\n        kubernetes.io/metadata.name: kube-system\n",
    );
    let policy =
        render_policy(&helm, "adguard-home", &[narrowed.path().to_path_buf()]).expect("a NetworkPolicy");
    assert!(admits(&policy, &svclb, "dns-udp", "UDP"), "{policy:#}");
    assert!(!admits(&policy, &NGINX, "dns-udp", "UDP"), "{policy:#}");
    assert!(admits(&policy, &NGINX, "http", "TCP"), "{policy:#}");
}
