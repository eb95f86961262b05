//! The `stack on kind` workflow (`.github/workflows/stack.yaml`, run by
//! `.github/scripts/stack-on-kind` with the cluster files in `.github/kind/nex-rpi/`)
//! needs a container runtime, so it runs on GitHub only. What it assumes about
//! this repository is pinned here instead: a change to the stack or a chart that
//! would break the job (a Gateway renamed, a route added that it never checks, a
//! placeholder it no longer finds, a Secret key the chart stopped reading) fails
//! `cargo test` first.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;
use support::{documents, workspace_root, xtask_in};

const SCRIPT: &str = ".github/scripts/stack-on-kind";

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    documents(&read(path)).into_iter().next().unwrap_or_else(|| panic!("{path}: no document"))
}

/// Every object stacks/nex-rpi renders, as `stack render` prints them.
fn rendered() -> Vec<Value> {
    let out = xtask_in(&workspace_root()).args(["stack", "render", "nex-rpi"]).output().expect("run xtask");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    documents(&String::from_utf8_lossy(&out.stdout))
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// The host names the stack routes, without the domain.
fn routed_hosts(objects: &[Value]) -> BTreeSet<String> {
    of_kind(objects, "HTTPRoute")
        .iter()
        .flat_map(|r| r["spec"]["hostnames"].as_array().cloned().unwrap_or_default())
        .map(|h| {
            h.as_str().unwrap().strip_suffix(".home.example.org").expect("a host of the domain").to_string()
        })
        .collect()
}

/// The items of the script's line that starts with `prefix` (a `for … in` list; quoted items whole).
fn script_list(prefix: &str) -> Vec<String> {
    let script = read(SCRIPT);
    let line = script
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("{SCRIPT}: no line starting `{prefix}`"));
    let list = line[prefix.len()..].split(';').next().unwrap();
    if list.contains('"') {
        list.split('"').skip(1).step_by(2).map(str::to_string).collect()
    } else {
        list.split_whitespace().map(str::to_string).collect()
    }
}

#[test]
fn the_kind_gateway_is_the_stacks_and_takes_every_route() {
    let gateway = yaml(".github/kind/nex-rpi/gateway.yaml");
    let stack = yaml("stacks/nex-rpi/stack.yaml");
    let (ns, name) =
        (gateway["metadata"]["namespace"].as_str().unwrap(), gateway["metadata"]["name"].as_str().unwrap());
    assert!(
        stack["external"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "Gateway" && e["namespace"] == ns && e["name"] == name),
        "the stack declares no external Gateway {ns}/{name}"
    );
    let listener = &gateway["spec"]["listeners"][0];
    assert_eq!(gateway["spec"]["listeners"].as_array().unwrap().len(), 1);
    assert_eq!(listener["protocol"], "HTTPS", "Authelia's forward-auth refuses http (400)");
    assert_eq!(listener["allowedRoutes"]["namespaces"]["from"], "All");
    let wildcard = listener["hostname"].as_str().unwrap().strip_prefix('*').unwrap();

    let objects = rendered();
    let routes = of_kind(&objects, "HTTPRoute");
    assert!(routes.len() >= 5, "{} routes", routes.len());
    for r in routes {
        let what = r["metadata"]["name"].as_str().unwrap();
        for p in r["spec"]["parentRefs"].as_array().unwrap() {
            assert_eq!((p["namespace"].as_str(), p["name"].as_str()), (Some(ns), Some(name)), "{what}");
        }
        for h in r["spec"]["hostnames"].as_array().unwrap() {
            let h = h.as_str().unwrap();
            assert!(h.ends_with(wildcard) && !h[..h.len() - wildcard.len()].contains('.'), "{what}: {h}");
        }
    }
}

#[test]
fn kind_publishes_traefiks_https_node_port_and_traefik_is_the_stacks_gateway() {
    let cluster = yaml(".github/kind/nex-rpi/cluster.yaml");
    let traefik = yaml(".github/kind/nex-rpi/traefik-values.yaml");
    let mapping = &cluster["nodes"][0]["extraPortMappings"][0];
    assert_eq!(mapping["containerPort"], traefik["ports"]["websecure"]["nodePort"]);
    assert_eq!(mapping["hostPort"], 443, "the script's curl --resolve HOST:443");
    assert_eq!(traefik["service"]["spec"]["type"], "NodePort");
    assert_eq!(traefik["providers"]["kubernetesGateway"]["enabled"], true);
    assert_eq!(traefik["gateway"]["enabled"], false, "the Gateway is gateway.yaml's");
    // Traefik's websecure entrypoint (chart default 8443): a listener names the entrypoint port.
    assert_eq!(yaml(".github/kind/nex-rpi/gateway.yaml")["spec"]["listeners"][0]["port"], 8443);
    // The stack judged its NetworkPolicies for gateway pods with these labels; the Traefik
    // chart (v41.3.0, _helpers.tpl traefik.labelselector) gives its pods name=traefik.
    let stack = yaml("stacks/nex-rpi/stack.yaml");
    assert_eq!(stack["gateway"]["namespace"], "kube-system");
    let labels = stack["gateway"]["podLabels"].as_object().unwrap();
    assert_eq!(labels.len(), 1, "{labels:?}");
    assert_eq!(labels["app.kubernetes.io/name"], "traefik");
}

#[test]
fn the_script_checks_every_routed_app_with_and_without_a_session() {
    let mut routed = routed_hosts(&rendered());
    assert!(routed.remove("auth"), "Authelia's portal is routed");
    let without: BTreeSet<String> = script_list("for host in ").into_iter().collect();
    assert_eq!(without, routed, "{SCRIPT}: the forward-auth loop must name every routed app");
    let with: BTreeSet<String> = script_list("for target in ")
        .iter()
        .map(|t| t.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(with, routed, "{SCRIPT}: the session loop must name every routed app");
}

#[test]
fn what_the_script_patches_and_creates_matches_the_export_and_the_charts() {
    let dir = tempfile::tempdir().unwrap();
    let run = xtask_in(&workspace_root())
        .args(["stack", "export", "nex-rpi", "--format", "flux", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let file = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let script = read(SCRIPT);
    // The directory is a hand-made Secret from stacks/nex-rpi/yaldap-directory.yaml: never in the export.
    let directory = read("stacks/nex-rpi/yaldap-directory.yaml");
    assert!(file("yaldap.yaml").contains("existingSecret: yaldap-directory"));
    assert!(!file("yaldap.yaml").contains("bind:password"), "no password hash in the GitOps values");
    assert!(script.contains(r#"local directory="$root/stacks/$STACK/yaldap-directory.yaml""#));
    for placeholder in [
        "REPLACE-WITH-BCRYPT-HASH-OF-THE-OWNERS-PASSWORD",
        "REPLACE-WITH-BCRYPT-HASH-OF-THE-AUTHELIA-BIND-PASSWORD",
    ] {
        assert!(directory.contains(placeholder) && script.contains(placeholder), "{placeholder}");
    }
    assert!(directory.contains("uid: owner") && script.contains(r#"username: "owner""#));
    // AdGuard Home's admin login is made by hand too (Argo CD would regenerate it on every sync).
    assert!(file("adguard-home.yaml").contains("existingSecret: adguard-admin"));
    assert_eq!(file("authelia.yaml").matches("policy: two_factor").count(), 1);
    assert!(file("kustomization.yaml").lines().any(|l| l == "  - tailscale.yaml"));
    assert!(script.contains(r"sed -i '/^  - tailscale\.yaml$/d'"));
    assert!(file("helmrepository.yaml").contains("kind: HelmRepository"));
    for ns in ["sso", "tailscale"] {
        assert!(dir.path().join(format!("namespace-{ns}.yaml")).is_file(), "{ns}");
    }

    // The Secrets the script makes are the stack's external ones, with the keys the charts read.
    let stack = yaml("stacks/nex-rpi/stack.yaml");
    let external: BTreeSet<(String, String)> = stack["external"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "Secret")
        .map(|e| (e["namespace"].as_str().unwrap().to_string(), e["name"].as_str().unwrap().to_string()))
        .collect();
    let mut made = BTreeSet::new();
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut current = String::new();
    for line in script.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("kubectl -n ")
            && let Some((ns, rest)) = rest.split_once(" create secret generic ")
        {
            current = rest.split_whitespace().next().unwrap().to_string();
            made.insert((ns.to_string(), current.clone()));
        }
        for flag in line
            .split_whitespace()
            .filter_map(|w| w.strip_prefix("--from-literal=").or_else(|| w.strip_prefix("--from-file=")))
        {
            keys.push((current.clone(), flag.split('=').next().unwrap().to_string()));
        }
    }
    assert_eq!(made, external, "{SCRIPT} must make exactly the stack's external Secrets");
    assert_eq!(keys.len(), 7, "{keys:?}");
    let objects = rendered();
    for (secret, key) in &keys {
        assert!(
            objects.iter().any(|o| reads_key(o, secret, key)),
            "no rendered object reads key {key} of Secret {secret}"
        );
    }
}

/// Whether `v` holds a reference to `key` of Secret `secret`: a `secretKeyRef`
/// (`name`, `key`) or a volume or projection (`secretName`/`name` with `items`).
fn reads_key(v: &Value, secret: &str, key: &str) -> bool {
    match v {
        Value::Object(m) => {
            let named = m.get("name").or_else(|| m.get("secretName")).and_then(Value::as_str) == Some(secret);
            let keyed = m.get("key").and_then(Value::as_str) == Some(key)
                || m.get("items").and_then(Value::as_array).is_some_and(|items| {
                    items.iter().any(|i| i.get("key").and_then(Value::as_str) == Some(key))
                });
            (named && keyed) || m.values().any(|x| reads_key(x, secret, key))
        }
        Value::Array(a) => a.iter().any(|x| reads_key(x, secret, key)),
        _ => false,
    }
}

/// yaLDAP verifies `$bcrypt$v=0$r=COST$$HEX` by hex-decoding HEX and comparing with
/// golang.org/x/crypto/bcrypt (phc-crypto v1.2.0's bcrypt.Verify, yaLDAP v0.2.0); the
/// script's hash must survive exactly that. The script makes it with `cargo xtask stack
/// hash` (no htpasswd on the runner or here): run its function with `cargo xtask`
/// standing for the binary cargo's alias runs (a nested cargo would wait on this
/// test's build lock).
#[test]
fn the_yaldap_hash_the_script_makes_is_what_yaldap_verifies() {
    let script = workspace_root().join(SCRIPT);
    let out = Command::new("bash")
        .arg("-c")
        .arg(concat!(
            r#"cargo() { [ "$1" = xtask ] || exit 99; shift; "$XTASK" "$@"; }; root="$1"; "#,
            r#"source <(sed -n '/^yaldap_hash()/,/^}/p' "$0") && yaldap_hash 'correct horse battery'"#
        ))
        .arg(&script)
        .arg(workspace_root())
        .env("XTASK", assert_cmd::cargo::cargo_bin("xtask"))
        .output()
        .expect("bash");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let phc = String::from_utf8(out.stdout).unwrap();
    let hex = phc.trim_end().strip_prefix("$bcrypt$v=0$r=10$$").unwrap_or_else(|| panic!("{phc}"));
    let mcf: Vec<u8> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect();
    let mcf = String::from_utf8(mcf).unwrap();
    assert!(mcf.starts_with("$2a$10$"), "{mcf}");
    assert!(bcrypt::verify("correct horse battery", &mcf).unwrap(), "spaces are part of the password");
    assert!(!bcrypt::verify("correct", &mcf).unwrap());
    // The chart takes the PHC form, and refuses the bare `$2…$` hash inside it.
    let renders = |hash: &str| {
        let values = tempfile::NamedTempFile::new().unwrap();
        let directory = format!(
            "directory: |\n  dc:org:\n    cn:svc:\n      userPassword: !!ldap/bind:password '{hash}'\n"
        );
        std::fs::write(values.path(), directory).unwrap();
        let out = xtask_in(&workspace_root())
            .args(["render", "charts/yaldap", "--values"])
            .arg(values.path())
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).contains(hash))
    };
    // ... and what the yaldap chart and `stack lint` take as a hash, not plain text.
    assert!(nex_harness::checks::stack_serves::is_phc(phc.trim_end()), "{phc}");
    assert_eq!(renders(phc.trim_end()), (true, true));
    assert!(!renders(&mcf).0, "the chart took a bare bcrypt hash");
    // What yaLDAP would refuse is a usage error (exit 2), from any folder.
    for (stdin, why) in [("\n", "empty"), ("x\n", "cost 3"), (&"y".repeat(73), "73 bytes")] {
        let out = support::xtask()
            .current_dir(std::env::temp_dir())
            .args(["stack", "hash", "--cost", if why == "cost 3" { "3" } else { "10" }])
            .write_stdin(stdin)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{why}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(why),
            "{why}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The value of a `NAME="…"` line of the script.
fn script_value(name: &str) -> String {
    let script = read(SCRIPT);
    let prefix = format!("{name}=\"");
    let line =
        script.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("{SCRIPT}: no {name}"));
    line[prefix.len()..].trim_end_matches('"').to_string()
}

/// Gatus keys an endpoint `<group>_<name>`, lower-cased, with ` /_,.#+&` made `-`
/// (TwiN/gatus `config/key`, v5.36.0).
fn gatus_key(group: &str, name: &str) -> String {
    let clean = |s: &str| {
        s.to_lowercase().chars().map(|c| if " /_,.#+&".contains(c) { '-' } else { c }).collect::<String>()
    };
    format!("{}_{}", clean(group), clean(name))
}

#[test]
fn the_gatus_endpoints_the_script_expects_are_the_stacks() {
    let values = yaml("stacks/nex-rpi/values/gatus.yaml");
    let mut keys: Vec<String> = values["config"]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| gatus_key(e["group"].as_str().unwrap_or(""), e["name"].as_str().unwrap()))
        .collect();
    keys.sort();
    assert_eq!(script_value("GATUS_KEYS"), keys.join(" "));
}

/// The DNS the script resolves through is the Service the stack serves DNS on (its `serves: dns`).
#[test]
fn the_script_resolves_through_the_dns_service_the_stack_serves() {
    let stack = yaml("stacks/nex-rpi/stack.yaml");
    let dns =
        stack["serves"].as_array().unwrap().iter().find(|e| e["over"] == "lan").expect("a LAN exposure");
    let release = dns["release"].as_str().unwrap();
    let service = script_value("DNS_SERVICE");
    let (name, ns) = service.split_once('.').unwrap();
    let ns = ns.strip_suffix(".svc.cluster.local").unwrap();
    let objects = rendered();
    let svc = of_kind(&objects, "Service")
        .into_iter()
        .find(|s| s["metadata"]["name"] == name && s["metadata"]["namespace"] == ns)
        .unwrap_or_else(|| panic!("no Service {ns}/{name}"));
    assert_eq!(svc["metadata"]["labels"]["app.kubernetes.io/instance"], release);
    assert_eq!(svc["spec"]["type"], "LoadBalancer");
    for protocol in ["UDP", "TCP"] {
        assert!(
            svc["spec"]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["port"] == 53 && p["protocol"] == protocol)
        );
    }
    assert!(read(SCRIPT).contains(r#"nslookup example.org "$DNS_SERVICE""#));
}

/// What a pod outside the stack must not reach is a Service port the stack renders.
#[test]
fn the_refused_urls_name_services_of_the_stack() {
    let objects = rendered();
    let urls = script_value("REFUSED_URLS");
    assert!(urls.split_whitespace().count() >= 3, "{urls}");
    for url in urls.split_whitespace() {
        let rest = url.split_once("://").unwrap().1;
        let authority = rest.split('/').next().unwrap();
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, p.parse::<u64>().unwrap()),
            None => (authority, 80),
        };
        let mut parts = host.split('.');
        let (name, ns) = (parts.next().unwrap(), parts.next().unwrap());
        assert_eq!(parts.collect::<Vec<_>>(), ["svc", "cluster", "local"], "{url}");
        let found = of_kind(&objects, "Service").into_iter().any(|s| {
            s["metadata"]["name"] == name
                && s["metadata"]["namespace"] == ns
                && s["spec"]["ports"].as_array().unwrap().iter().any(|p| p["port"] == port)
        });
        assert!(found, "{url}: no Service {ns}/{name} with port {port} in the stack");
    }
}
