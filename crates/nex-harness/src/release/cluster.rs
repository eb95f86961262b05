//! The edge of `cargo xtask ct install`: a kind cluster that is always
//! deleted, `ct install` in a Pod Security "restricted" namespace holding the
//! fixtures of `.github/kind/ct-fixtures/` ([`crate::kind`]), and, when it
//! fails, the evidence (what never became ready, events, describe, logs) saved
//! as a CI artifact.

use super::ct::{self, InstallPlan, TEST_NAMESPACE};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

/// Deletes the kind cluster when dropped, whatever happened before.
struct Cluster<'a> {
    plan: &'a InstallPlan,
}

impl Drop for Cluster<'_> {
    fn drop(&mut self) {
        eprintln!("deleting kind cluster {}", self.plan.cluster);
        let status = Command::new("kind").args(ct::kind_delete_args(self.plan)).status();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!(
                "warning: `kind delete cluster --name {}` failed; delete it by hand",
                self.plan.cluster
            );
        }
    }
}

/// Runs the whole install. `Ok(true)`: every chart installed and its tests passed.
pub fn install(plan: &InstallPlan, path: &OsString, artifacts: &Path) -> Result<bool, String> {
    let docker = Command::new("docker").arg("info").stdout(Stdio::null()).stderr(Stdio::piped()).output();
    match docker {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return Err(format!(
                "docker is installed but its daemon does not answer (`docker info`: {}); start Docker",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        Err(e) => return Err(format!("cannot run docker: {e}")),
    }
    std::fs::create_dir_all(artifacts).map_err(|e| format!("{}: {e}", artifacts.display()))?;

    eprintln!("creating kind cluster {} ({})", plan.cluster, plan.node_image);
    let created = Command::new("kind").args(ct::kind_create_args(plan)).status();
    // From here on the cluster may exist: the guard deletes it on every path.
    let _cluster = Cluster { plan };
    if !created.is_ok_and(|s| s.success()) {
        return Err("`kind create cluster` failed (see above)".into());
    }
    for image in &plan.load_images {
        eprintln!("loading {image} into {}", plan.cluster);
        let loaded = Command::new("kind").args(ct::kind_load_args(plan, image)).env("PATH", path).status();
        if !loaded.is_ok_and(|s| s.success()) {
            return Err(format!("`kind load docker-image {image}` failed: build it first (docker build)"));
        }
    }

    let kubectl = |args: &[&str]| {
        let mut c = Command::new("kubectl");
        c.args(args).env("KUBECONFIG", &plan.kubeconfig).env("PATH", path);
        c
    };
    let mut apply =
        kubectl(&["apply", "-f", "-"]).stdin(Stdio::piped()).spawn().map_err(|e| e.to_string())?;
    if let Some(mut stdin) = apply.stdin.take() {
        // A kubectl that exits without reading (it failed) breaks the pipe: its exit
        // status below says what happened, not EPIPE.
        let _ = stdin.write_all(crate::kind::namespace_manifest(plan.fixtures.pod_security()).as_bytes());
    }
    if !apply.wait().is_ok_and(|s| s.success()) {
        return Err(format!("cannot create the {TEST_NAMESPACE} namespace"));
    }
    // What the scenarios expect to find there (ct/install-ready judged them against it).
    // The objects ct/install-ready read, as it parsed them.
    if let Some(args) = ct::fixtures_apply_args(plan) {
        eprintln!("applying the fixtures of {}", crate::kind::FIXTURES_DIR);
        let mut apply = kubectl(&[]).args(args).stdin(Stdio::piped()).spawn().map_err(|e| e.to_string())?;
        if let Some(mut stdin) = apply.stdin.take() {
            let _ = stdin.write_all(plan.fixtures.apply_list().as_bytes());
        }
        if !apply.wait().is_ok_and(|s| s.success()) {
            return Err(format!("`kubectl apply` of {} failed (see above)", crate::kind::FIXTURES_DIR));
        }
    }

    let mut cmd = Command::new("ct");
    cmd.args(ct::ct_install_args(plan)).env("KUBECONFIG", &plan.kubeconfig).env("PATH", path);
    let passed = tee(cmd, &artifacts.join("ct-install.log"))?;

    print_test_logs(&kubectl);
    if !passed {
        collect_evidence(&kubectl, plan, artifacts);
    }
    Ok(passed)
}

/// Runs a command, copying its output both to the terminal and to `log`.
fn tee(mut cmd: Command, log: &Path) -> Result<bool, String> {
    let file = crate::fsio::create_output(log).map_err(|e| e.to_string())?;
    let file = Arc::new(Mutex::new(file));
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| e.to_string())?;
    let pump = |mut from: Box<dyn Read + Send>, to_err: bool| {
        let file = Arc::clone(&file);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if to_err {
                    let _ = std::io::stderr().write_all(&buf[..n]);
                } else {
                    let _ = std::io::stdout().write_all(&buf[..n]);
                }
                if let Ok(mut f) = file.lock() {
                    let _ = f.write_all(&buf[..n]);
                }
            }
        })
    };
    let out = child.stdout.take().map(|s| pump(Box::new(s), false));
    let err = child.stderr.take().map(|s| pump(Box::new(s), true));
    let status = child.wait().map_err(|e| e.to_string())?;
    for t in [out, err].into_iter().flatten() {
        let _ = t.join();
    }
    Ok(status.success())
}

/// Logs of the helm test pods still present (ct prints the others itself).
fn print_test_logs(kubectl: &dyn Fn(&[&str]) -> Command) {
    let Ok(out) = kubectl(&["get", "pods", "-n", TEST_NAMESPACE, "-o", "json"]).output() else { return };
    let Ok(list) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else { return };
    for pod in list["items"].as_array().into_iter().flatten() {
        let hook = pod["metadata"]["annotations"]["helm.sh/hook"].as_str().unwrap_or("");
        let Some(name) = pod["metadata"]["name"].as_str() else { continue };
        if hook.split(',').any(|h| h.trim() == "test" || h.trim() == "test-success") {
            println!("── helm test pod {name} ──");
            if let Ok(logs) = kubectl(&["logs", "-n", TEST_NAMESPACE, name, "--all-containers"]).output() {
                let _ = std::io::stdout().write_all(&logs.stdout);
            }
        }
    }
}

fn collect_evidence(kubectl: &dyn Fn(&[&str]) -> Command, plan: &InstallPlan, dir: &Path) {
    let save = |file: &str, args: &[&str]| {
        if let Ok(out) = kubectl(args).output() {
            let _ = crate::fsio::write_atomic(&dir.join(file), &[out.stdout, out.stderr].concat());
        }
    };
    let kinds = "deployments,statefulsets,daemonsets,replicasets,jobs,pods,persistentvolumeclaims";
    if let Ok(out) = kubectl(&["get", kinds, "-n", TEST_NAMESPACE, "-o", "json"]).output()
        && let Ok(list) = serde_json::from_slice::<serde_json::Value>(&out.stdout)
    {
        let stuck = ct::not_ready(&list);
        eprintln!("never became ready in namespace {TEST_NAMESPACE}:");
        for s in &stuck {
            eprintln!("  {s}");
        }
        let _ = crate::fsio::write_atomic(&dir.join("not-ready.txt"), (stuck.join("\n") + "\n").as_bytes());
    }
    save("events.txt", &["get", "events", "--all-namespaces", "--sort-by=.lastTimestamp"]);
    save("describe.txt", &["describe", "all,pvc,configmaps,networkpolicies", "-n", TEST_NAMESPACE]);
    let logs = dir.join("logs");
    let _ = std::fs::create_dir_all(&logs);
    if let Ok(out) = kubectl(&["get", "pods", "-n", TEST_NAMESPACE, "-o", "name"]).output() {
        for pod in String::from_utf8_lossy(&out.stdout).lines() {
            let file = PathBuf::from(pod.replace('/', "-") + ".log");
            if let Ok(o) =
                kubectl(&["logs", "-n", TEST_NAMESPACE, pod, "--all-containers", "--prefix"]).output()
            {
                let _ = crate::fsio::write_atomic(&logs.join(file), &[o.stdout, o.stderr].concat());
            }
        }
    }
    let _ = Command::new("kind")
        .args(["export", "logs"])
        .arg(dir.join("kind"))
        .args(["--name", &plan.cluster])
        .stdout(Stdio::null())
        .status();
    eprintln!("events, describe and logs saved to {}", dir.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tee_keeps_both_streams_and_the_exit_status() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("out.log");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo to-stdout; echo to-stderr >&2; exit 3"]);
        assert!(!tee(cmd, &log).unwrap());
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("to-stdout\n") && text.contains("to-stderr\n"), "{text}");
        let mut ok = Command::new("sh");
        ok.args(["-c", "true"]);
        assert!(tee(ok, &log).unwrap());
    }
}
