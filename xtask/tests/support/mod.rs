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
