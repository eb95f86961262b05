//! `--changed`: which charts differ from the target branch, and what their
//! version was there (ct's changed-chart detection and check-version-increment).
//!
//! Like ct, the comparison point is `git merge-base <remote>/<target-branch> HEAD`
//! (`since` in ct.yaml replaces HEAD), and the diff includes uncommitted work
//! and untracked files.

use crate::config::CtConfig;
use crate::model::{CHART_YAML, ChartMeta, Previous};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why the target branch cannot be compared with; each says what to run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitError {
    #[error("git is not installed (or not on PATH): install git, or run without --changed")]
    NoGit,
    #[error(
        "not a git repository: comparing with the target branch needs a clone; run inside one \
         (git clone <url>), or lint without --changed"
    )]
    NotARepo,
    #[error(
        "git remote `{remote}` is not configured: run `git remote add {remote} <url>` then \
         `git fetch {remote} {branch}`, or set `remote` in ct.yaml"
    )]
    NoRemote { remote: String, branch: String },
    #[error(
        "branch `{remote}/{branch}` is not known locally: run `git fetch {remote} {branch}` \
         (or set `target-branch` in ct.yaml)"
    )]
    NoBranch { remote: String, branch: String },
    #[error(
        "this is a shallow clone and its history does not reach `{remote}/{branch}`: run \
         `git fetch --unshallow {remote}` (in GitHub Actions, check out with `fetch-depth: 0`)"
    )]
    Shallow { remote: String, branch: String },
    #[error("`{remote}/{branch}` and `{since}` share no history (git merge-base found none)")]
    NoMergeBase { remote: String, branch: String, since: String },
    #[error("`git {command}` failed: {stderr}")]
    Failed { command: String, stderr: String },
    #[error(
        "ct.yaml `{key}: {value}` is not a git revision or name (it must not start with `-`, nor hold \
         spaces or control characters); git would read it as an option"
    )]
    BadRef { key: &'static str, value: String },
}

/// A value from ct.yaml that goes to git as a revision or name: never an
/// option (`since: --octopus`), never something a shell or git would split.
fn revision(key: &'static str, value: &str) -> Result<(), GitError> {
    let bad = value.is_empty()
        || value.starts_with('-')
        || value.chars().any(|c| c.is_whitespace() || c.is_control());
    if bad { Err(GitError::BadRef { key, value: value.to_owned() }) } else { Ok(()) }
}

/// The resolved comparison point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    /// `origin/main`, for messages.
    pub label: String,
    /// The merge-base commit.
    pub commit: String,
    /// Files under the chart dirs changed since then, relative to the working directory.
    pub changed: Vec<PathBuf>,
}

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn git(args: &[&str]) -> Result<Out, GitError> {
    let out =
        Command::new("git").args(args).env("GIT_TERMINAL_PROMPT", "0").env("LC_ALL", "C").output().map_err(
            |e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    GitError::NoGit
                } else {
                    failed(args, &e.to_string())
                }
            },
        )?;
    Ok(Out {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    })
}

fn failed(args: &[&str], stderr: &str) -> GitError {
    GitError::Failed { command: args.join(" "), stderr: stderr.to_owned() }
}

/// Whether git would find no repository from the working directory: no
/// `.git` in it nor in a folder above, and no `GIT_*` variable that points git
/// elsewhere. Saves a lint outside a clone (a bench catalog, a tarball) a git process.
fn outside_any_repository() -> bool {
    let steered = ["GIT_DIR", "GIT_WORK_TREE", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    match std::env::current_dir() {
        Ok(cwd) if !steered => !cwd.ancestors().any(|d| d.join(".git").exists()),
        _ => false,
    }
}

impl Baseline {
    /// Resolves `merge-base <remote>/<target-branch> <since|HEAD>` in the working directory.
    pub fn resolve(config: &CtConfig) -> Result<Self, GitError> {
        let remote = config.remote.as_str();
        let branch = config.target_branch.as_str();
        let since = if config.since.is_empty() { "HEAD" } else { config.since.as_str() };
        revision("remote", remote)?;
        revision("target-branch", branch)?;
        revision("since", since)?;
        if outside_any_repository() {
            return Err(GitError::NotARepo);
        }
        let inside = git(&["rev-parse", "--is-inside-work-tree"])?;
        if !inside.ok || inside.stdout != "true" {
            return Err(GitError::NotARepo);
        }
        let remotes = git(&["remote"])?;
        if !remotes.stdout.lines().any(|r| r.trim() == remote) {
            return Err(GitError::NoRemote { remote: remote.into(), branch: branch.into() });
        }
        let target = format!("{remote}/{branch}");
        let reference = format!("refs/remotes/{target}^{{commit}}");
        if !git(&["rev-parse", "--verify", "--quiet", "--end-of-options", &reference])?.ok {
            return Err(GitError::NoBranch { remote: remote.into(), branch: branch.into() });
        }
        // Validated above; `--end-of-options` keeps git from reading either as an option all the same.
        let base = git(&["merge-base", "--end-of-options", &target, since])?;
        if !base.ok || base.stdout.is_empty() {
            let shallow = git(&["rev-parse", "--is-shallow-repository"])?;
            if shallow.stdout == "true" {
                return Err(GitError::Shallow { remote: remote.into(), branch: branch.into() });
            }
            if !base.stderr.is_empty() && !base.stderr.contains("no merge base") {
                return Err(failed(&["merge-base", &target, since], &base.stderr));
            }
            return Err(GitError::NoMergeBase {
                remote: remote.into(),
                branch: branch.into(),
                since: since.into(),
            });
        }
        let mut baseline = Self { label: target, commit: base.stdout, changed: Vec::new() };
        baseline.changed = baseline.changed_files(&config.chart_dirs)?;
        Ok(baseline)
    }

    /// Files changed since the merge base under `dirs` (committed or not,
    /// untracked included), relative to the working directory.
    fn changed_files(&self, dirs: &[PathBuf]) -> Result<Vec<PathBuf>, GitError> {
        let mut args =
            vec!["diff", "--find-renames", "--name-only", "--relative", self.commit.as_str(), "--"];
        let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        args.extend(dirs.iter().map(String::as_str));
        let out = git(&args)?;
        if !out.ok {
            return Err(failed(&args, &out.stderr));
        }
        let mut files: Vec<PathBuf> =
            out.stdout.lines().filter(|l| !l.is_empty()).map(PathBuf::from).collect();
        // New files not yet added count as changes too (a chart being written).
        let mut others = vec!["ls-files", "--others", "--exclude-standard", "--"];
        others.extend(dirs.iter().map(String::as_str));
        let untracked = git(&others)?;
        if untracked.ok {
            files.extend(untracked.stdout.lines().filter(|l| !l.is_empty()).map(PathBuf::from));
        }
        Ok(files)
    }

    /// Whether any file of the chart in `chart_dir` changed.
    pub fn touches(&self, chart_dir: &Path) -> bool {
        let cwd = std::env::current_dir().unwrap_or_default();
        let dir = chart_dir.strip_prefix(&cwd).unwrap_or(chart_dir);
        self.changed.iter().any(|f| f.starts_with(dir))
    }

    /// ct's `use-helmignore`: whether a changed file of the chart is one its
    /// `.helmignore` (plus helm's default rule) keeps; an unreadable `.helmignore`
    /// counts every change (ct stops on it).
    pub fn touches_kept(&self, chart_dir: &Path) -> bool {
        let cwd = std::env::current_dir().unwrap_or_default();
        let dir = chart_dir.strip_prefix(&cwd).unwrap_or(chart_dir);
        let files: Vec<String> = self
            .changed
            .iter()
            .filter_map(|f| f.strip_prefix(dir).ok())
            .map(|f| f.to_string_lossy().replace('\\', "/"))
            .collect();
        if files.is_empty() {
            return false;
        }
        let text = crate::fsio::read_text(&chart_dir.join(".helmignore"), crate::fsio::limit::CHART_FILE)
            .unwrap_or_default();
        match crate::helmignore::Rules::parse_with_defaults(&text) {
            Ok(rules) => !rules.keep(&files).is_empty(),
            Err(_) => true,
        }
    }

    /// Whether the chart or one of its local (`file://`) dependencies changed:
    /// a changed library changes what every chart vendoring it packages, so
    /// those charts need a new version (and their upgrades checking) too.
    pub fn touches_chart(&self, chart_dir: &Path) -> bool {
        self.touches(chart_dir)
            || crate::deps::local_dependencies(chart_dir)
                .iter()
                .any(|(_, dep)| self.touches(&crate::paths::clean(dep)))
    }

    /// For a changed chart, its `version` at the merge base (`version: None`
    /// when it did not exist there); `None` for an unchanged chart, which
    /// needs no new version.
    pub fn previous(&self, chart_dir: &Path) -> Option<Previous> {
        if !self.touches_chart(chart_dir) {
            return None;
        }
        let rel = chart_dir.strip_prefix(std::env::current_dir().unwrap_or_default()).unwrap_or(chart_dir);
        let path = rel.join(CHART_YAML);
        let spec = format!("{}:./{}", self.commit, path.display());
        let version = git(&["show", &spec])
            .ok()
            .filter(|o| o.ok)
            .and_then(|o| ChartMeta::parse(&path, &o.stdout).version);
        Some(Previous { base: self.label.clone(), version })
    }
}

impl Baseline {
    /// Writes `dirs` (relative to the working directory) as they are at the
    /// merge base into `dest`, with `git archive` (nothing is checked out or
    /// registered in the repository, so removing `dest` is the whole cleanup).
    pub fn archive(&self, dirs: &[PathBuf], dest: &Path) -> Result<(), GitError> {
        // `<commit>:<prefix>` roots the archive at the working directory, as `dirs` are.
        let prefix = git(&["rev-parse", "--show-prefix"])?;
        let tree = format!("{}:{}", self.commit, prefix.stdout);
        // One archive per folder: a chart dir that did not exist at the merge base holds no charts there.
        for dir in dirs {
            let args = [
                "archive".to_owned(),
                "--format=tar".to_owned(),
                tree.clone(),
                "--".to_owned(),
                dir.display().to_string(),
            ];
            let failed = |stderr: String| GitError::Failed { command: args.join(" "), stderr };
            let mut child = Command::new("git")
                .args(&args)
                .env("GIT_TERMINAL_PROMPT", "0")
                .env("LC_ALL", "C")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .map_err(|e| failed(e.to_string()))?;
            // Unpacked as it streams (a 600 MB file is never held), under the
            // working tree's rules: no link out of the tree, no file over the cap.
            let unpacked = match child.stdout.take() {
                Some(stdout) => crate::fsio::unpack_confined(stdout, dest, crate::fsio::limit::TREE_FILE),
                None => Ok(()),
            };
            if let Err(e) = unpacked {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!("the target branch's tree is refused: {e}")));
            }
            let out = child.wait_with_output().map_err(|e| failed(e.to_string()))?;
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
                if stderr.contains("did not match any files") {
                    continue;
                }
                return Err(failed(stderr));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod dependency_tests {
    use super::*;

    #[test]
    fn values_that_look_like_options_are_not_revisions() {
        for good in ["HEAD", "main", "origin/main", "v1.2.3", "HEAD~2", "feature/x-y", "a-b"] {
            assert_eq!(revision("since", good), Ok(()), "{good}");
        }
        for bad in ["--octopus", "-p", "-", "", "a b", "main\n--all", "x\u{1b}"] {
            assert!(matches!(revision("since", bad), Err(GitError::BadRef { key: "since", .. })), "{bad:?}");
        }
        let config = CtConfig { since: "--octopus".into(), ..CtConfig::default() };
        let e = Baseline::resolve(&config).unwrap_err();
        assert!(e.to_string().contains("`since: --octopus` is not a git revision"), "{e}");
    }

    #[test]
    fn a_changed_library_touches_the_charts_that_vendor_it() {
        let tmp = tempfile::tempdir().unwrap();
        let app = tmp.path().join("charts/app");
        let other = tmp.path().join("charts/other");
        for dir in [&app, &other] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(
            app.join("Chart.yaml"),
            "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: common\n    version: ~0.1.0\n    repository: file://../common\n",
        )
        .unwrap();
        std::fs::write(other.join("Chart.yaml"), "apiVersion: v2\nname: other\nversion: 1.0.0\n").unwrap();
        let base = Baseline {
            label: "origin/main".into(),
            commit: "0".repeat(40),
            changed: vec![tmp.path().join("charts/common/templates/_labels.tpl")],
        };
        assert!(!base.touches(&app), "the chart's own files did not change");
        assert!(base.touches_chart(&app), "its library did");
        assert!(!base.touches_chart(&other), "a chart without the library is untouched");
    }
}
