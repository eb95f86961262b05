//! Helpers shared by the integration tests (each test file is its own crate,
//! so not every file uses every helper).
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::Path;

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
