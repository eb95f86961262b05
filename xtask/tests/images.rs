//! `cargo xtask images` end to end against the real CNCF distribution registry
//! (Debian's `docker-registry`) on 127.0.0.1: the tests push crafted images
//! (layer, config blob, per-platform manifests, an index) over the HTTP API and
//! check each image rule, the token flow (a token service and an auth-checking
//! proxy served by the test), a registry that is down, and `--update`'s writes.
//! And `cargo xtask lint` judging rendered containers offline from the lock.

mod support;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, SystemTime};
use support::{Registry, agent, free_port, push_image, xtask_in};

/// A good image config: exec-form entrypoint, numeric user, port 8080.
fn good_config() -> Value {
    json!({"Entrypoint": ["/app"], "Cmd": ["serve"], "User": "65532", "ExposedPorts": {"8080/tcp": {}}})
}

const BOTH: &[&str] = &["linux/amd64", "linux/arm64"];

/// A catalog with one chart, `app`, whose Deployment runs `HOST/team/app:TAG`.
struct Catalog {
    dir: tempfile::TempDir,
    docker_config: tempfile::TempDir,
}

impl Catalog {
    fn new(registry: &str, tag: &str, extra_values: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("ct.yaml"), "chart-dirs:\n  - charts\n").unwrap();
        let chart = root.join("charts/app");
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        std::fs::write(
            chart.join("Chart.yaml"),
            format!(
                "apiVersion: v2\nname: app\nversion: 0.1.0\nappVersion: \"{tag}\"\nannotations:\n  artifacthub.io/images: |\n    - name: app\n      image: {registry}/team/app:{tag}\n"
            ),
        )
        .unwrap();
        std::fs::write(
            chart.join("values.yaml"),
            format!(
                "image:\n  # -- Registry.\n  registry: \"{registry}\"\n  repository: team/app\n  tag: \"{tag}\"\n  # -- Digest, written by `cargo xtask images --update`.\n  digest: \"\"\nrunAsUser: 65532\ncommand: []\nargs: []\nport: 8080\n{extra_values}"
            ),
        )
        .unwrap();
        std::fs::write(chart.join("templates/deployment.yaml"), DEPLOYMENT).unwrap();
        let docker_config = tempfile::tempdir().unwrap();
        Self { dir, docker_config }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root().join(rel)).unwrap_or_default()
    }

    fn set_values(&self, from: &str, to: &str) {
        let v = self.read("charts/app/values.yaml");
        assert!(v.contains(from), "{v}");
        std::fs::write(self.root().join("charts/app/values.yaml"), v.replacen(from, to, 1)).unwrap();
    }

    fn images(&self, args: &[&str]) -> std::process::Output {
        xtask_in(self.root())
            .arg("images")
            .args(args)
            .arg("--format")
            .arg("json")
            .env("DOCKER_CONFIG", self.docker_config.path())
            .output()
            .unwrap()
    }
}

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-app
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: app
  template:
    metadata:
      labels:
        app.kubernetes.io/name: app
    spec:
      securityContext:
        runAsNonRoot: true
        {{- with .Values.runAsUser }}
        runAsUser: {{ . }}
        {{- end }}
      containers:
        - name: app
          image: "{{ with .Values.image.registry }}{{ . }}/{{ end }}{{ .Values.image.repository }}:{{ .Values.image.tag }}{{ with .Values.image.digest }}@{{ . }}{{ end }}"
          {{- with .Values.command }}
          command: {{ toJson . }}
          {{- end }}
          {{- with .Values.args }}
          args: {{ toJson . }}
          {{- end }}
          ports:
            - containerPort: {{ .Values.port }}
"#;

/// (rule, message) of each finding of a `--format json` run.
fn findings(out: &std::process::Output) -> Vec<(String, String)> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}):\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr))
    });
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["rule"].as_str().unwrap().to_owned(), d["message"].as_str().unwrap().to_owned()))
        .collect()
}

fn rules(out: &std::process::Output) -> Vec<String> {
    let mut r: Vec<String> =
        findings(out).into_iter().map(|(r, _)| r).filter(|r| r.starts_with("image/")).collect();
    r.sort();
    r.dedup();
    r
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn explain(out: &std::process::Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

#[test]
fn update_pins_the_digest_everywhere_atomically_and_only_when_something_changed() {
    let Some(reg) = Registry::start("update_pins_the_digest_everywhere") else { return };
    let host = reg.host();
    let digest = push_image(&host, "team/app", "1.0.0", BOTH, &good_config());
    let cat = Catalog::new(&host, "1.0.0", "");

    // Report only: no lock entry, values and annotation not pinned; nothing written.
    let out = cat.images(&["--insecure-registry", &host]);
    assert_eq!(code(&out), 1, "{}", explain(&out));
    assert_eq!(rules(&out), ["image/lock"], "{}", explain(&out));
    let messages: Vec<String> = findings(&out).into_iter().map(|(_, m)| m).collect();
    assert!(messages.iter().any(|m| m.contains("has no entry")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("is not pinned") && m.contains(&digest)), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("artifacthub.io/images")), "{messages:?}");
    assert!(!cat.root().join("images.lock.yaml").exists());
    assert!(cat.read("charts/app/values.yaml").contains("digest: \"\""));

    // --update writes the lock, the values digest and the annotation.
    let out = cat.images(&["--update", "--insecure-registry", &host]);
    assert_eq!(code(&out), 0, "{}", explain(&out));
    let lock = cat.read("images.lock.yaml");
    let key = format!("\"{host}/team/app:1.0.0\":");
    assert!(lock.contains(&key) && lock.contains(&format!("digest: \"{digest}\"")), "{lock}");
    assert!(lock.contains("platforms: [\"linux/amd64\", \"linux/arm64\"]"), "{lock}");
    assert!(lock.contains("entrypoint: [\"/app\"]") && lock.contains("user: \"65532\""), "{lock}");
    assert!(lock.contains("source: {kind: registry, date: \"20"), "{lock}");
    let values = cat.read("charts/app/values.yaml");
    assert!(values.contains(&format!("  digest: \"{digest}\"\n")), "{values}");
    assert!(values.contains("  # -- Digest, written by"), "comments are kept: {values}");
    let chart = cat.read("charts/app/Chart.yaml");
    assert!(chart.contains(&format!("image: {host}/team/app:1.0.0@{digest}\n")), "{chart}");
    let leftovers: Vec<_> = std::fs::read_dir(cat.root().join("charts/app"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");

    // Nothing changed: nothing is rewritten, and the report is clean.
    let files =
        ["images.lock.yaml", "charts/app/values.yaml", "charts/app/Chart.yaml"].map(|f| cat.root().join(f));
    let before: Vec<SystemTime> = files.iter().map(|f| mtime(f)).collect();
    std::thread::sleep(Duration::from_millis(20));
    let out = cat.images(&["--update", "--insecure-registry", &host]);
    assert_eq!(code(&out), 0, "{}", explain(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already up to date"), "{}", explain(&out));
    assert_eq!(files.iter().map(|f| mtime(f)).collect::<Vec<_>>(), before);
    let out = cat.images(&["--insecure-registry", &host]);
    assert_eq!((code(&out), rules(&out)), (0, vec![]), "{}", explain(&out));

    // A new push under the tag: the lock is stale; the report names both digests.
    let moved = push_image(
        &host,
        "team/app",
        "1.0.0",
        BOTH,
        &json!({"Entrypoint": ["/app"], "User": "65532", "ExposedPorts": {"8080/tcp": {}}}),
    );
    assert_ne!(moved, digest);
    let out = cat.images(&["--insecure-registry", &host]);
    assert_eq!(code(&out), 1);
    assert!(
        findings(&out).iter().any(|(r, m)| r == "image/lock" && m.contains(&digest) && m.contains(&moved)),
        "{}",
        explain(&out)
    );
    assert!(findings(&out).iter().any(|(_, m)| m.contains("cmd differ")), "{}", explain(&out));
    assert_eq!(cat.read("images.lock.yaml"), lock, "a report rewrites nothing");
}

#[test]
fn a_missing_tag_is_a_finding_and_nothing_is_written() {
    let Some(reg) = Registry::start("a_missing_tag_is_a_finding") else { return };
    let host = reg.host();
    push_image(&host, "team/app", "1.0.0", BOTH, &good_config());
    let cat = Catalog::new(&host, "9.9.9", "");
    for args in [&["--insecure-registry", &host][..], &["--update", "--insecure-registry", &host]] {
        let out = cat.images(args);
        assert_eq!(code(&out), 1, "{}", explain(&out));
        assert!(
            findings(&out).iter().any(|(r, m)| r == "image/missing" && m.contains("team/app:9.9.9")),
            "{}",
            explain(&out)
        );
    }
    assert!(!cat.root().join("images.lock.yaml").exists());
    assert!(cat.read("charts/app/values.yaml").contains("digest: \"\""));
}

#[test]
fn an_amd64_only_image_breaks_the_platform_rule_unless_excepted() {
    let Some(reg) = Registry::start("an_amd64_only_image") else { return };
    let host = reg.host();
    push_image(&host, "team/app", "1.0.0", &["linux/amd64"], &good_config());
    let cat = Catalog::new(&host, "1.0.0", "");
    let out = cat.images(&["--update", "--insecure-registry", &host]);
    assert_eq!(code(&out), 1, "{}", explain(&out));
    assert_eq!(rules(&out), ["image/platform"], "{}", explain(&out));
    assert!(findings(&out).iter().any(|(_, m)| m.contains("lacks linux/arm64")), "{}", explain(&out));
    // The lock is still written (the registry answered): lint judges it offline too.
    assert!(cat.read("images.lock.yaml").contains("platforms: [\"linux/amd64\"]"));
    // An exception with its reason allows it.
    let chart = cat.read("charts/app/Chart.yaml");
    std::fs::write(
        cat.root().join("charts/app/Chart.yaml"),
        format!("{chart}  nex-charts/policy-exceptions: |\n    - rule: image/platform\n      objects: [Deployment/app]\n      reason: Upstream builds amd64 only; scheduled on amd64 nodes.\n"),
    )
    .unwrap();
    let out = cat.images(&["--insecure-registry", &host]);
    assert_eq!(code(&out), 0, "{}", explain(&out));
}

#[test]
fn args_under_a_shell_form_entrypoint_are_caught() {
    let Some(reg) = Registry::start("args_under_a_shell_form_entrypoint") else { return };
    let host = reg.host();
    let config =
        json!({"Entrypoint": ["/bin/sh", "-c", "app"], "User": "65532", "ExposedPorts": {"8080/tcp": {}}});
    push_image(&host, "team/app", "1.0.0", BOTH, &config);
    let cat = Catalog::new(&host, "1.0.0", "");
    cat.set_values("args: []", "args: [run, --port, \"8080\"]");
    let out = cat.images(&["--update", "--insecure-registry", &host]);
    assert_eq!(code(&out), 1, "{}", explain(&out));
    assert_eq!(rules(&out), ["image/entrypoint-args"], "{}", explain(&out));
    cat.set_values("command: []", "command: [app]");
    let out = cat.images(&["--insecure-registry", &host]);
    assert_eq!((code(&out), rules(&out)), (0, vec![]), "{}", explain(&out));
}

#[test]
fn a_named_user_under_run_as_non_root_without_run_as_user_is_caught() {
    let Some(reg) = Registry::start("a_named_user_under_run_as_non_root") else { return };
    let host = reg.host();
    let config = json!({"Entrypoint": ["/app"], "User": "app", "ExposedPorts": {"8080/tcp": {}}});
    push_image(&host, "team/app", "1.0.0", BOTH, &config);
    let cat = Catalog::new(&host, "1.0.0", "");
    // With runAsUser set, the image's user does not matter.
    let out = cat.images(&["--update", "--insecure-registry", &host]);
    assert_eq!((code(&out), rules(&out)), (0, vec![]), "{}", explain(&out));
    cat.set_values("runAsUser: 65532", "runAsUser: null");
    let out = cat.images(&["--insecure-registry", &host]);
    assert_eq!(code(&out), 1, "{}", explain(&out));
    assert_eq!(rules(&out), ["image/user"], "{}", explain(&out));
    assert!(findings(&out).iter().any(|(_, m)| m.contains("\"app\" is a name")), "{}", explain(&out));
}

#[test]
fn lint_reads_the_lock_offline_digest_drift_and_ports() {
    let Some(reg) = Registry::start("lint_reads_the_lock_offline") else { return };
    let host = reg.host();
    let digest = push_image(&host, "team/app", "1.0.0", BOTH, &good_config());
    let other = push_image(&host, "team/app", "0.9.0", BOTH, &good_config());
    let cat = Catalog::new(&host, "1.0.0", "");
    let out = cat.images(&["--update", "--insecure-registry", &host]);
    assert_eq!(code(&out), 0, "{}", explain(&out));
    drop(reg); // lint needs no registry

    let lint = || xtask_in(cat.root()).args(["lint", "--format", "json"]).output().unwrap();
    let out = lint();
    assert_eq!(rules(&out), Vec::<String>::new(), "{}", explain(&out));
    // The values drift from the lock.
    cat.set_values(&format!("digest: \"{digest}\""), &format!("digest: \"{other}\""));
    cat.set_values("port: 8080", "port: 9090");
    let out = lint();
    assert_eq!(rules(&out), ["image/lock", "image/port"], "{}", explain(&out));
    assert!(
        findings(&out).iter().any(|(r, m)| r == "image/lock" && m.contains(&other) && m.contains(&digest))
    );
    // A lock that is not YAML is an error at its line, not a crash.
    std::fs::write(cat.root().join("images.lock.yaml"), "version: 1\nimages: [\n").unwrap();
    let out = lint();
    assert_eq!(code(&out), 1);
    assert!(
        findings(&out).iter().any(|(r, m)| r == "image/lock" && m.contains("images.lock.yaml:")),
        "{}",
        explain(&out)
    );
}

#[test]
fn a_registry_that_is_down_exits_2_and_rewrites_nothing() {
    let host = format!("127.0.0.1:{}", free_port());
    let cat = Catalog::new(&host, "1.0.0", "");
    let values = cat.read("charts/app/values.yaml");
    let out = cat.images(&["--update", "--insecure-registry", &host]);
    assert_eq!(code(&out), 2, "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot reach the registry {host}"))
            && stderr.contains("nothing was checked or rewritten"),
        "{stderr}"
    );
    assert!(!cat.root().join("images.lock.yaml").exists());
    assert_eq!(cat.read("charts/app/values.yaml"), values);
}

/// The yaldap chart once passed `args` to an image whose entrypoint is shell form
/// (`ENTRYPOINT yaldap`, upstream's Dockerfile at v0.2.0): a container like that,
/// judged with the lock entry the catalog had for it, is an `image/entrypoint-args` error.
#[test]
fn yaldaps_args_under_its_shell_form_entrypoint_would_be_caught() {
    let cat = Catalog::new("oci.chezmoi.sh", "v0.2.0", "");
    cat.set_values("repository: team/app", "repository: security/yaldap");
    cat.set_values("args: []", "args: [run, --listen-address, \":389\"]");
    cat.set_values("port: 8080", "port: 389");
    let lock = r#"version: 1
images:
  "oci.chezmoi.sh/security/yaldap:v0.2.0":
    digest: null
    platforms: null
    entrypoint: ["/bin/sh", "-c", "yaldap"]
    cmd: []
    user: "yaldap"
    ports: ["389/tcp"]
    healthcheck: ["CMD-SHELL", "nc -z -w 2 localhost 389"]
    source: {kind: dockerfile, repository: "github.com/chezmoi-sh/yaldap", path: "Dockerfile", commit: "4882214496ea85e1991c0a5ad6a5d1bbf2d7f205"}
"#;
    std::fs::write(cat.root().join("images.lock.yaml"), lock).unwrap();
    let lint = || xtask_in(cat.root()).args(["lint", "--format", "json"]).output().unwrap();
    let out = lint();
    assert_eq!(rules(&out), ["image/entrypoint-args"], "{}", explain(&out));
    // Setting `command` (what the chart does now) satisfies it.
    cat.set_values("command: []", "command: [yaldap]");
    let out = lint();
    assert_eq!(rules(&out), Vec::<String>::new(), "{}", explain(&out));
}

/// A token service and an auth-checking proxy in front of the registry, as
/// ghcr.io and Docker Hub behave: anonymous requests get `401` with a Bearer
/// challenge; the token service wants the Docker config's basic credentials.
struct TokenProxy {
    port: u16,
}

const TOKEN: &str = "nex-test-token";

impl TokenProxy {
    fn start(upstream: u16, credentials: &'static str) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let _ = serve(stream, port, upstream, credentials);
                });
            }
        });
        Self { port }
    }
}

fn serve(mut client: TcpStream, port: u16, upstream: u16, credentials: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        head.push(line.trim_end().to_owned());
    }
    let target = head.first().and_then(|l| l.split(' ').nth(1)).unwrap_or("/").to_owned();
    let auth = head
        .iter()
        .find_map(|h| {
            h.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default();
    let reply = |client: &mut TcpStream, status: &str, extra: &str, body: &str| {
        write!(
            client,
            "HTTP/1.1 {status}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    if let Some(query) = target.strip_prefix("/token?") {
        // No credentials configured: anonymous tokens, as public images get them.
        let want =
            if credentials.is_empty() { String::new() } else { format!("Basic {}", base64(credentials)) };
        let scoped =
            query.contains("service=nex-test") && query.contains("scope=repository%3Ateam%2Fapp%3Apull");
        return if auth == want && scoped {
            reply(&mut client, "200 OK", "", &format!("{{\"token\":\"{TOKEN}\"}}"))
        } else {
            reply(&mut client, "401 Unauthorized", "", "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}")
        };
    }
    if auth != format!("Bearer {TOKEN}") {
        let challenge = format!(
            "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"nex-test\",scope=\"repository:team/app:pull\"\r\n"
        );
        return reply(
            &mut client,
            "401 Unauthorized",
            &challenge,
            "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}",
        );
    }
    // Authorised: forward to the registry, one request per connection.
    let mut up = TcpStream::connect((Ipv4Addr::LOCALHOST, upstream))?;
    write!(up, "GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{upstream}\r\nConnection: close\r\n")?;
    for h in &head[1..] {
        let name = h.split(':').next().unwrap_or("").to_ascii_lowercase();
        if !matches!(name.as_str(), "host" | "connection" | "authorization") {
            write!(up, "{h}\r\n")?;
        }
    }
    write!(up, "\r\n")?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4).unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..split]);
    let mut out = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    client.write_all(out.as_bytes())?;
    client.write_all(&response[split..])?;
    client.flush()
}

fn base64(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn a_registry_behind_a_token_service_is_read_with_the_docker_config_credentials() {
    let Some(reg) = Registry::start("a_registry_behind_a_token_service") else { return };
    let digest = push_image(&reg.host(), "team/app", "1.0.0", BOTH, &good_config());
    let proxy = TokenProxy::start(reg.port, "nex:s3cret");
    let host = format!("127.0.0.1:{}", proxy.port);
    let cat = Catalog::new(&host, "1.0.0", "");

    // No credentials: the token service refuses; a finding, not a crash, nothing written.
    let out = cat.images(&["--update", "--insecure-registry", &host]);
    assert_eq!(code(&out), 1, "{}", explain(&out));
    assert!(
        findings(&out).iter().any(|(r, m)| r == "image/missing" && m.contains("refused")),
        "{}",
        explain(&out)
    );
    assert!(!cat.root().join("images.lock.yaml").exists());

    // The Docker config's `auths` entry for the registry: token, then the image.
    std::fs::write(
        cat.docker_config.path().join("config.json"),
        format!("{{\"auths\": {{\"{host}\": {{\"auth\": \"{}\"}}}}}}", base64("nex:s3cret")),
    )
    .unwrap();
    let out = cat.images(&["--update", "--insecure-registry", &host]);
    assert_eq!(code(&out), 0, "{}", explain(&out));
    assert!(cat.read("images.lock.yaml").contains(&format!("digest: \"{digest}\"")));
    assert!(cat.read("charts/app/values.yaml").contains(&digest));
}

#[test]
fn a_public_image_behind_a_token_service_gets_an_anonymous_token() {
    let Some(reg) = Registry::start("a_public_image_behind_a_token_service") else { return };
    let digest = push_image(&reg.host(), "team/app", "1.0.0", BOTH, &good_config());
    let proxy = TokenProxy::start(reg.port, "");
    let host = format!("127.0.0.1:{}", proxy.port);
    let cat = Catalog::new(&host, "1.0.0", "");
    let out = cat.images(&["--update", "--insecure-registry", &host]);
    assert_eq!(code(&out), 0, "{}", explain(&out));
    assert!(cat.read("images.lock.yaml").contains(&format!("digest: \"{digest}\"")));
    // The proxy really guards the registry: no token, no manifest.
    let resp = agent().get(&format!("http://{host}/v2/team/app/manifests/1.0.0")).call().unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

#[test]
fn the_base64_helper_is_right() {
    assert_eq!(base64("nex:s3cret"), "bmV4OnMzY3JldA==");
    assert_eq!(base64("ab"), "YWI=");
    assert_eq!(base64("abc"), "YWJj");
}

/// A pull request that bumps an image this repository builds names a tag nobody has
/// pushed yet: with `--unpublished` that tag is a warning (exit 0), and only that one.
#[test]
fn an_image_built_here_may_be_unpublished_when_named() {
    let Some(reg) = Registry::start("an_image_built_here_may_be_unpublished") else { return };
    let host = reg.host();
    push_image(&host, "team/app", "1.0.0", BOTH, &good_config());
    let cat = Catalog::new(&host, "9.9.9", "");
    let named = format!("{host}/team/app:9.9.9");
    // The change carries the lock entry for the new tag, read from the Dockerfile it builds.
    std::fs::write(
        cat.root().join("images.lock.yaml"),
        format!(
            "version: 1\nimages:\n  \"{named}\":\n    digest: null\n    platforms: [\"linux/amd64\", \"linux/arm64\"]\n    \
             entrypoint: [\"/app\"]\n    cmd: []\n    user: \"65532:65532\"\n    ports: [\"8080/tcp\"]\n    healthcheck: []\n    \
             source: {{kind: dockerfile, repository: \"github.com/o/r\", path: \"images/app/Dockerfile\", commit: \"0000000\"}}\n"
        ),
    )
    .unwrap();
    let out = cat.images(&["--insecure-registry", &host, "--unpublished", &named]);
    assert_eq!(code(&out), 0, "{}", explain(&out));
    let found = findings(&out);
    assert!(
        found.iter().any(|(r, m)| r == "image/missing" && m.contains("is not in the registry yet")),
        "{}",
        explain(&out)
    );
    // Another image named unpublished does not excuse this one.
    let out = cat.images(&["--insecure-registry", &host, "--unpublished", &format!("{host}/team/app:9.9.8")]);
    assert_eq!(code(&out), 1, "{}", explain(&out));
}

/// A new repository's lock holds entries read from upstream source (no digest, no
/// registry yet) and values with empty digests. A pull request's `images` run then
/// fails only on a real mismatch: an unconfirmed entry the registry agrees with and an
/// empty digest are warnings (empty pins nothing, and is never taken for a pin); a
/// fact the registry contradicts, or a digest that is not the registry's, is an error.
#[test]
fn unconfirmed_entries_and_empty_digests_fail_only_on_a_real_mismatch() {
    let Some(reg) = Registry::start("unconfirmed_entries_and_empty_digests") else { return };
    let host = reg.host();
    let digest = push_image(&host, "team/app", "1.0.0", BOTH, &good_config());
    let cat = Catalog::new(&host, "1.0.0", "");
    let out = cat.images(&["--update", "--insecure-registry", &host]);
    assert_eq!(code(&out), 0, "{}", explain(&out));
    // Back to a first checkout's state: the entry as read from source, nothing pinned.
    let confirmed = cat.read("images.lock.yaml");
    let start = confirmed.find("    source: {kind: registry").unwrap();
    let end = start + confirmed[start..].find('\n').unwrap();
    let from_source = format!(
        "{}    source: {{kind: dockerfile, repository: \"github.com/team/app\", path: \"Dockerfile\", commit: \"{}\"}}{}",
        &confirmed[..start],
        "0".repeat(40),
        &confirmed[end..]
    )
    .replace(&format!("digest: \"{digest}\""), "digest: null");
    std::fs::write(cat.root().join("images.lock.yaml"), &from_source).unwrap();
    cat.set_values(&format!("digest: \"{digest}\""), "digest: \"\"");
    let chart = cat.read("charts/app/Chart.yaml").replace(&format!("@{digest}"), "");
    std::fs::write(cat.root().join("charts/app/Chart.yaml"), chart).unwrap();

    let out = cat.images(&["--insecure-registry", &host]);
    assert_eq!(code(&out), 0, "warnings only: {}", explain(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings: Vec<String> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "image/lock" && d["severity"] == "warning")
        .map(|d| d["message"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        warnings.iter().any(|m| m.contains("not yet confirmed; the registry agrees") && m.contains(&digest)),
        "{warnings:?}"
    );
    assert!(warnings.iter().any(|m| m.contains("is not pinned (its digest is empty)")), "{warnings:?}");
    assert!(
        warnings.iter().any(|m| m.contains("artifacthub.io/images") && m.contains("without a digest")),
        "{warnings:?}"
    );

    // A fact read from source that the registry contradicts is a real mismatch.
    std::fs::write(
        cat.root().join("images.lock.yaml"),
        from_source.replace("user: \"65532\"", "user: \"1000\""),
    )
    .unwrap();
    let out = cat.images(&["--insecure-registry", &host]);
    assert_eq!(code(&out), 1, "{}", explain(&out));
    assert!(
        findings(&out)
            .iter()
            .any(|(_, m)| m
                .contains("the lock's user (read from upstream source, github.com/team/app) differ")),
        "{}",
        explain(&out)
    );
    // So is a values digest that is not the registry's.
    std::fs::write(cat.root().join("images.lock.yaml"), &from_source).unwrap();
    cat.set_values("digest: \"\"", &format!("digest: \"sha256:{}\"", "1".repeat(64)));
    let out = cat.images(&["--insecure-registry", &host]);
    assert_eq!(code(&out), 1, "{}", explain(&out));
    assert!(findings(&out).iter().any(|(_, m)| m.contains("is pinned to sha256:111")), "{}", explain(&out));
    // The refresh confirms the entry from the registry and pins every digest.
    let out = cat.images(&["--update", "--insecure-registry", &host]);
    assert_eq!(code(&out), 0, "{}", explain(&out));
    assert_eq!(cat.read("images.lock.yaml"), confirmed);
}

/// `.github/scripts/image-lock-refresh` (the weekly refresh and the bootstrap) with a
/// bare git repository as GitHub and a stand-in `gh` answering as GitHub does when
/// "Allow GitHub Actions to create and approve pull requests" is off (the default of
/// a new repository): the branch is pushed, the run fails naming the setting. A
/// refresh whose lookups fail writes nothing and fails too; an up-to-date one passes.
#[test]
fn the_lock_refresh_fails_loudly_when_it_writes_nothing_or_github_refuses_the_pull_request() {
    let Some(reg) = Registry::start("the_lock_refresh_fails_loudly") else { return };
    let host = reg.host();
    push_image(&host, "team/app", "1.0.0", BOTH, &good_config());
    let cat = Catalog::new(&host, "1.0.0", "");
    let remote = tempfile::tempdir().unwrap();
    support::git(remote.path(), &["init", "-q", "--bare"]);
    support::git(cat.root(), &["init", "-q"]);
    support::git(cat.root(), &["add", "-A"]);
    support::git(cat.root(), &["commit", "-q", "-m", "a new repository"]);
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("gh.log");
    std::fs::write(
        bin.path().join("gh"),
        format!(
            "#!/bin/sh\necho \"gh $*\" >> '{}'\ncase \"$1 $2\" in\n  'pr view') exit 1 ;;\n  'pr create') echo 'pull request create failed: GraphQL: GitHub Actions is not permitted to create or approve pull requests (createPullRequest)' >&2; exit 1 ;;\nesac\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(bin.path().join("gh"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    let refresh = || {
        std::process::Command::new(support::workspace_root().join(".github/scripts/image-lock-refresh"))
            .current_dir(cat.root())
            .env("PATH", format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default()))
            .env("REPO", "owner/repo")
            .env("GH_TOKEN", "not-a-token")
            .env("REMOTE", remote.path())
            .env("XTASK", assert_cmd::cargo::cargo_bin("xtask"))
            .env("IMAGES_FLAGS", format!("--insecure-registry {host}"))
            .env("VERIFY", "true")
            .env("DOCKER_CONFIG", cat.docker_config.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap()
    };
    let text = |o: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    };

    // The first refresh writes the confirmed lock, pushes the branch, and GitHub refuses the PR.
    let out = refresh();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("::error::GitHub refused to open the pull request"), "{}", text(&out));
    assert!(
        text(&out).contains("\"Allow GitHub Actions to create and approve pull requests\""),
        "{}",
        text(&out)
    );
    let pushed = std::process::Command::new("git")
        .args(["--git-dir"])
        .arg(remote.path())
        .args(["show", "images/refresh:images.lock.yaml"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&pushed.stdout).contains(&format!("\"{host}/team/app:1.0.0\":")));
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("gh pr create --repo owner/repo --head images/refresh")
    );

    // Up to date (the refreshed lock merged): nothing to propose, green.
    let out = refresh();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("up to date"), "{}", text(&out));

    // A tag the registry does not have: the update writes nothing, and says so in red.
    cat.set_values("tag: \"1.0.0\"", "tag: \"9.9.9\"");
    support::git(cat.root(), &["commit", "-q", "-am", "a tag nobody pushed"]);
    let out = refresh();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("wrote nothing: the lock is not confirmed"), "{}", text(&out));
}
