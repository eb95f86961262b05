//! `examples/sso-stack`: Authelia, yaldap and a Gateway API route compose.
//!
//! The example's charts are rendered with the README's release names (`ldap`
//! and `auth` in namespace `sso`) under both Helm majors, and the pieces are
//! checked against each other: the LDAP address Authelia is given is the
//! yaldap Service on its Service port, both routes attach to the example's
//! Gateway, Traefik's forwardAuth points at the Authelia Service, and no
//! secret sits in Authelia's ConfigMap.

use nex_harness::helm::{Helm, Major};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn example(file: &str) -> PathBuf {
    root().join("examples/sso-stack").join(file)
}

fn documents(text: &str) -> Vec<Value> {
    text.split("\n---")
        .filter_map(|doc| serde_saphyr::from_str::<Value>(doc).ok())
        .filter(|v| v.is_object())
        .collect()
}

fn render(helm: &Helm, chart: &str, release: &str, values: &Path) -> Vec<Value> {
    try_render(helm, chart, release, &[values]).unwrap_or_else(|e| panic!("helm template {chart}: {e}"))
}

fn try_render(helm: &Helm, chart: &str, release: &str, values: &[&Path]) -> Result<Vec<Value>, String> {
    let dir = root().join("charts").join(chart);
    let meta = nex_harness::files::read_chart_meta(&dir);
    nex_harness::deps::ensure(&nex_harness::catalog::load(&dir), &meta, helm).expect("vendor the library");
    let mut cmd = helm.command();
    cmd.args(["template", release]).arg(&dir).args(["--namespace", "sso"]);
    for v in values {
        cmd.arg("--values").arg(v);
    }
    let out = cmd.output().expect("run helm");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(documents(&String::from_utf8_lossy(&out.stdout)))
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn attaches_to_homelab(route: &Value) -> bool {
    route["spec"]["parentRefs"]
        .as_array()
        .is_some_and(|refs| refs.iter().any(|r| r["name"] == "homelab" && r["namespace"] == "gateway"))
}

#[test]
fn the_sso_stack_pieces_agree_under_both_helm_majors() {
    let cache = nex_harness::provision::cache_root();
    for major in [Major::V4, Major::V3] {
        let helm = Helm::locate(major, &cache).expect("pinned helm");
        let auth = render(&helm, "authelia", "auth", &example("authelia-values.yaml"));
        // The example's placeholders are refused as they are (they would be plain-text passwords);
        // its composition is judged with them let through, as stacks/sso does.
        let err = try_render(&helm, "yaldap", "ldap", &[&example("yaldap-values.yaml")]).unwrap_err();
        assert!(err.contains("is not a PHC hash"), "{err}");
        let through = root().join("stacks/sso/placeholders.yaml");
        let ldap = try_render(&helm, "yaldap", "ldap", &[&example("yaldap-values.yaml"), &through])
            .unwrap_or_else(|e| panic!("helm template yaldap: {e}"));

        // yaldap's Service: `ldap-yaldap`, port 389.
        let service = of_kind(&ldap, "Service")
            .into_iter()
            .find(|s| s["metadata"]["name"] == "ldap-yaldap")
            .expect("a Service named ldap-yaldap");
        let ports = service["spec"]["ports"].as_array().expect("ports");
        assert!(ports.iter().any(|p| p["port"] == 389), "{ports:?}");

        // Authelia's configuration names exactly that Service and port.
        let config: Vec<&str> = of_kind(&auth, "ConfigMap")
            .iter()
            .flat_map(|cm| cm["data"].as_object().into_iter().flat_map(|d| d.values()))
            .filter_map(Value::as_str)
            .collect();
        assert!(
            config.iter().any(|c| c.contains("address: ldap://ldap-yaldap.sso.svc.cluster.local:389")),
            "Authelia's LDAP address is not the yaldap Service"
        );
        // Secrets reach Authelia as files, never through the ConfigMap.
        for text in &config {
            for line in text.lines() {
                let key = line.trim_start().split(':').next().unwrap_or_default();
                let secret_key =
                    ["password", "jwt_secret", "secret", "encryption_key", "hmac_secret"].contains(&key);
                let value = line.split_once(':').map(|(_, v)| v.trim()).unwrap_or_default();
                assert!(!secret_key || value.is_empty(), "a secret in Authelia's ConfigMap: {line}");
            }
        }
        let env: Vec<Value> = auth
            .iter()
            .filter(|o| o["kind"] == "Deployment" || o["kind"] == "StatefulSet")
            .flat_map(|w| w["spec"]["template"]["spec"]["containers"].as_array().cloned().unwrap_or_default())
            .flat_map(|c| c["env"].as_array().cloned().unwrap_or_default())
            .collect();
        assert!(
            env.iter().any(|e| e["name"] == "AUTHELIA_AUTHENTICATION_BACKEND_LDAP_PASSWORD_FILE"),
            "the LDAP bind password is not read from a file"
        );

        // The portal's route attaches to the example's Gateway.
        let routes = of_kind(&auth, "HTTPRoute");
        assert!(
            routes.iter().any(|r| attaches_to_homelab(r)),
            "Authelia's HTTPRoute is not on Gateway homelab"
        );
    }

    // The hand-written part: the app's route and the forwardAuth Middleware.
    let gateway = documents(&std::fs::read_to_string(example("gateway.yaml")).expect("gateway.yaml"));
    let gw = of_kind(&gateway, "Gateway");
    assert!(gw.iter().any(|g| g["metadata"]["name"] == "homelab" && g["metadata"]["namespace"] == "gateway"));
    let middleware = of_kind(&gateway, "Middleware");
    let address = middleware[0]["spec"]["forwardAuth"]["address"].as_str().unwrap_or_default();
    assert!(address.starts_with("http://auth-authelia.sso.svc.cluster.local/"), "{address}");
    assert!(of_kind(&gateway, "HTTPRoute").iter().all(|r| attaches_to_homelab(r)));
}
