//! `cargo xtask hooks install`: a git pre-commit hook that lints what changed.

use std::path::{Path, PathBuf};

/// Marks a hook as ours, so reinstalling may replace it and a foreign one is kept.
pub const MARKER: &str = "# nex-charts: written by `cargo xtask hooks install`";

pub fn pre_commit_script() -> String {
    format!(
        "#!/bin/sh\n{MARKER}; rerun it to update.\n\
         # Lints the charts this commit touches; `git commit --no-verify` skips it.\n\
         exec cargo xtask lint --changed\n"
    )
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("not inside a git repository (`git rev-parse --git-path hooks` failed: {0})")]
    NotARepo(String),
    #[error(
        "{0} exists and was not written by the harness; keep it, or replace it with `cargo xtask hooks install --force`"
    )]
    Foreign(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

#[derive(Debug, PartialEq, Eq)]
pub enum Installed {
    Written(PathBuf),
    Unchanged(PathBuf),
}

/// The hooks folder git uses for `root` (worktrees share the main one).
pub fn hooks_dir(root: &Path) -> Result<PathBuf, HookError> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--git-path", "hooks"])
        .current_dir(root)
        .output()
        .map_err(|e| HookError::NotARepo(e.to_string()))?;
    if !out.status.success() {
        return Err(HookError::NotARepo(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    Ok(root.join(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Writes `<hooks>/pre-commit`, refusing to replace a foreign hook unless `force`.
pub fn install(hooks: &Path, force: bool) -> Result<Installed, HookError> {
    let path = hooks.join("pre-commit");
    let script = pre_commit_script();
    let write_err = |source| HookError::Write { path: path.clone(), source };
    match crate::fsio::read_text(&path, crate::fsio::limit::SETTINGS_FILE) {
        Ok(existing) if existing == script => return Ok(Installed::Unchanged(path)),
        Ok(existing) if !existing.contains(MARKER) && !force => return Err(HookError::Foreign(path)),
        _ => {}
    }
    std::fs::create_dir_all(hooks).map_err(write_err)?;
    super::archive::write_atomic(&path, script.as_bytes()).map_err(write_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(write_err)?;
    }
    Ok(Installed::Written(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_updates_and_respects_foreign_hooks() {
        let tmp = tempfile::tempdir().unwrap();
        let hooks = tmp.path().join("hooks");
        let path = hooks.join("pre-commit");
        assert_eq!(install(&hooks, false).unwrap(), Installed::Written(path.clone()));
        assert!(std::fs::read_to_string(&path).unwrap().contains("cargo xtask lint --changed"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o755);
        }
        assert_eq!(install(&hooks, false).unwrap(), Installed::Unchanged(path.clone()));
        // An older version of our own hook is replaced without --force.
        std::fs::write(&path, format!("#!/bin/sh\n{MARKER}\nold\n")).unwrap();
        assert_eq!(install(&hooks, false).unwrap(), Installed::Written(path.clone()));
        // Somebody else's hook is kept unless forced.
        std::fs::write(&path, "#!/bin/sh\nmy-own-checks\n").unwrap();
        let err = install(&hooks, false).unwrap_err().to_string();
        assert!(err.contains("--force"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "#!/bin/sh\nmy-own-checks\n");
        assert_eq!(install(&hooks, true).unwrap(), Installed::Written(path.clone()));
    }
}
