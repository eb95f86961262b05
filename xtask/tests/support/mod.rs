//! Helpers shared by the integration tests (each test file is its own crate,
//! so not every file uses every helper).
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The harness binary with a clean environment: the pinned helm (no HELM_BIN,
/// no NEX_HELM), the cache in use, no colours.
pub fn xtask() -> Command {
    let mut cmd = Command::cargo_bin("xtask").expect("xtask binary");
    cmd.env_remove("HELM_BIN").env_remove("NEX_HELM").env_remove("NEX_NO_CACHE").env("NO_COLOR", "1");
    cmd
}

/// [`xtask`] run in `dir` (a catalog with its `ct.yaml`).
pub fn xtask_in(dir: &Path) -> Command {
    let mut cmd = xtask();
    cmd.current_dir(dir);
    cmd
}

/// The workspace root (the catalog).
pub fn workspace_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// The objects of a rendered stream (`helm template` output), as JSON.
pub fn documents(text: &str) -> Vec<serde_json::Value> {
    text.split("\n---")
        .filter_map(|doc| serde_saphyr::from_str::<serde_json::Value>(doc).ok())
        .filter(|v| v.is_object())
        .collect()
}

/// A chart's scenario file by name: `ci/NAME-values.yaml`, or `ci/lint/NAME-values.yaml`
/// for a scenario ct does not install.
pub fn ci_values(chart_dir: &Path, name: &str) -> PathBuf {
    let file = format!("{name}-values.yaml");
    let installed = chart_dir.join("ci").join(&file);
    if installed.is_file() { installed } else { chart_dir.join("ci/lint").join(file) }
}

/// Copies a folder tree (fixtures into temp dirs).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs git in `dir`, isolated from the machine's and the user's configuration.
pub fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "user.name=nex tests",
            "-c",
            "user.email=tests@nex.invalid",
        ])
        .args(["-c", "commit.gpgsign=false", "-c", "protocol.file.allow=always"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A small static file server on 127.0.0.1 (a chart repository in tests),
/// stopped when dropped.
pub struct StaticServer {
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StaticServer {
    pub fn start(root: std::path::PathBuf) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(s) = stream {
                    let _ = serve_file(s, &root);
                }
            }
        });
        Self { port, stop, thread: Some(thread) }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = std::net::TcpStream::connect((std::net::Ipv4Addr::LOCALHOST, self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_file(stream: std::net::TcpStream, root: &Path) -> std::io::Result<()> {
    use std::io::{BufRead, Write};
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut reader = std::io::BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let rel = target.split('?').next().unwrap_or("").trim_start_matches('/');
    let file = (!rel.split('/').any(|p| p == ".." || p.is_empty())).then(|| root.join(rel));
    let mut stream = stream;
    match file.and_then(|f| std::fs::read(f).ok()) {
        Some(body) if method == "GET" || method == "HEAD" => {
            let kind = if rel.ends_with(".yaml") { "application/x-yaml" } else { "application/gzip" };
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            if method == "GET" {
                stream.write_all(&body)?;
            }
        }
        _ => write!(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?,
    }
    stream.flush()
}

/// Runs the harness in `dir` with each of `ro` mounted read-only, in a private
/// mount namespace (`unshare -m`): the test runs as root, which ignores file
/// modes, so a read-only checkout has to be a read-only mount. The mounts
/// vanish with the process.
pub fn read_only(ro: &[&Path], dir: &Path, args: &[&str], envs: &[(&str, &Path)]) -> std::process::Output {
    let mut script = String::from("set -e; ");
    for p in ro {
        script.push_str(&format!("mount --bind -o ro '{0}' '{0}'; ", p.display()));
    }
    // Back into the working folder through the new mounts (the old cwd bypasses them).
    script.push_str("cd \"$(pwd)\"; exec \"$@\"");
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", &script, "sh"])
        .arg(assert_cmd::cargo::cargo_bin("xtask"))
        .args(args)
        .current_dir(dir)
        .env_remove("HELM_BIN")
        .env_remove("NEX_HELM")
        .env_remove("NEX_NO_CACHE")
        .env("NO_COLOR", "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("unshare runs")
}

pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port()
}

/// Waits until something accepts connections on the port; an error says why not.
pub fn wait_for_port(port: u16, child: Option<&mut Child>, log: Option<&Path>) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut child = child;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Some(c) = child.as_deref_mut()
            && let Ok(Some(status)) = c.try_wait()
        {
            let log = log.and_then(|l| std::fs::read_to_string(l).ok()).unwrap_or_default();
            return Err(format!(
                "server on port {port} exited ({status}) before accepting connections:\n{log}"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("nothing accepted connections on 127.0.0.1:{port} within 20s"))
}

/// A program from the system's packages that a test needs and a fresh machine may
/// lack: the README's two commands must pass with only a Rust toolchain, npm and pip.
/// Found on PATH (Debian's docker-registry also lives outside it, in /usr/bin): its path.
/// Absent: where `CI` is set (the workflows and .ci/run install `package`) the test
/// fails; elsewhere a SKIP banner names the test, the program and the package, written
/// past libtest's capture so a passing `cargo test` shows it, and the result is None.
pub fn system_tool(name: &str, package: &str, what: &str, test: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file()));
    let found = on_path.or_else(|| {
        ["/usr/bin", "/usr/local/bin"].iter().map(|d| Path::new(d).join(name)).find(|p| p.is_file())
    });
    if found.is_none() {
        skip(
            test,
            &format!("{what}, `{name}`, is not installed (Debian package {package}; .ci/run installs it)"),
        );
    }
    found
}

/// Says loudly that `test` did not run and why; fails instead where `CI` is set, so a
/// CI machine missing a tool cannot pass by skipping.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    assert!(std::env::var_os("CI").is_none(), "{test}: {why}; CI is set, so this fails instead of skipping");
    let line = "=".repeat(72);
    // io::stderr() directly: libtest captures only the print macros.
    let _ = std::io::stderr().write_all(format!("\n{line}\nSKIP {test}: {why}\n{line}\n").as_bytes());
}

/// The CNCF distribution registry (Debian's `docker-registry`) on a free
/// loopback port with its storage in a temp dir; killed when dropped.
pub struct Registry {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// None (after a loud SKIP message, see [`system_tool`]) only when the registry
    /// binary is absent.
    pub fn start(test: &str) -> Option<Self> {
        let bin = system_tool("docker-registry", "docker-registry", "the OCI registry", test)?;
        Some(Self::start_with(&bin, false))
    }

    /// A registry that lets only user `nex` (password `nex-secret`) in, as GitHub's
    /// registry treats a private package: anonymous requests get 401.
    pub fn start_private(test: &str) -> Option<Self> {
        let bin = system_tool("docker-registry", "docker-registry", "the OCI registry", test)?;
        Some(Self::start_with(&bin, true))
    }

    fn start_with(bin: &Path, private: bool) -> Self {
        // A freed port can be taken again before the registry binds it: retry.
        let mut last = String::new();
        for _ in 0..3 {
            match Self::spawn(bin, private) {
                Ok(r) => return r,
                Err(e) => last = e,
            }
        }
        panic!("the OCI registry did not start: {last}");
    }

    fn spawn(bin: &Path, private: bool) -> Result<Self, String> {
        let dir = tempfile::tempdir().unwrap();
        let auth = if private {
            let htpasswd = dir.path().join("htpasswd");
            let hash = bcrypt::hash("nex-secret", 4).unwrap();
            std::fs::write(&htpasswd, format!("nex:{hash}\n")).unwrap();
            format!("auth:\n  htpasswd:\n    realm: nex\n    path: {}\n", htpasswd.display())
        } else {
            String::new()
        };
        let port = free_port();
        let config = dir.path().join("config.yml");
        let storage = dir.path().join("storage");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
                storage.display()
            ),
        )
        .unwrap();
        let log = dir.path().join("registry.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = std::process::Command::new(bin)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        // Built before waiting, so a registry that never answers is killed on drop.
        let mut registry = Self { child, port, _dir: dir };
        wait_for_port(port, Some(&mut registry.child), Some(&log))?;
        Ok(registry)
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private, empty cache dir whose tools and schemas are links into the usual
/// cache (provisioned first, from `catalog`), so a test can break its cache
/// without downloads.
pub fn private_cache(catalog: &Path) -> tempfile::TempDir {
    let shared = nex_harness::provision::cache_root();
    let o = xtask_in(catalog).args(["tools"]).output().unwrap();
    assert!(o.status.success(), "tools: {}", String::from_utf8_lossy(&o.stderr));
    let tmp = tempfile::tempdir().unwrap();
    for sub in ["tools", "kube-schemas"] {
        std::fs::create_dir_all(shared.join(sub)).unwrap();
        std::os::unix::fs::symlink(shared.join(sub), tmp.path().join(sub)).unwrap();
    }
    tmp
}

/// A catalog with one chart, the lint fixtures' clean chart under `name`, and
/// the ct.yaml and harness.yaml of `config`.
pub fn one_chart(config: &Path, name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(config.join("ct.yaml"), tmp.path().join("ct.yaml")).unwrap();
    std::fs::copy(config.join("harness.yaml"), tmp.path().join("harness.yaml")).unwrap();
    let dir = tmp.path().join("charts").join(name);
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint/charts/ok"), &dir);
    let chart = dir.join("Chart.yaml");
    let text = std::fs::read_to_string(&chart).unwrap().replace("name: ok", &format!("name: {name}"));
    std::fs::write(chart, text).unwrap();
    tmp
}

// ---------------------------------------------------------------- pushing images

/// `sha256:<hex>` of some bytes.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// Pushes a blob (monolithic upload) and returns its digest.
pub fn push_blob(host: &str, repo: &str, bytes: &[u8]) -> String {
    let digest = sha256(bytes);
    let resp = agent().post(&format!("http://{host}/v2/{repo}/blobs/uploads/")).send_empty().unwrap();
    assert_eq!(resp.status().as_u16(), 202, "start upload");
    let location = resp.headers().get("location").unwrap().to_str().unwrap().to_owned();
    let url = if location.starts_with("http") { location } else { format!("http://{host}{location}") };
    let sep = if url.contains('?') { '&' } else { '?' };
    let resp = agent()
        .put(&format!("{url}{sep}digest={digest}"))
        .header("Content-Type", "application/octet-stream")
        .send(bytes)
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201, "finish upload");
    digest
}

pub fn push_manifest(host: &str, repo: &str, reference: &str, media: &str, doc: &Value) -> (String, usize) {
    let bytes = serde_json::to_vec(doc).unwrap();
    let resp = agent()
        .put(&format!("http://{host}/v2/{repo}/manifests/{reference}"))
        .header("Content-Type", media)
        .send(&bytes[..])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201, "push manifest {reference}");
    (sha256(&bytes), bytes.len())
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Pushes `repo:tag` as an index of one image per platform (`linux/amd64`,
/// `linux/arm64`…), each with `config` as its image config; returns the index digest.
pub fn push_image(host: &str, repo: &str, tag: &str, platforms: &[&str], config: &Value) -> String {
    let mut entries = Vec::new();
    for platform in platforms {
        let mut parts = platform.split('/');
        let (os, arch, variant) = (parts.next().unwrap(), parts.next().unwrap(), parts.next());
        let layer = format!("layer of {repo}:{tag} for {platform}").into_bytes();
        let layer_digest = push_blob(host, repo, &layer);
        let mut blob = json!({"architecture": arch, "os": os, "config": config,
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]}});
        if let Some(v) = variant {
            blob["variant"] = json!(v);
        }
        let config_bytes = serde_json::to_vec(&blob).unwrap();
        let config_digest = push_blob(host, repo, &config_bytes);
        let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_bytes.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer.len()}]});
        let (digest, size) =
            push_manifest(host, repo, &config_digest_ref(&manifest), OCI_MANIFEST, &manifest);
        let mut p = json!({"os": os, "architecture": arch});
        if let Some(v) = variant {
            p["variant"] = json!(v);
        }
        entries.push(json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": size, "platform": p}));
    }
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
    push_manifest(host, repo, tag, OCI_INDEX, &index).0
}

/// A manifest is pushed under its own digest (what an index refers to).
pub fn config_digest_ref(manifest: &Value) -> String {
    sha256(&serde_json::to_vec(manifest).unwrap())
}
