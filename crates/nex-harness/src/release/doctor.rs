//! `cargo xtask release doctor`: what a release needs from the repository's
//! settings, checked before anything is published, each missing one named with
//! the one-time step that fixes it. A new GitHub repository has none of them:
//!
//! - the `gh-pages` branch chart-releaser writes `index.yaml` to (`cr index`
//!   makes a worktree of `<remote>/gh-pages`, chart-releaser v1.7.0
//!   `pkg/releaser/releaser.go` UpdateIndexFile, so it fails without one, after
//!   `cr upload` has already made the GitHub releases). It can be created:
//!   `--fix` pushes an orphan branch holding an empty index and `.nojekyll`;
//! - GitHub Pages serving that branch (off by default): the index the branch
//!   holds must be the one the Pages URL serves;
//! - the OCI packages readable anonymously (GitHub creates a new package
//!   private): checked for every chart (and image) by pulling its tag list
//!   with no credentials. Before the first push a package cannot be told apart
//!   from a private one, so that is a note; after the push (`--require-public`)
//!   it stops the release before the HTTP repository publishes anything.
//!
//! The checks talk to git, HTTP and the registry (the edges); [`Report`] is
//! what they found.

use crate::images::reference::ImageRef;
use crate::images::registry::{Client, RegistryError};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The branch the HTTP repository lives on (chart-releaser's default `--pages-branch`).
pub const PAGES_BRANCH: &str = "gh-pages";

/// The index a new repository starts with: valid for helm, chart-releaser and `package --merge`.
pub const EMPTY_INDEX: &str = "apiVersion: v1\nentries: {}\n";

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The git remote the release pushes `gh-pages` to (a URL or a remote name).
    pub remote: String,
    /// Create what can be created (the `gh-pages` branch).
    pub fix: bool,
    /// Where GitHub Pages serves the branch (`https://<owner>.github.io/<repo>`).
    pub pages_url: Option<String>,
    /// How long to wait for Pages to serve the branch's index (a Pages build takes a while).
    pub pages_wait: Duration,
    /// `owner/repo` on GitHub, to name its settings pages.
    pub github_repository: Option<String>,
    /// OCI repositories that must be publicly readable: `HOST/PATH/CHART`, `ghcr.io/o/yaldap`.
    pub packages: Vec<String>,
    /// Registries spoken to over plain HTTP (`HOST:PORT`).
    pub insecure: Vec<String>,
    /// A package nobody can pull anonymously is missing, not a note (after the push).
    pub require_public: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Created,
    /// Not a failure yet: what the first release will need.
    Note,
    Missing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub status: Status,
    pub subject: String,
    pub detail: String,
    /// The one-time step that fixes it.
    pub fix: Option<String>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn missing(&self) -> usize {
        self.checks.iter().filter(|c| c.status == Status::Missing).count()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    #[error("cannot run git ({0}); install git")]
    NoGit(String),
    #[error("git {command}: {stderr}")]
    Git { command: String, stderr: String },
    #[error("{0}")]
    Io(String),
}

/// Runs every check of `plan`, in order: the branch, Pages, the packages.
pub fn run(plan: &Plan) -> Result<Report, DoctorError> {
    let mut report = Report::default();
    let plan = &Plan { remote: resolve_remote(&plan.remote)?, ..plan.clone() };
    let branch = pages_branch(plan, &mut report)?;
    if let Some(url) = &plan.pages_url {
        report.checks.push(pages(plan, url, branch.as_deref()));
    }
    if !plan.packages.is_empty() {
        let mut client = Client::anonymous(&plan.insecure);
        for p in &plan.packages {
            report.checks.push(package(plan, &mut client, p));
        }
    }
    Ok(report)
}

/// The `gh-pages` branch (created with `fix`); its index.yaml when it has one.
fn pages_branch(plan: &Plan, report: &mut Report) -> Result<Option<String>, DoctorError> {
    let subject = format!("{PAGES_BRANCH} branch on {}", shown_remote(&plan.remote));
    let tmp = tempfile::tempdir().map_err(|e| DoctorError::Io(e.to_string()))?;
    git(tmp.path(), &["init", "-q", "--bare"])?;
    let fetched = git(
        tmp.path(),
        &["fetch", "-q", "--depth", "1", &plan.remote, &format!("refs/heads/{PAGES_BRANCH}")],
    );
    match fetched {
        Ok(_) => {
            let index = git(tmp.path(), &["show", "FETCH_HEAD:index.yaml"]).ok();
            let detail = if index.is_some() { "holds index.yaml" } else { "has no index.yaml yet" };
            report.checks.push(Check { status: Status::Ok, subject, detail: detail.into(), fix: None });
            Ok(index)
        }
        Err(DoctorError::Git { stderr, .. }) if is_missing_ref(&stderr) => {
            if !plan.fix {
                report.checks.push(Check {
                    status: Status::Missing,
                    subject,
                    detail: "chart-releaser writes index.yaml there and fails without it".into(),
                    fix: Some(format!(
                        "run `cargo xtask release doctor --fix` (the release workflow does): it pushes an orphan {PAGES_BRANCH} branch holding an empty index.yaml and .nojekyll"
                    )),
                });
                return Ok(None);
            }
            create_pages_branch(&plan.remote)?;
            report.checks.push(Check {
                status: Status::Created,
                subject,
                detail: "an orphan branch holding an empty index.yaml and .nojekyll".into(),
                fix: None,
            });
            Ok(Some(EMPTY_INDEX.to_owned()))
        }
        Err(e) => Err(e),
    }
}

/// A remote name (`origin`) as its URL in the working directory's repository; a URL
/// or a path as it is (the checks run git in scratch repositories).
fn resolve_remote(remote: &str) -> Result<String, DoctorError> {
    if remote.contains(['/', ':']) {
        return Ok(remote.to_owned());
    }
    Ok(git(Path::new("."), &["remote", "get-url", remote])?.trim().to_owned())
}

fn is_missing_ref(stderr: &str) -> bool {
    stderr.contains("couldn't find remote ref") || stderr.contains("could not find remote ref")
}

/// Pushes an orphan `gh-pages` holding an empty index (and `.nojekyll`: Pages serves files as they are).
fn create_pages_branch(remote: &str) -> Result<(), DoctorError> {
    let tmp = tempfile::tempdir().map_err(|e| DoctorError::Io(e.to_string()))?;
    let dir = tmp.path();
    git(dir, &["init", "-q"])?;
    git(dir, &["checkout", "-q", "--orphan", PAGES_BRANCH])?;
    for (name, text) in [("index.yaml", EMPTY_INDEX), (".nojekyll", "")] {
        crate::fsio::write_scratch(dir, &dir.join(name), text.as_bytes())
            .map_err(|e| DoctorError::Io(e.to_string()))?;
    }
    git(dir, &["add", "index.yaml", ".nojekyll"])?;
    git(
        dir,
        &[
            "-c",
            "user.name=github-actions[bot]",
            "-c",
            "user.email=41898282+github-actions[bot]@users.noreply.github.com",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-q",
            "-m",
            "The chart repository: an empty index (cargo xtask release doctor --fix)",
        ],
    )?;
    git(dir, &["push", "-q", remote, &format!("HEAD:refs/heads/{PAGES_BRANCH}")])?;
    Ok(())
}

/// Pages serves the branch's index.yaml (waiting up to `pages_wait` for a build).
fn pages(plan: &Plan, url: &str, branch_index: Option<&str>) -> Check {
    let index_url = format!("{}/index.yaml", url.trim_end_matches('/'));
    let subject = format!("GitHub Pages at {url}");
    let settings = plan
        .github_repository
        .as_deref()
        .map(|r| format!(" (https://github.com/{r}/settings/pages)"))
        .unwrap_or_default();
    let enable = format!(
        "enable GitHub Pages once{settings}: Settings → Pages → Build and deployment → Source \"Deploy from a branch\", Branch \"{PAGES_BRANCH}\", folder \"/ (root)\" → Save; the first build takes a minute"
    );
    let Some(expected) = branch_index else {
        return Check {
            status: Status::Missing,
            subject,
            detail: format!("nothing to serve: the {PAGES_BRANCH} branch has no index.yaml"),
            fix: Some(format!("create the branch first (`--fix`), then {enable}")),
        };
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let deadline = Instant::now() + plan.pages_wait;
    loop {
        let got = agent.get(&index_url).call().map_err(|e| e.to_string()).and_then(|mut r| {
            let status = r.status().as_u16();
            let body =
                r.body_mut().with_config().limit(64 << 20).read_to_string().map_err(|e| e.to_string())?;
            Ok((status, body))
        });
        let (ok, detail) = match got {
            Ok((200, body)) if body == expected => (true, "serves the branch's index.yaml".to_owned()),
            Ok((200, _)) => (
                false,
                format!(
                    "{index_url} is not the {PAGES_BRANCH} branch's index.yaml (another source, or a build still running)"
                ),
            ),
            Ok((status, _)) => (false, format!("{index_url} answers HTTP {status}")),
            Err(e) => (false, format!("{index_url}: {e}")),
        };
        if ok {
            return Check { status: Status::Ok, subject, detail, fix: None };
        }
        if Instant::now() >= deadline {
            return Check { status: Status::Missing, subject, detail, fix: Some(enable) };
        }
        std::thread::sleep(Duration::from_secs(10).min(plan.pages_wait));
    }
}

/// A package anyone can pull: its tag list answers without credentials.
fn package(plan: &Plan, client: &mut Client, reference: &str) -> Check {
    let subject = format!("package {reference}");
    let image = match ImageRef::parse(reference) {
        Ok(i) => i,
        Err(e) => return Check { status: Status::Missing, subject, detail: e.to_string(), fix: None },
    };
    let fix = if image.registry == "ghcr.io" {
        let name = image.repository.split_once('/').map(|(_, n)| n).unwrap_or(&image.repository);
        format!(
            "make it public once: on GitHub, the package {name} → Package settings → Danger Zone → Change visibility → Public (GitHub creates a new package private; an organisation must also allow public packages, Settings → Packages)"
        )
    } else {
        format!(
            "let anonymous users pull {}/{} (the registry's access rules)",
            image.registry, image.repository
        )
    };
    match client.tags(&image) {
        Ok(tags) => Check {
            status: Status::Ok,
            subject,
            detail: format!("public ({} tag{})", tags.len(), if tags.len() == 1 { "" } else { "s" }),
            fix: None,
        },
        Err(RegistryError::NotFound { .. } | RegistryError::Denied { .. }) if !plan.require_public => Check {
            status: Status::Note,
            subject,
            detail: "not readable anonymously: private, or not pushed yet (a first push creates it private on GitHub)".into(),
            fix: Some(fix),
        },
        Err(e @ (RegistryError::NotFound { .. } | RegistryError::Denied { .. })) => Check {
            status: Status::Missing,
            subject,
            detail: format!("anonymous users cannot pull it: {e}"),
            fix: Some(fix),
        },
        Err(e) => Check { status: Status::Missing, subject, detail: e.to_string(), fix: None },
    }
}

/// A remote as shown: credentials in a URL are never printed.
pub fn shown_remote(remote: &str) -> String {
    match remote.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((_, host))
                if !rest.split('/').next().unwrap_or_default().is_empty()
                    && rest.find('@') < rest.find('/') =>
            {
                format!("{scheme}://{host}")
            }
            _ => remote.to_owned(),
        },
        None => remote.to_owned(),
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<String, DoctorError> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| DoctorError::NoGit(e.to_string()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        // Shown without credentials: a remote URL may hold a token, and git may echo it.
        let mut stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        for a in args {
            let shown = shown_remote(a);
            if shown != *a {
                stderr = stderr.replace(a, &shown);
            }
        }
        let shown: Vec<String> = args.iter().map(|a| shown_remote(a)).collect();
        Err(DoctorError::Git { command: shown.join(" "), stderr })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_remote_urls_are_not_shown() {
        assert_eq!(
            shown_remote("https://x-access-token:ghs_secret@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(shown_remote("/tmp/remote.git"), "/tmp/remote.git");
        assert_eq!(shown_remote("origin"), "origin");
        assert_eq!(shown_remote("https://github.com/o/r@x.git"), "https://github.com/o/r@x.git");
    }
}
