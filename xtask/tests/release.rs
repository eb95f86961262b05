//! The release path end to end, with real servers on 127.0.0.1: the catalog
//! packaged, served over HTTP and found, pulled and rendered by helm; pushed to
//! a real OCI registry (the CNCF distribution server) and pulled back.

use assert_cmd::Command;
use nex_harness::helm::{Helm, Major};
use predicates::prelude::*;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod support;
use support::{Registry, StaticServer, free_port};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn xtask() -> Command {
    let mut cmd = Command::cargo_bin("xtask").expect("xtask binary");
    cmd.env_remove("HELM_BIN").env_remove("NEX_HELM").env_remove("SOURCE_DATE_EPOCH").env("NO_COLOR", "1");
    cmd
}

fn sha256(path: &Path) -> String {
    nex_harness::release::archive::sha256(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
}

/// A chart the repository must serve.
#[derive(Debug, Clone)]
struct Expected {
    name: String,
    version: String,
    library: bool,
}

/// Every chart of the catalog at `root` that is published, read from its Chart.yaml.
fn expected_charts(root: &Path) -> Vec<Expected> {
    #[derive(serde::Deserialize)]
    struct Meta {
        name: String,
        version: String,
        #[serde(rename = "type", default)]
        kind: Option<String>,
    }
    let config = nex_harness::config::CtConfig::load(root).unwrap();
    let charts = nex_harness::catalog::discover(root, &config).unwrap();
    charts
        .iter()
        .filter(|c| nex_harness::release::package::is_published(&c.dir))
        .map(|c| {
            let text = std::fs::read_to_string(c.dir.join("Chart.yaml")).unwrap();
            let m: Meta = serde_saphyr::from_str(&text).unwrap();
            Expected { name: m.name, version: m.version, library: m.kind.as_deref() == Some("library") }
        })
        .collect()
}

/// The pinned helm of one major, run with private HELM_*_HOME folders.
struct IsolatedHelm {
    bin: PathBuf,
    home: tempfile::TempDir,
}

impl IsolatedHelm {
    fn new(major: Major) -> Self {
        let helm = Helm::locate(major, &nex_harness::provision::cache_root()).expect("pinned helm");
        Self { bin: helm.bin, home: tempfile::tempdir().unwrap() }
    }

    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(&self.bin);
        let h = self.home.path();
        c.args(args)
            .env("HELM_CACHE_HOME", h.join("cache"))
            .env("HELM_CONFIG_HOME", h.join("config"))
            .env("HELM_DATA_HOME", h.join("data"))
            .env_remove("HELM_REGISTRY_CONFIG")
            .env_remove("HELM_REPOSITORY_CONFIG");
        c
    }

    /// Runs helm and returns stdout; panics with helm's stderr on failure.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("run helm");
        assert!(
            out.status.success(),
            "helm {} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Copies a fixture catalog into a temp dir, so tests may change it.
fn copy_fixture(name: &str) -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let tmp = tempfile::tempdir().unwrap();
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.unwrap();
        let to = tmp.path().join(entry.path().strip_prefix(&src).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
    tmp
}

fn package(root: &Path, out: &Path) -> assert_cmd::assert::Assert {
    xtask().current_dir(root).arg("package").arg("--out").arg(out).assert()
}

/// The registry's chart repository reference.
fn oci(registry: &Registry) -> String {
    format!("oci://{}/charts", registry.host())
}

#[test]
fn the_catalog_is_served_over_http_and_pushed_to_an_oci_registry() {
    let root = workspace();
    let expected = expected_charts(&root);
    assert!(!expected.is_empty(), "the catalog has no published chart");
    let dist = tempfile::tempdir().unwrap();
    // The server runs first: its URL is the published repository the archives name.
    let server = StaticServer::start(dist.path().to_path_buf());
    xtask()
        .current_dir(&root)
        .args(["package", "--url", &server.url(), "--out"])
        .arg(dist.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("charts packaged"));
    for e in &expected {
        assert!(dist.path().join(format!("{}-{}.tgz", e.name, e.version)).is_file(), "{e:?} not packaged");
    }
    // Archives are a function of chart content: Helm 3 packages the same bytes as Helm 4.
    let dist3 = tempfile::tempdir().unwrap();
    xtask()
        .current_dir(&root)
        .args(["--helm", "3", "package", "--url", &server.url(), "--out"])
        .arg(dist3.path())
        .assert()
        .success();
    for e in &expected {
        let file = format!("{}-{}.tgz", e.name, e.version);
        assert_eq!(
            sha256(&dist3.path().join(&file)),
            sha256(&dist.path().join(&file)),
            "{file}: Helm 3 vs 4"
        );
    }

    // HTTP: a chart repository is a folder of archives plus index.yaml.
    for major in [Major::V4, Major::V3] {
        let helm = IsolatedHelm::new(major);
        helm.ok(&["repo", "add", "nex", &server.url()]);
        let found = helm.ok(&["search", "repo", "nex/", "--versions", "--output", "json"]);
        let found: serde_json::Value = serde_json::from_str(&found).unwrap();
        for e in &expected {
            let listed = found.as_array().unwrap().iter().any(|c| {
                c["name"] == format!("nex/{}", e.name).as_str() && c["version"] == e.version.as_str()
            });
            assert!(listed, "helm {major:?} search repo does not list {} {}: {found}", e.name, e.version);
            let pulled = tempfile::tempdir().unwrap();
            let dest = pulled.path().to_str().unwrap();
            helm.ok(&["pull", &format!("nex/{}", e.name), "--version", &e.version, "--destination", dest]);
            let file = format!("{}-{}.tgz", e.name, e.version);
            assert_eq!(
                sha256(&pulled.path().join(&file)),
                sha256(&dist.path().join(&file)),
                "{file} over HTTP"
            );
            // A pulled chart rebuilds its dependencies from the published repository
            // (its Chart.yaml no longer says file://../common).
            let untar = pulled.path().join("untar");
            let untar_dir = untar.to_str().unwrap();
            helm.ok(&[
                "pull",
                &format!("nex/{}", e.name),
                "--version",
                &e.version,
                "--untar",
                "--untardir",
                untar_dir,
            ]);
            let chart_dir = untar.join(&e.name);
            let chart_yaml = std::fs::read_to_string(chart_dir.join("Chart.yaml")).unwrap();
            assert!(!chart_yaml.contains("file://"), "{}: the published Chart.yaml keeps file://", e.name);
            let _ = std::fs::remove_dir_all(chart_dir.join("charts"));
            helm.ok(&["dependency", "build", chart_dir.to_str().unwrap()]);
            if chart_yaml.contains("\ndependencies:") {
                let vendored: Vec<String> = std::fs::read_dir(chart_dir.join("charts"))
                    .unwrap_or_else(|err| {
                        panic!("helm {major:?}: {}: no charts/ after dependency build: {err}", e.name)
                    })
                    .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
                assert!(
                    vendored.iter().any(|f| f.starts_with("common-") && f.ends_with(".tgz")),
                    "helm {major:?}: {} rebuilt {vendored:?}",
                    e.name
                );
            }
            if !e.library {
                let rebuilt =
                    helm.ok(&["template", "nex", chart_dir.to_str().unwrap(), "--namespace", "nex"]);
                assert!(
                    rebuilt.contains("kind: "),
                    "helm template of the rebuilt {} rendered nothing",
                    e.name
                );
                let rendered = helm.ok(&[
                    "template",
                    "nex",
                    &format!("nex/{}", e.name),
                    "--version",
                    &e.version,
                    "--namespace",
                    "nex",
                ]);
                assert!(
                    rendered.contains("kind: "),
                    "helm template of {} from the repo rendered nothing",
                    e.name
                );
            }
        }
    }
    drop(server);

    // OCI: push everything, pull each back by version, same bytes.
    let Some(registry) =
        Registry::start("OCI half of the_catalog_is_served_over_http_and_pushed_to_an_oci_registry")
    else {
        return;
    };
    let refs = dist.path().join("refs.txt");
    xtask()
        .current_dir(&root)
        .args(["publish", "--oci", &oci(&registry), "--plain-http", "--dir"])
        .arg(dist.path())
        .arg("--refs-out")
        .arg(&refs)
        .assert()
        .success()
        .stdout(predicate::str::contains("pushed").count(expected.len()));
    let refs = std::fs::read_to_string(&refs).unwrap();
    assert_eq!(refs.lines().count(), expected.len(), "{refs}");
    assert!(refs.lines().all(|l| l.contains("@sha256:")), "{refs}");
    for major in [Major::V4, Major::V3] {
        let helm = IsolatedHelm::new(major);
        for e in &expected {
            let pulled = tempfile::tempdir().unwrap();
            let reference = format!("{}/{}", oci(&registry), e.name);
            let dest = pulled.path().to_str().unwrap();
            helm.ok(&["pull", &reference, "--version", &e.version, "--plain-http", "--destination", dest]);
            let file = format!("{}-{}.tgz", e.name, e.version);
            assert_eq!(
                sha256(&pulled.path().join(&file)),
                sha256(&dist.path().join(&file)),
                "{file} over OCI"
            );
        }
    }
    // Publishing again changes nothing, and still lists every published digest:
    // a run that failed between push and sign gets its charts signed by the next.
    let refs_again = dist.path().join("refs-again.txt");
    xtask()
        .current_dir(&root)
        .args(["publish", "--oci", &oci(&registry), "--plain-http", "--dir"])
        .arg(dist.path())
        .arg("--refs-out")
        .arg(&refs_again)
        .assert()
        .success()
        .stdout(predicate::str::contains("unchanged").count(expected.len()));
    assert_eq!(std::fs::read_to_string(&refs_again).unwrap(), refs, "the same digests, listed again");
}

#[test]
fn packaging_is_reproducible_and_published_versions_are_immutable() {
    let catalog = copy_fixture("good");
    let root = catalog.path();
    let out = root.join("dist");
    package(root, &out).success().stdout(predicate::str::contains("1 charts packaged (1 new)"));
    let archive = out.join("tiny-0.1.0.tgz");
    let first = sha256(&archive);
    let index = std::fs::read_to_string(out.join("index.yaml")).unwrap();
    assert!(index.contains(&format!("digest: {first}")), "{index}");

    // Same content, new mtimes: same digest, nothing new.
    std::thread::sleep(Duration::from_millis(1100));
    let values = root.join("charts/tiny/values.yaml");
    let text = std::fs::read_to_string(&values).unwrap();
    std::fs::write(&values, &text).unwrap();
    package(root, &out).success().stdout(predicate::str::contains("unchanged"));
    assert_eq!(sha256(&archive), first);
    assert_eq!(std::fs::read_to_string(out.join("index.yaml")).unwrap(), index, "index rewritten");

    // Other content under the same version: refused, nothing written.
    std::fs::write(&values, format!("{text}\n# changed\n")).unwrap();
    package(root, &out).code(1).stderr(
        predicate::str::contains("error[release/immutable]: tiny 0.1.0")
            .and(predicate::str::contains(&first))
            .and(predicate::str::contains("bump `version`")),
    );
    assert_eq!(sha256(&archive), first, "the published archive was replaced");
    assert_eq!(std::fs::read_to_string(out.join("index.yaml")).unwrap(), index);
    let leftovers: Vec<_> = std::fs::read_dir(&out).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 2, "temp files left behind: {leftovers:?}");

    // A version bump is accepted and merged beside the published one.
    let chart_yaml = root.join("charts/tiny/Chart.yaml");
    let meta = std::fs::read_to_string(&chart_yaml).unwrap();
    std::fs::write(&chart_yaml, meta.replace("version: 0.1.0", "version: 0.1.1")).unwrap();
    let new = root.join("new.txt");
    xtask()
        .current_dir(root)
        .args(["package", "--out", "dist", "--list-new", "new.txt"])
        .assert()
        .success()
        .stdout(predicate::str::contains("(1 new)"));
    assert_eq!(std::fs::read_to_string(&new).unwrap(), "tiny-0.1.1.tgz\n");
    let index = std::fs::read_to_string(out.join("index.yaml")).unwrap();
    assert!(index.contains("version: \"0.1.1\"") && index.contains("version: \"0.1.0\""), "{index}");
    assert!(index.find("0.1.1").unwrap() < index.find("0.1.0").unwrap(), "newest first: {index}");
}

#[test]
fn an_index_to_merge_with_is_checked_too() {
    let catalog = copy_fixture("good");
    let root = catalog.path();
    let out = root.join("dist");
    package(root, &out).success();
    // A published index (say, the one on the Pages branch) listing tiny 0.1.0 with another digest.
    let published = root.join("published-index.yaml");
    let index = std::fs::read_to_string(out.join("index.yaml")).unwrap();
    let digest = sha256(&out.join("tiny-0.1.0.tgz"));
    std::fs::write(&published, index.replace(&digest, &"0".repeat(64))).unwrap();
    xtask()
        .current_dir(root)
        .args(["package", "--out", "dist2", "--merge", "published-index.yaml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("tiny 0.1.0").and(predicate::str::contains("0".repeat(64))));
    assert!(!root.join("dist2/tiny-0.1.0.tgz").exists());
}

#[test]
fn charts_can_opt_out_of_publishing() {
    let catalog = copy_fixture("good");
    let root = catalog.path();
    let chart_yaml = root.join("charts/tiny/Chart.yaml");
    let meta = std::fs::read_to_string(&chart_yaml).unwrap();
    assert!(meta.contains("\nannotations:\n"), "the fixture has annotations");
    let opted_out = meta.replace("\nannotations:\n", "\nannotations:\n  nex-charts/publish: \"false\"\n");
    std::fs::write(&chart_yaml, opted_out).unwrap();
    package(root, &root.join("dist"))
        .success()
        .stdout(predicate::str::contains("tiny").and(predicate::str::contains("skipped")));
    assert!(!root.join("dist/tiny-0.1.0.tgz").exists());
}

#[test]
fn a_registry_holding_other_bytes_under_a_version_is_refused() {
    let Some(registry) = Registry::start("a_registry_holding_other_bytes_under_a_version_is_refused") else {
        return;
    };
    let catalog = copy_fixture("good");
    let root = catalog.path();
    package(root, &root.join("dist")).success();
    let publish = |dir: &str| {
        xtask()
            .current_dir(root)
            .args(["publish", "--oci", &oci(&registry), "--plain-http", "--dir", dir])
            .assert()
    };
    publish("dist").success().stdout(predicate::str::contains("pushed"));
    let values = root.join("charts/tiny/values.yaml");
    let text = std::fs::read_to_string(&values).unwrap();
    std::fs::write(&values, format!("{text}\n# changed\n")).unwrap();
    package(root, &root.join("other")).success();
    publish("other").code(1).stderr(
        predicate::str::contains("error[release/immutable]")
            .and(predicate::str::contains("tiny:0.1.0 is already in the registry")),
    );
}

#[test]
fn publish_needs_packaged_charts_and_an_oci_reference() {
    let tmp = tempfile::tempdir().unwrap();
    xtask()
        .current_dir(tmp.path())
        .args(["publish", "--oci", "oci://127.0.0.1:1/charts", "--dir", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cargo xtask package"));
    xtask()
        .current_dir(tmp.path())
        .args(["publish", "--oci", "127.0.0.1:1/charts"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not an OCI reference"));
}

#[test]
fn ct_names_missing_tools_and_exits_2() {
    let empty = tempfile::tempdir().unwrap();
    for (action, tools) in
        [("lint", &["ct", "yamllint", "yamale"][..]), ("install", &["docker", "kind", "kubectl", "ct"])]
    {
        let assert = xtask()
            .current_dir(workspace())
            .env("PATH", empty.path())
            .args(["ct", action])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("missing on PATH"));
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        for t in tools {
            assert!(stderr.contains(&format!("  - {t}: ")), "{action}: {t} not named:\n{stderr}");
        }
    }
}

#[test]
fn ct_install_rejects_an_unpinned_kubernetes_version() {
    // Put a fake of each tool on PATH so the version is what fails.
    let bin = tempfile::tempdir().unwrap();
    for t in ["git", "docker", "kind", "kubectl", "ct"] {
        let p = bin.path().join(t);
        std::fs::write(&p, "#!/bin/sh\nexit 99\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    xtask()
        .current_dir(workspace())
        .env("PATH", bin.path())
        .args(["ct", "install", "--kubernetes-version", "1.20"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no pinned kind node image for Kubernetes 1.20"));
}

#[test]
fn the_registry_test_server_really_serves() {
    // Guards the HTTP helper itself: a 404 for what is not there, bytes for what is.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("index.yaml"), "apiVersion: v1\n").unwrap();
    let server = StaticServer::start(tmp.path().to_path_buf());
    let get = |path: &str| {
        let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, server.port)).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body
    };
    assert!(get("/index.yaml").ends_with("apiVersion: v1\n"));
    assert!(get("/missing.tgz").starts_with("HTTP/1.1 404"));
    assert!(get("/../etc/passwd").starts_with("HTTP/1.1 404"));
}

#[test]
fn an_unreachable_registry_is_a_tooling_failure_not_a_push() {
    let catalog = copy_fixture("good");
    let root = catalog.path();
    package(root, &root.join("dist")).success();
    // Nothing listens on a port just freed.
    let reference = format!("oci://127.0.0.1:{}/charts", free_port());
    xtask()
        .current_dir(root)
        .args(["publish", "--oci", &reference, "--plain-http"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("error[release/publish]").and(predicate::str::contains("refused")));
}

#[test]
fn release_commands_have_help() {
    for args in [
        &["package"][..],
        &["publish"],
        &["ct", "lint"],
        &["ct", "install"],
        &["hooks", "install"],
        &["release", "doctor"],
    ] {
        xtask()
            .args(args)
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage: cargo xtask"));
    }
}

#[test]
fn hooks_install_writes_a_pre_commit_hook_and_keeps_a_foreign_one() {
    let repo = tempfile::tempdir().unwrap();
    let git = std::process::Command::new("git").args(["init", "-q"]).current_dir(repo.path()).status();
    assert!(git.is_ok_and(|s| s.success()), "git init");
    let hook = repo.path().join(".git/hooks/pre-commit");
    xtask().current_dir(repo.path()).args(["hooks", "install"]).assert().success();
    let script = std::fs::read_to_string(&hook).unwrap();
    assert!(script.starts_with("#!/bin/sh\n") && script.contains("cargo xtask lint --changed"), "{script}");
    xtask()
        .current_dir(repo.path())
        .args(["hooks", "install"])
        .assert()
        .success()
        .stdout(predicate::str::contains("up to date"));
    std::fs::write(&hook, "#!/bin/sh\nexec other-tool\n").unwrap();
    xtask()
        .current_dir(repo.path())
        .args(["hooks", "install"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--force"));
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), "#!/bin/sh\nexec other-tool\n");
    xtask().current_dir(repo.path()).args(["hooks", "install", "--force"]).assert().success();
    assert!(std::fs::read_to_string(&hook).unwrap().contains("cargo xtask lint --changed"));
}

#[test]
fn ct_yaml_points_ct_at_the_files_beside_it() {
    let root = workspace();
    let text = std::fs::read_to_string(root.join("ct.yaml")).unwrap();
    for (key, file) in [("lint-conf", "lintconf.yaml"), ("chart-yaml-schema", "chart_schema.yaml")] {
        assert!(text.contains(&format!("\n{key}: {file}\n")), "ct.yaml lacks `{key}: {file}`");
        assert!(root.join(file).is_file(), "{file} is missing beside ct.yaml");
    }
}

/// Executable stand-ins for the cluster tools: each records its arguments in
/// `calls.log` and exits with the given code. They stand for tools that cannot
/// run here (no container runtime), to check the failure handling around them.
fn stand_ins(tools: &[(&str, i32)]) -> tempfile::TempDir {
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("calls.log");
    for (name, code) in tools {
        let p = bin.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\necho \"{name} $*\" >> '{}'\nexit {code}\n", log.display()))
            .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    bin
}

fn ct_install(bin: &Path, artifacts: &Path) -> assert_cmd::assert::Assert {
    let path = std::env::join_paths([bin, Path::new("/bin"), Path::new("/usr/bin")]).unwrap();
    xtask()
        .current_dir(workspace())
        .env("PATH", path)
        .args(["ct", "install", "--kubernetes-version", "1.36", "--cluster-name", "nex-test", "--artifacts"])
        .arg(artifacts)
        .assert()
}

#[test]
fn ct_install_without_a_docker_daemon_exits_2_and_creates_nothing() {
    let bin = stand_ins(&[("git", 0), ("docker", 1), ("kind", 0), ("kubectl", 0), ("ct", 0)]);
    let artifacts = tempfile::tempdir().unwrap();
    ct_install(bin.path(), artifacts.path())
        .code(2)
        .stderr(predicate::str::contains("daemon does not answer"));
    let calls = std::fs::read_to_string(bin.path().join("calls.log")).unwrap();
    assert_eq!(calls, "docker info\n", "nothing but `docker info` may run");
}

#[test]
fn ct_install_deletes_the_cluster_even_when_creating_it_fails() {
    let bin = stand_ins(&[("git", 0), ("docker", 0), ("kind", 1), ("kubectl", 0), ("ct", 0)]);
    let artifacts = tempfile::tempdir().unwrap();
    ct_install(bin.path(), artifacts.path()).code(2).stderr(predicate::str::contains("kind create cluster"));
    let calls = std::fs::read_to_string(bin.path().join("calls.log")).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines.len(), 3, "{calls}");
    assert!(
        lines[1].starts_with("kind create cluster --name nex-test --image kindest/node:v1.36.1@sha256:"),
        "{calls}"
    );
    assert!(lines[2].starts_with("kind delete cluster --name nex-test --kubeconfig "), "{calls}");
    assert!(!calls.contains("ct install"), "{calls}");
}

#[test]
fn ct_install_labels_the_namespace_and_applies_the_fixtures_before_ct() {
    let bin = stand_ins(&[("git", 0), ("docker", 0), ("kind", 0), ("kubectl", 0), ("ct", 0)]);
    let artifacts = tempfile::tempdir().unwrap();
    ct_install(bin.path(), artifacts.path()).code(0);
    let calls = std::fs::read_to_string(bin.path().join("calls.log")).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines[2], "kubectl apply -f -", "{calls}");
    assert_eq!(lines[3], "kubectl apply --namespace nex -f -", "{calls}");
    assert!(lines[4].starts_with("ct install --config "), "{calls}");
}

#[test]
fn ct_install_skips_charts_whose_kube_version_excludes_the_cluster() {
    // adguard-home claims >=1.26: on the 1.25 cluster helm would refuse it.
    let meta = std::fs::read_to_string(workspace().join("charts/adguard-home/Chart.yaml")).unwrap();
    assert!(meta.contains("kubeVersion: \">=1.26.0-0\""), "the fixture premise changed");
    let bin = stand_ins(&[("git", 0), ("docker", 0), ("kind", 0), ("kubectl", 0), ("ct", 0)]);
    let artifacts = tempfile::tempdir().unwrap();
    let path = std::env::join_paths([bin.path(), Path::new("/bin"), Path::new("/usr/bin")]).unwrap();
    xtask()
        .current_dir(workspace())
        .env("PATH", path)
        .args([
            "ct",
            "install",
            "--kubernetes-version",
            "1.25",
            "--charts",
            "charts/adguard-home",
            "--artifacts",
        ])
        .arg(artifacts.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "skipped charts/adguard-home: kubeVersion \">=1.26.0-0\" excludes Kubernetes 1.25.16",
        ));
    let calls = std::fs::read_to_string(bin.path().join("calls.log")).unwrap_or_default();
    assert!(!calls.contains("kind create"), "no cluster for nothing to install: {calls}");
}

/// gpg with a private home holding one throwaway RSA signing key (Helm 3's
/// OpenPGP library reads RSA keys; no passphrase).
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn new(test: &str) -> Option<Self> {
        support::system_tool("gpg", "gnupg", "the OpenPGP signer `package --sign` runs", test)?;
        let gpg = Self { home: tempfile::Builder::new().prefix("nexgpg").tempdir_in("/tmp").unwrap() };
        gpg.ok(&[
            "--passphrase",
            "",
            "--quick-gen-key",
            "nex-charts test <test@nex.invalid>",
            "rsa2048",
            "sign",
            "never",
        ]);
        Some(gpg)
    }

    fn cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new("gpg");
        c.arg("--batch").env("GNUPGHOME", self.home.path());
        c
    }

    fn ok(&self, args: &[&str]) -> Vec<u8> {
        let out = self.cmd().args(args).output().unwrap();
        assert!(out.status.success(), "gpg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    /// The signing key's fingerprint.
    fn fingerprint(&self) -> String {
        let out = String::from_utf8(self.ok(&["--with-colons", "--list-secret-keys"])).unwrap();
        out.lines().find(|l| l.starts_with("fpr:")).unwrap().split(':').nth(9).unwrap().to_owned()
    }

    /// The public key as a legacy keyring file, what `helm verify --keyring` reads.
    fn keyring(&self) -> PathBuf {
        let path = self.home.path().join("pubring.gpg");
        std::fs::write(&path, self.ok(&["--export"])).unwrap();
        path
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        // The agent gpg started for this home goes with it.
        let _ = std::process::Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.home.path())
            .output();
    }
}

#[test]
fn packaged_charts_carry_provenance_that_helm_verifies() {
    let Some(gpg) = Gpg::new("packaged_charts_carry_provenance_that_helm_verifies") else { return };
    let catalog = copy_fixture("good");
    let root = catalog.path();
    let dist = root.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    let server = StaticServer::start(dist.clone());
    // A version signed now must name its key for Artifact Hub and users: nothing is
    // written until its Chart.yaml does (artifacthub.io/signKey, fingerprint and url).
    let fingerprint = gpg.fingerprint();
    let unnamed = xtask()
        .current_dir(root)
        .env("GNUPGHOME", gpg.home.path())
        .args(["package", "--url", &server.url(), "--sign", "nex-charts test", "--out"])
        .arg(&dist)
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&unnamed.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!("signed with key {fingerprint}, but Chart.yaml names no key")),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&dist).unwrap().count(), 0, "nothing is written");
    let chart_yaml = root.join("charts/tiny/Chart.yaml");
    let meta = std::fs::read_to_string(&chart_yaml).unwrap();
    let key = format!(
        "\nannotations:\n  artifacthub.io/signKey: |\n    fingerprint: {fingerprint}\n    url: {}/pubkey.asc\n",
        server.url()
    );
    std::fs::write(&chart_yaml, meta.replacen("\nannotations:\n", &key, 1)).unwrap();
    // Named, it must be signed: unsigned packaging of it is refused the same way.
    let unsigned = tempfile::tempdir().unwrap();
    let out = xtask().current_dir(root).args(["package", "--out"]).arg(unsigned.path()).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("names a signing key (artifacthub.io/signKey) but the chart is packaged unsigned"),
        "{stderr}"
    );
    let sign = |assert_new: bool| {
        let out = xtask()
            .current_dir(root)
            .env("GNUPGHOME", gpg.home.path())
            .args(["package", "--url", &server.url(), "--sign", "nex-charts test", "--out"])
            .arg(&dist)
            .assert()
            .success();
        if assert_new {
            out.stdout(predicate::str::contains("new"));
        }
    };
    sign(true);
    let archives: Vec<PathBuf> = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tgz"))
        .collect();
    assert!(!archives.is_empty());
    let keyring = gpg.keyring();
    let keyring = keyring.to_str().unwrap();
    for major in [Major::V4, Major::V3] {
        let helm = IsolatedHelm::new(major);
        helm.ok(&["repo", "add", "nex", &server.url()]);
        for archive in &archives {
            let prov = PathBuf::from(format!("{}.prov", archive.display()));
            assert!(prov.is_file(), "{} has no provenance", archive.display());
            let verified = helm.ok(&["verify", archive.to_str().unwrap(), "--keyring", keyring]);
            assert!(verified.contains("nex-charts test"), "helm {major:?} verify: {verified}");
            // From the repository, as a user would: the .prov is fetched beside the archive.
            let name = archive.file_stem().unwrap().to_str().unwrap();
            let (chart, version) = name.rsplit_once('-').unwrap();
            let pulled = tempfile::tempdir().unwrap();
            helm.ok(&[
                "pull",
                &format!("nex/{chart}"),
                "--version",
                version,
                "--verify",
                "--keyring",
                keyring,
                "--destination",
                pulled.path().to_str().unwrap(),
            ]);
        }
        // Other bytes under the signed name fail verification.
        let tampered = tempfile::tempdir().unwrap();
        let copy = tampered.path().join(archives[0].file_name().unwrap());
        let mut bytes = std::fs::read(&archives[0]).unwrap();
        bytes.extend_from_slice(&[0; 16]);
        std::fs::write(&copy, bytes).unwrap();
        std::fs::copy(format!("{}.prov", archives[0].display()), format!("{}.prov", copy.display())).unwrap();
        let out = helm.cmd(&["verify", copy.to_str().unwrap(), "--keyring", keyring]).output().unwrap();
        assert!(!out.status.success(), "helm {major:?} verified a tampered archive");
    }
    // Packaging again leaves unchanged archives and their signatures alone.
    let before = std::fs::read(format!("{}.prov", archives[0].display())).unwrap();
    sign(false);
    assert_eq!(std::fs::read(format!("{}.prov", archives[0].display())).unwrap(), before);
}
