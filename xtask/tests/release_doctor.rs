//! The first release of a brand-new repository, against loopback stand-ins for
//! GitHub: a bare git repository without `gh-pages` as the remote, a static HTTP
//! server as Pages, the real `docker-registry` as the OCI registry (public, and
//! private: anonymous pulls refused, as GitHub makes a new package). The release
//! runs `cargo xtask release doctor` before it publishes anything (the workflow's
//! `preflight` job) and again with `--require-public` after the OCI push, before
//! the HTTP repository (`xtask/tests/pipeline.rs` pins that order in the workflow);
//! here each stop is shown to leave nothing published.

mod support;

use std::path::Path;
use support::{Registry, StaticServer, copy_dir, git, xtask_in};

fn catalog() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good"), tmp.path());
    tmp
}

fn bare_remote() -> tempfile::TempDir {
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "-q", "--bare"]);
    remote
}

/// `git ls-remote --heads` of the remote, one branch a line.
fn heads(remote: &Path) -> String {
    let out = std::process::Command::new("git").arg("ls-remote").arg("--heads").arg(remote).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn show(remote: &Path, what: &str) -> Option<String> {
    let out =
        std::process::Command::new("git").arg("--git-dir").arg(remote).args(["show", what]).output().unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn doctor(root: &Path, args: &[String]) -> (i32, String) {
    let out = xtask_in(root)
        .args(["release", "doctor"])
        .args(args)
        .env_remove("GITHUB_REPOSITORY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), format!("{stdout}{stderr}"))
}

/// The registry's repositories (`GET /v2/_catalog`): what was pushed.
fn pushed(registry: &Registry) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut r = agent.get(&format!("http://{}/v2/_catalog", registry.host())).call().unwrap();
    r.body_mut().read_to_string().unwrap()
}

#[test]
fn a_new_repository_stops_before_publishing_and_names_each_one_time_setting() {
    let cat = catalog();
    let root = cat.path();
    let remote = bare_remote();
    let pages_root = tempfile::tempdir().unwrap();
    let pages = StaticServer::start(pages_root.path().to_path_buf());
    let Some(registry) = Registry::start("a_new_repository_stops_before_publishing") else { return };
    let oci = format!("oci://{}/charts", registry.host());
    let base: Vec<String> = [
        "--remote",
        remote.path().to_str().unwrap(),
        "--pages-url",
        &pages.url(),
        "--oci",
        &oci,
        "--plain-http",
        "--github-repository",
        "owner/repo",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();

    // 1. GitHub's defaults: no gh-pages, no Pages, no package. Each is named with its fix;
    //    the release stops (exit 1) and nothing is published.
    let (code, out) = doctor(root, &base);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("MISSING gh-pages branch on "), "{out}");
    assert!(out.contains("fix: run `cargo xtask release doctor --fix`"), "{out}");
    assert!(out.contains("MISSING GitHub Pages at http://127.0.0.1:"), "{out}");
    assert!(
        out.contains(&format!("note    package {}/charts/tiny: not readable anonymously", registry.host())),
        "{out}"
    );
    assert!(out.contains("the release stops here, before publishing anything"), "{out}");
    assert_eq!(heads(remote.path()), "", "the remote was written to");
    assert_eq!(pushed(&registry), "{\"repositories\":[]}\n");

    // 2. --fix creates the branch (an empty index); Pages still serves nothing: stop again.
    let mut fix = base.clone();
    fix.push("--fix".into());
    let (code, out) = doctor(root, &fix);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("created gh-pages branch"), "{out}");
    assert!(out.contains("GitHub Pages at") && out.contains("answers HTTP 404"), "{out}");
    assert!(
        out.contains("https://github.com/owner/repo/settings/pages")
            && out.contains("\"Deploy from a branch\""),
        "{out}"
    );
    let index = show(remote.path(), "gh-pages:index.yaml").expect("gh-pages holds index.yaml");
    assert_eq!(index, nex_harness::release::doctor::EMPTY_INDEX);
    assert!(show(remote.path(), "gh-pages:.nojekyll").is_some());
    assert_eq!(pushed(&registry), "{\"repositories\":[]}\n");

    // 3. Pages enabled (the server now serves the branch): ready. The empty index is one
    //    `package --merge` and helm accept.
    std::fs::write(pages_root.path().join("index.yaml"), &index).unwrap();
    let (code, out) = doctor(root, &fix);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok      gh-pages branch") && out.contains("ok      GitHub Pages"), "{out}");
    let published = root.join("published-index.yaml");
    std::fs::write(&published, &index).unwrap();
    xtask_in(root).args(["package", "--out", "dist", "--merge"]).arg(&published).assert().success();

    // 4. The OCI push, then the gate before the HTTP repository: public packages pass.
    xtask_in(root).args(["publish", "--oci", &oci, "--plain-http", "--dir", "dist"]).assert().success();
    let mut gate = base.clone();
    gate.push("--require-public".into());
    let (code, out) = doctor(root, &gate);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("/charts/tiny: public (1 tag)"), "{out}");
}

/// After the push, a package anonymous users cannot pull (private, as GitHub creates
/// it) stops the release before the HTTP repository publishes anything.
#[test]
fn a_private_package_stops_the_release_after_the_push() {
    let cat = catalog();
    let remote = bare_remote();
    let Some(registry) = Registry::start_private("a_private_package_stops_the_release") else { return };
    let args: Vec<String> = [
        "--remote",
        remote.path().to_str().unwrap(),
        "--fix",
        "--oci",
        &format!("oci://{}/charts", registry.host()),
        "--plain-http",
        "--image",
        &format!("{}/nex/yaldap:v0.2.0", registry.host()),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Before the push: a note (a new package cannot be told from a private one).
    let (code, out) = doctor(cat.path(), &args);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("note    package") && out.contains("/charts/tiny"), "{out}");
    let mut gate = args.clone();
    gate.push("--require-public".into());
    let (code, out) = doctor(cat.path(), &gate);
    assert_eq!(code, 1, "{out}");
    for name in ["charts/tiny", "nex/yaldap"] {
        assert!(
            out.contains(&format!(
                "MISSING package {}/{name}: anonymous users cannot pull it",
                registry.host()
            )),
            "{out}"
        );
    }
    assert!(out.contains("the release stops here"), "{out}");
}

#[test]
fn a_token_in_the_remote_url_is_never_printed() {
    let cat = catalog();
    let args: Vec<String> = ["--remote", "http://x-access-token:ghs_not_printed@127.0.0.1:1/owner/repo.git"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (code, out) = doctor(cat.path(), &args);
    assert_eq!(code, 2, "{out}");
    assert!(!out.contains("ghs_not_printed"), "{out}");
    assert!(out.contains("http://127.0.0.1:1/owner/repo.git"), "{out}");
}

/// The default remote is the checkout's `origin` (the release job's), resolved to its URL.
#[test]
fn the_default_remote_is_origin() {
    let cat = catalog();
    let remote = bare_remote();
    git(cat.path(), &["init", "-q"]);
    git(cat.path(), &["remote", "add", "origin", remote.path().to_str().unwrap()]);
    let (code, out) = doctor(cat.path(), &["--fix".to_string()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("created gh-pages branch on {}", remote.path().display())), "{out}");
    assert!(heads(remote.path()).contains("refs/heads/gh-pages"));
}
