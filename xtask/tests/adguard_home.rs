//! adguard-home: the admin user, the seed, DNS-over-TLS/QUIC, and the config
//! against what AdGuard Home v0.107.78 reads.
//!
//! The chart is rendered with the real pinned helm; the seed init container's
//! own script then runs under a real POSIX shell on a temporary "volume" (its
//! absolute mount paths, /seed and /admin, rewritten to temporary directories),
//! and the seeded login is checked with bcrypt, as AdGuard Home checks it
//! (golang.org/x/crypto/bcrypt CompareHashAndPassword, internal/aghuser).

use serde_json::Value;
use std::path::{Path, PathBuf};

use nex_harness::helm::{Helm, Major};

mod support;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn chart() -> PathBuf {
    root().join("charts/adguard-home")
}

fn documents(text: &str) -> Vec<Value> {
    text.split("\n---")
        .filter_map(|doc| serde_saphyr::from_str::<Value>(doc).ok())
        .filter(|v| v.is_object())
        .collect()
}

fn render(args: &[&str]) -> Vec<Value> {
    let helm = Helm::locate(Major::V4, &nex_harness::provision::cache_root()).expect("pinned helm");
    nex_harness::deps::ensure(
        &nex_harness::catalog::load(&chart()),
        &nex_harness::files::read_chart_meta(&chart()),
        &helm,
    )
    .expect("vendor the library");
    let out = helm
        .command()
        .args(["template", "nex"])
        .arg(chart())
        .args(["--namespace", "nex"])
        .args(args)
        .output()
        .expect("run helm");
    assert!(out.status.success(), "helm template: {}", String::from_utf8_lossy(&out.stderr));
    documents(&String::from_utf8_lossy(&out.stdout))
}

fn scenario(name: &str) -> String {
    support::ci_values(&chart(), name).display().to_string()
}

fn kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn workload(objects: &[Value]) -> &Value {
    kind(objects, "Deployment").first().copied().expect("a Deployment")
}

fn seed(objects: &[Value]) -> String {
    kind(objects, "ConfigMap")[0]["data"]["AdGuardHome.yaml"].as_str().expect("seed config").to_owned()
}

fn secret_value(objects: &[Value], key: &str) -> String {
    let secret = kind(objects, "Secret").first().copied().expect("a Secret");
    let b64 = secret["data"][key].as_str().expect("key in the Secret");
    String::from_utf8(decode_base64(b64)).expect("UTF-8")
}

/// Standard base64 (what `b64enc` writes), decoded without another crate.
fn decode_base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The seed init container's script, its absolute mounts moved under `dir`.
fn seed_script(objects: &[Value], dir: &Path) -> String {
    let init = &workload(objects)["spec"]["template"]["spec"]["initContainers"][0];
    assert_eq!(init["name"], "seed-config");
    let script = init["command"][2].as_str().expect("sh -c script");
    script
        .replace("/seed/", &format!("{}/seed/", dir.display()))
        .replace("/admin/", &format!("{}/admin/", dir.display()))
}

/// Runs the seed script with `seed` and (optionally) the Secret's hash mounted.
fn run_seed(script: &str, dir: &Path, seed: &str, hash: Option<&str>) -> std::process::Output {
    std::fs::create_dir_all(dir.join("seed")).unwrap();
    std::fs::write(dir.join("seed/AdGuardHome.yaml"), seed).unwrap();
    if let Some(hash) = hash {
        std::fs::create_dir_all(dir.join("admin")).unwrap();
        std::fs::write(dir.join("admin/passwordHash"), hash).unwrap();
    }
    std::process::Command::new("sh").args(["-c", script]).output().expect("run sh")
}

fn users(config: &Value) -> Vec<(String, String)> {
    config["users"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| {
            (u["name"].as_str().unwrap_or("").to_owned(), u["password"].as_str().unwrap_or("").to_owned())
        })
        .collect()
}

#[test]
fn the_generated_admin_logs_in_on_first_install_and_survives_upgrades() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mount = format!("persistence.mountPath={}", data.display());
    let objects = render(&["--set", &mount]);

    let password = secret_value(&objects, "password");
    let hash = secret_value(&objects, "passwordHash");
    assert!(password.len() >= 24, "a short generated password");
    // The Secret outlives the release: the seeded config on a retained volume holds its hash.
    let secret = kind(&objects, "Secret")[0];
    assert_eq!(secret["metadata"]["annotations"]["helm.sh/resource-policy"], "keep");
    // The ConfigMap holds no hash: it does not change (nor roll the pods) when the Secret does.
    let seed_text = seed(&objects);
    assert!(!seed_text.contains(&hash) && !seed_text.contains("$2a$"), "{seed_text}");

    // First start: the seed lands on the volume with the admin's hash in place.
    let script = seed_script(&objects, tmp.path());
    let out = run_seed(&script, tmp.path(), &seed_text, Some(&hash));
    assert!(out.status.success(), "seed failed: {}", String::from_utf8_lossy(&out.stderr));
    let conf_path = data.join("conf/AdGuardHome.yaml");
    let conf: Value = serde_saphyr::from_str(&std::fs::read_to_string(&conf_path).unwrap()).unwrap();
    let admin = users(&conf).into_iter().find(|(n, _)| n == "admin").expect("an admin user in the config");
    assert_eq!(admin.1, hash);
    assert!(
        bcrypt::verify(&password, &admin.1).expect("a bcrypt hash"),
        "the Secret's password does not log in"
    );
    assert!(!bcrypt::verify("wrong", &admin.1).unwrap());
    assert!(data.join("work").is_dir());

    // Upgrade: AdGuard Home owns the config now (the UI rewrote it); it is left alone.
    std::fs::write(&conf_path, "users: []\n# written by the UI\n").unwrap();
    let out = run_seed(&script, tmp.path(), &seed_text, Some(&hash));
    assert!(out.status.success());
    assert_eq!(std::fs::read_to_string(&conf_path).unwrap(), "users: []\n# written by the UI\n");

    // seed.overwrite: the config is replaced, and the admin (same kept hash) logs in again.
    let objects = render(&["--set", &mount, "--set", "seed.overwrite=true"]);
    let script = seed_script(&objects, tmp.path());
    let out = run_seed(&script, tmp.path(), &seed(&objects), Some(&hash));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let conf: Value = serde_saphyr::from_str(&std::fs::read_to_string(&conf_path).unwrap()).unwrap();
    let admin = users(&conf).into_iter().find(|(n, _)| n == "admin").expect("admin after a reset");
    assert!(bcrypt::verify(&password, &admin.1).unwrap());
}

#[test]
fn an_existing_secret_needs_a_bcrypt_hash_and_only_the_hash_is_mounted() {
    let objects = render(&["--values", &scenario("existing-secret")]);
    assert!(kind(&objects, "Secret").is_empty(), "a Secret rendered beside existingSecret");
    let spec = &workload(&objects)["spec"]["template"]["spec"];
    let admin =
        spec["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "admin").expect("admin volume");
    assert_eq!(admin["secret"]["secretName"], "adguard-admin");
    assert_eq!(
        admin["secret"]["items"],
        serde_json::json!([{"key": "passwordHash", "path": "passwordHash"}])
    );
    // The main container mounts no Secret at all; the init container only the hash.
    let main = &spec["containers"][0];
    assert!(main["volumeMounts"].as_array().into_iter().flatten().all(|m| m["name"] != "admin"));
    assert!(seed(&objects).contains("name: root"));

    // A value that is not a bcrypt hash stops the seed with the Secret's name.
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let objects = render(&[
        "--values",
        &scenario("existing-secret"),
        "--set",
        &format!("persistence.mountPath={}", data.display()),
    ]);
    let script = seed_script(&objects, tmp.path());
    for bad in ["hunter2", "$2a$10$short", "$2a$10$N7veG1lGHhmbniKo.IlleTXWgbyIVnzPayH32Dlgmsd|NBPbVc4W"] {
        let out = run_seed(&script, tmp.path(), &seed(&objects), Some(bad));
        assert!(!out.status.success(), "accepted {bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("passwordHash of Secret adguard-admin is not a bcrypt hash"), "{err}");
        assert!(!data.join("conf/AdGuardHome.yaml").exists());
    }
    // A real hash (htpasswd writes $2y$) is accepted.
    let good = bcrypt::hash("s3cret", 4).unwrap().replacen("$2b$", "$2y$", 1);
    let out = run_seed(&script, tmp.path(), &seed(&objects), Some(&good));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn admin_off_renders_no_secret_and_a_duplicate_admin_fails() {
    let objects = render(&["--set", "admin.enabled=false"]);
    assert!(kind(&objects, "Secret").is_empty());
    let conf: Value = serde_saphyr::from_str(&seed(&objects)).unwrap();
    assert!(users(&conf).is_empty());

    let helm = Helm::locate(Major::V4, &nex_harness::provision::cache_root()).expect("pinned helm");
    let out = helm
        .command()
        .args(["template", "nex"])
        .arg(chart())
        .args(["--set", "config.users[0].name=admin", "--set", "config.users[0].password=x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.users already has a user \"admin\""));
}

#[test]
fn dns_over_tls_and_quic_are_off_by_default_and_wired_when_on() {
    let objects = render(&[]);
    let service = serde_json::to_string(&kind(&objects, "Service")[0]["spec"]["ports"]).unwrap();
    let container =
        serde_json::to_string(&workload(&objects)["spec"]["template"]["spec"]["containers"][0]["ports"])
            .unwrap();
    let policy = serde_json::to_string(&kind(&objects, "NetworkPolicy")[0]["spec"]["ingress"]).unwrap();
    for text in [&service, &container, &policy] {
        assert!(
            !text.contains("853") && !text.contains("dns-tls") && !text.contains("dns-quic"),
            "DoT/DoQ on by default: {text}"
        );
    }
    let conf: Value = serde_saphyr::from_str(&seed(&objects)).unwrap();
    assert_eq!(conf["tls"]["port_dns_over_tls"], 0);
    assert_eq!(conf["tls"]["port_dns_over_quic"], 0);

    let objects = render(&["--values", &scenario("dns-encryption")]);
    let service = kind(&objects, "Service")[0];
    let ports = service["spec"]["ports"].as_array().unwrap();
    for (name, protocol) in [("dns-tls", "TCP"), ("dns-quic", "UDP")] {
        let p =
            ports.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("no {name} on the Service"));
        assert_eq!((p["port"].as_i64(), p["protocol"].as_str()), (Some(853), Some(protocol)));
    }
    let container = &workload(&objects)["spec"]["template"]["spec"]["containers"][0];
    let cports = container["ports"].as_array().unwrap();
    assert!(
        cports.iter().any(|p| p["name"] == "dns-tls" && p["containerPort"] == 8853 && p["protocol"] == "TCP")
    );
    assert!(
        cports
            .iter()
            .any(|p| p["name"] == "dns-quic" && p["containerPort"] == 8853 && p["protocol"] == "UDP")
    );
    assert!(
        container["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["mountPath"] == "/etc/adguardhome/tls")
    );
    let conf: Value = serde_saphyr::from_str(&seed(&objects)).unwrap();
    let tls = &conf["tls"];
    assert_eq!(tls["enabled"], true);
    assert_eq!(tls["port_dns_over_tls"], 8853);
    assert_eq!(tls["port_dns_over_quic"], 8853);
    // HTTPS (default 443 upstream) would not bind as non-root: off unless asked for.
    assert_eq!(tls["port_https"], 0);
    assert_eq!(tls["certificate_path"], "/etc/adguardhome/tls/tls.crt");
    assert_eq!(tls["server_name"], "dns.example.org");
    // The NetworkPolicy opens them in the chart's DNS rule, beside plain DNS.
    let policy = kind(&objects, "NetworkPolicy")[0];
    let rules = serde_json::to_string(&policy["spec"]["ingress"]).unwrap();
    assert!(
        rules.contains("{\"ports\":[{\"port\":\"dns-udp\",\"protocol\":\"UDP\"},{\"port\":\"dns-tcp\",\"protocol\":\"TCP\"},{\"port\":\"dns-tls\",\"protocol\":\"TCP\"},{\"port\":\"dns-quic\",\"protocol\":\"UDP\"}]}"),
        "{rules}"
    );
}

/// Top-level YAML keys of `configuration` in internal/home/config.go at
/// AdguardTeam/AdGuardHome v0.107.78 (the `yaml:"…"` tags; `fileData` and the
/// embedded mutex are not read).
const UPSTREAM_TOP_LEVEL: &[&str] = &[
    "http",
    "users",
    "auth_attempts",
    "block_auth_min",
    "http_proxy",
    "language",
    "theme",
    "dns",
    "tls",
    "querylog",
    "statistics",
    "filters",
    "whitelist_filters",
    "user_rules",
    "dhcp",
    "filtering",
    "clients",
    "log",
    "os",
    "schema_version",
    "unsafe_use_custom_update_index_url",
];
/// `tlsConfigSettings` (same file) YAML keys.
const UPSTREAM_TLS: &[&str] = &[
    "enabled",
    "server_name",
    "force_https",
    "port_https",
    "port_dns_over_tls",
    "port_dns_over_quic",
    "port_dnscrypt",
    "dnscrypt_config_file",
    "certificate_chain",
    "private_key",
    "certificate_path",
    "private_key_path",
    "override_tls_ciphers",
    "strict_sni_check",
];
/// `httpConfig` (same file): `Address` has no tag, so yaml.v3 reads it as `address`.
const UPSTREAM_HTTP: &[&str] = &["pprof", "doh", "address", "session_ttl"];
/// `webUser` (internal/home/auth.go).
const UPSTREAM_USER: &[&str] = &["name", "password"];
/// internal/configmigrate/configmigrate.go: LastSchemaVersion at v0.107.78.
const UPSTREAM_SCHEMA_VERSION: i64 = 34;

fn keys_within(value: &Value, allowed: &[&str], what: &str, scenario: &str) {
    for key in value.as_object().into_iter().flat_map(|o| o.keys()) {
        assert!(
            allowed.contains(&key.as_str()),
            "{scenario}: {what} key {key:?} is not read by AdGuard Home v0.107.78"
        );
    }
}

#[test]
fn every_scenarios_seed_uses_only_keys_adguard_home_reads() {
    let mut scenarios = vec![("default".to_owned(), vec![])];
    for s in nex_harness::catalog::load(&chart()).scenarios.iter().filter(|s| s.values_file.is_some()) {
        let name = s.name.clone();
        if name == "existing-config" {
            continue; // the seed is the user's ConfigMap, not rendered
        }
        scenarios.push((name.clone(), vec!["--values".to_owned(), scenario(&name)]));
    }
    assert!(scenarios.len() > 5);
    for (name, args) in scenarios {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let objects = render(&args);
        let conf: Value = serde_saphyr::from_str(&seed(&objects)).unwrap();
        keys_within(&conf, UPSTREAM_TOP_LEVEL, "top-level", &name);
        keys_within(&conf["tls"], UPSTREAM_TLS, "tls", &name);
        keys_within(&conf["http"], UPSTREAM_HTTP, "http", &name);
        for user in conf["users"].as_array().into_iter().flatten() {
            keys_within(user, UPSTREAM_USER, "users[]", &name);
        }
        assert_eq!(conf["schema_version"].as_i64(), Some(UPSTREAM_SCHEMA_VERSION), "{name}");
    }
}
