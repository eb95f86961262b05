//! Install-time defects a lint of the rendering cannot see by itself, pinned to
//! the rendered objects (issue 13): yaldap's arguments reach the binary,
//! Authelia's storage key survives an uninstall and its admin password is not
//! mounted, Tailscale's kernel mode is what upstream runs. Each chart is
//! rendered with the pinned Helm 4 (release `nex`, namespace `nex`).

use nex_harness::helm::{Helm, Major};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn chart_dir(chart: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").join("charts").join(chart)
}

fn helm() -> Helm {
    Helm::locate(Major::V4, &nex_harness::provision::cache_root()).expect("pinned helm 4")
}

/// `helm template` of a chart with `--set` flags: the objects, or helm's stderr.
fn render(chart: &str, sets: &[&str]) -> Result<Vec<Value>, String> {
    let helm = helm();
    let dir = chart_dir(chart);
    let meta = nex_harness::files::read_chart_meta(&dir);
    nex_harness::deps::ensure(&nex_harness::catalog::load(&dir), &meta, &helm).expect("vendor the library");
    let mut cmd = helm.command();
    cmd.args(["template", "nex"]).arg(&dir).args(["--namespace", "nex"]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().expect("run helm");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let (objects, errors) = nex_harness::manifest::split(&String::from_utf8_lossy(&out.stdout));
    assert!(errors.is_empty(), "{errors:?}");
    Ok(objects.into_iter().map(|o| o.value).collect())
}

fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = objects.iter().filter(|o| o["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind}");
    found[0]
}

fn main_container(objects: &[Value], kind: &str) -> Value {
    one(objects, kind)["spec"]["template"]["spec"]["containers"][0].clone()
}

#[test]
fn yaldap_names_its_binary_so_the_run_arguments_are_neither_dropped_nor_doubled() {
    for sets in [&[][..], &["tls.enabled=true", "tls.secretName=ldap-tls"][..]] {
        let objects = render("yaldap", sets).expect("renders");
        let c = main_container(&objects, "Deployment");
        assert_eq!(c["command"], serde_json::json!(["/opt/yaldap/yaldap"]), "{sets:?}");
        assert_eq!(c["args"][0], "run", "{sets:?}");
    }
    let err = render("yaldap", &["command=null"]).unwrap_err();
    assert!(err.contains("command is required"), "{err}");
}

/// yaLDAP parses bind passwords as PHC strings and compares anything else as plain text:
/// a bare `$2y$…` hash (what htpasswd prints) installs and then refuses every bind, and a
/// placeholder installs as the password. The chart refuses both unless plain text is opted in.
#[test]
fn yaldap_refuses_a_bare_bcrypt_hash_and_takes_the_phc_form() {
    let directory = |password: &str| {
        // `--set` splits on unescaped commas.
        format!("directory=dc:org:\n  cn:bob:\n    userPassword: !!ldap/bind:password {password}\n")
            .replace(',', "\\,")
    };
    for bare in ["'$2y$10$abcdefghijklmnopqrstuv'", "$2a$08$NNxtVCdMOz3D", "\"$2b$12$x\""] {
        let err = render("yaldap", &[&directory(bare)]).unwrap_err();
        assert!(err.contains("bare bcrypt hash") && err.contains("$bcrypt$v=0$r=COST$$HEX"), "{bare}: {err}");
    }
    // Anything phcformat.Parse refuses is compared as plain text: a placeholder would be the password.
    // PHC-looking strings phc-crypto cannot verify (unknown id, missing fields) fail every bind.
    for plain in [
        "'REPLACE-WITH-BCRYPT-HASH-OF-THE-OWNERS-PASSWORD'",
        "hunter2",
        "\"correct horse\" # a comment",
        "'$md5$v=0$r=1$$abcd'",
        "'$bcrypt$v=0$r=10$$'",
        "'$bcrypt$2432'",
        "",
    ] {
        let err = render("yaldap", &[&directory(plain)]).unwrap_err();
        assert!(err.contains("bind password #1"), "{plain}: {err}");
        assert!(err.contains("allowPlainTextPasswords"), "{plain}: {err}");
        let secret_part = plain.trim_matches(['\'', '"']).split(' ').next().unwrap_or("");
        if secret_part.len() > 4 && !secret_part.starts_with('$') {
            assert!(!err.contains(secret_part), "the value is never printed: {err}");
        }
    }
    let templated = "'{{ index (readFile \"/run/secrets/passwords.json\" | fromJson) \"bob\" }}'";
    let err = render("yaldap", &[&directory(templated)]).unwrap_err();
    assert!(err.contains("Go template"), "{err}");
    // The opt-in renders plain text as written.
    let objects =
        render("yaldap", &[&directory("hunter2"), "allowPlainTextPasswords=true"]).expect("opted in");
    assert!(
        one(&objects, "Secret")["stringData"]["directory.yaml"]
            .as_str()
            .unwrap()
            .contains("password hunter2")
    );
    // yaLDAP's own test fixture (common/types_test.go, v0.2.0): bcrypt of password123, cost 8.
    let phc = "'$bcrypt$v=0$r=8$$243261243038244e4e78745643644d4f7a33442f6a37534e72345a7075586b772f416d58456a2f6e544856706f784b45656446547570332f41474743'";
    // The other algorithms, in the shape phc-crypto v1.2.0 serializes (format.Serialize), plain or quoted.
    for other in [
        "$argon2id$v=19$m=65536,t=16,p=3$8400b4e5f01f3009$3fd77927d189",
        "\"$pbkdf2sha512$v=0$i=4096$87a39b3cf30626bc$d32093416bf521ff\"",
        "'$scrypt$v=0$p=3,ln=32768,r=8$64ecb15ec1aa81bc$4fc8d3bc' # the service user",
    ] {
        render("yaldap", &[&directory(other)]).unwrap_or_else(|e| panic!("{other}: {e}"));
    }
    let objects = render("yaldap", &[&directory(phc)]).expect("the PHC form renders");
    let secret = one(&objects, "Secret");
    assert!(
        secret["stringData"]["directory.yaml"].as_str().unwrap().contains("$bcrypt$v=0$r=8$$2432"),
        "{secret}"
    );
}

fn keeps(secret: &Value) -> bool {
    secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
}

fn generated_secret(objects: &[Value]) -> &Value {
    objects
        .iter()
        .find(|o| o["kind"] == "Secret" && o["metadata"]["name"] == "nex-authelia")
        .expect("the Secret")
}

#[test]
fn authelia_keeps_its_generated_secret_exactly_when_the_data_outlives_the_release() {
    let cases: &[(&[&str], bool)] = &[
        (&[], true), // SQLite on a retained claim (the defaults)
        (&["persistence.retain=false"], false),
        (&["persistence.retain=false", "persistence.existingClaim=mine"], true),
        (&["persistence.enabled=false"], false), // SQLite on an emptyDir
        (
            &[
                "storage.type=postgres",
                "persistence.enabled=false",
                "storage.postgres.passwordSecret.name=pg",
            ],
            true,
        ),
    ];
    for (sets, keep) in cases {
        let objects = render("authelia", sets).expect("renders");
        assert_eq!(keeps(generated_secret(&objects)), *keep, "{sets:?}");
    }
}

#[test]
fn authelia_mounts_only_the_keys_it_reads_never_the_plaintext_admin_password() {
    for sets in [&[][..], &["oidc.enabled=true"][..], &["existingSecret=mine"][..]] {
        let objects = render("authelia", sets).expect("renders");
        let volumes = one(&objects, "Deployment")["spec"]["template"]["spec"]["volumes"].clone();
        let secrets =
            volumes.as_array().unwrap().iter().find(|v| v["name"] == "secrets").expect("secrets volume");
        let chart_source = &secrets["projected"]["sources"][0]["secret"];
        let keys: Vec<&str> = chart_source["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["key"].as_str().unwrap())
            .collect();
        assert!(keys.contains(&"storage-encryption-key") && keys.contains(&"users_database.yml"), "{keys:?}");
        assert!(!keys.iter().any(|k| k.starts_with("admin-password")), "{sets:?}: {keys:?}");
        assert_eq!(keys.contains(&"oidc-jwks-key.pem"), sets == ["oidc.enabled=true"], "{keys:?}");
    }
    // The password is still in the Secret, for the user to read (NOTES).
    let objects = render("authelia", &[]).expect("renders");
    assert!(generated_secret(&objects)["data"]["admin-password"].is_string());
}

#[test]
fn authelia_with_secret_generation_none_fails_until_existing_secret_is_set() {
    let err = render("authelia", &["secretGeneration=none"]).unwrap_err();
    assert!(err.contains("set existingSecret") && err.contains("storage-encryption-key"), "{err}");
    let objects = render("authelia", &["secretGeneration=none", "existingSecret=mine"]).expect("renders");
    assert!(!objects.iter().any(|o| o["kind"] == "Secret" && o["metadata"]["name"] == "nex-authelia"));
}

#[test]
fn tailscale_kernel_mode_is_privileged_as_upstream_runs_it_and_userspace_is_not() {
    let kernel = render("tailscale", &["kernel.enabled=true"]).expect("renders");
    let sts = one(&kernel, "StatefulSet");
    let c = main_container(&kernel, "StatefulSet");
    assert_eq!(c["securityContext"]["privileged"], true);
    // Kubernetes rejects privileged with allowPrivilegeEscalation: false.
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], true);
    assert_eq!(sts["spec"]["template"]["spec"]["securityContext"]["runAsUser"], 0);
    let env = c["env"].as_array().unwrap();
    assert!(env.iter().any(|e| e["name"] == "TS_USERSPACE" && e["value"] == "false"));
    // Privileged, the node's devices are there and containerboot sets forwarding itself.
    let volumes = sts["spec"]["template"]["spec"]["volumes"].as_array().cloned().unwrap_or_default();
    assert!(!volumes.iter().any(|v| v.get("hostPath").is_some()), "{volumes:?}");
    assert!(sts["spec"]["template"]["spec"]["securityContext"].get("sysctls").is_none());

    let user = render("tailscale", &[]).expect("renders");
    let c = main_container(&user, "StatefulSet");
    assert_eq!(c["securityContext"]["privileged"], false);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
}
