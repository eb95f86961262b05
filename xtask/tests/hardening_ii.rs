//! Hardening II (issue 16): faults a hostile contributor can cause — forged
//! docs markers are in tests/docs.rs — each with the test that would have
//! caught it: stale results through symbolic links, hangs on FIFOs, unbounded
//! reads and alias expansion, policy bypass through `kind: List`, helm reaching
//! the network, wrong blame on a read-only checkout, unsafe output, leftovers,
//! silent downgrades and unbounded resources.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod support;
use support::copy_dir;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn xtask(dir: &Path) -> Command {
    let mut cmd = support::xtask_in(dir);
    cmd.env_remove("NEX_HELM_TIMEOUT").env_remove("RAYON_NUM_THREADS");
    cmd
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn of(o: std::process::Output) -> Self {
        let out = Outcome {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        };
        assert!(!out.stderr.contains("panicked"), "panic: {}", out.stderr);
        assert!((0..=2).contains(&out.code), "exit {}: {}\n{}", out.code, out.stdout, out.stderr);
        out
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", self.stdout, self.stderr))
    }

    /// Findings of one chart: (rule, file, message).
    fn findings(&self, chart: &str) -> Vec<(String, String, String)> {
        self.json()["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["chart"] == chart && d["allowed"].is_null())
            .map(|d| {
                (
                    d["rule"].as_str().unwrap_or_default().to_owned(),
                    d["location"]["file"].as_str().unwrap_or_default().to_owned(),
                    d["message"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    fn has(&self, chart: &str, rule: &str, file_end: &str) -> bool {
        self.findings(chart).iter().any(|(r, f, _)| r == rule && f.ends_with(file_end))
    }
}

/// `lint --format json` over a catalog with its own cache, killed after `limit`.
fn lint_json(cat: &Path, cache: &Path, limit: Duration) -> Outcome {
    let mut cmd = xtask(cat);
    cmd.args(["lint", "--format", "json"]).env("NEX_CACHE_DIR", cache).timeout(limit);
    Outcome::of(cmd.output().unwrap())
}

/// Peak resident memory (KiB) of a command and every process it waited for, as
/// GNU time's `%M` reports it (the rusage `wait4` returns: the child's own peak or
/// that of a descendant it reaped, helm runs included), without needing GNU time.
fn peak_rss_kib(cat: &Path, cache: &Path, args: &[&str]) -> (u64, Outcome) {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    #[allow(clippy::zombie_processes, reason = "reaped by wait4 below, which also returns its rusage")]
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("xtask"))
        .args(args)
        .current_dir(cat)
        .env("NEX_CACHE_DIR", cache)
        .env_remove("HELM_BIN")
        .env_remove("NEX_HELM")
        .env_remove("NEX_NO_CACHE")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 reaps our own child `pid`
    // (never waited for through `child`) and fills both out-parameters.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
    let out = std::process::Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    };
    // Linux reports ru_maxrss in KiB; a Rust binary alone takes megabytes.
    let kib = u64::try_from(usage.ru_maxrss).unwrap();
    assert!(kib > 1024, "implausible peak RSS {kib} KiB");
    (kib, Outcome::of(out))
}

const RSS_LIMIT_KIB: u64 = 300 * 1024;

#[test]
fn linked_files_are_fingerprinted_by_target_and_links_leaving_the_chart_are_findings() {
    let cat = support::one_chart(&fixtures().join("hardening"), "linked");
    let chart = cat.path().join("charts/linked");
    let shared = cat.path().join("shared");
    std::fs::create_dir_all(shared.join("templates")).unwrap();
    std::fs::create_dir_all(chart.join("ci")).unwrap();
    std::fs::write(shared.join("x-values.yaml"), "replicas: 2\n").unwrap();
    std::os::unix::fs::symlink(shared.join("x-values.yaml"), chart.join("ci/x-values.yaml")).unwrap();
    let templates = chart.join("templates");
    std::fs::rename(&templates, shared.join("templates-real")).unwrap();
    std::os::unix::fs::symlink(shared.join("templates-real"), &templates).unwrap();
    let cache = support::private_cache(&fixtures().join("hardening"));
    let first = lint_json(cat.path(), cache.path(), Duration::from_secs(300));
    assert!(first.has("linked", "file/outside-link", "ci/x-values.yaml"), "{:#?}", first.findings("linked"));
    assert!(first.has("linked", "file/outside-link", "linked/templates"), "{:#?}", first.findings("linked"));
    assert!(
        !first.findings("linked").iter().any(|(r, _, _)| r == "values/schema" || r.starts_with("render/"))
    );
    // Edit only the targets: the cached result must not be served.
    std::fs::write(shared.join("x-values.yaml"), "replicas: many\n").unwrap();
    let second = lint_json(cat.path(), cache.path(), Duration::from_secs(300));
    assert!(second.has("linked", "values/schema", "ci/x-values.yaml"), "{:#?}", second.findings("linked"));
    std::fs::write(shared.join("x-values.yaml"), "replicas: 2\n").unwrap();
    std::fs::write(shared.join("templates-real/broken.yaml"), "{{ nope }}\n").unwrap();
    let third = lint_json(cat.path(), cache.path(), Duration::from_secs(300));
    assert!(
        third.findings("linked").iter().any(|(r, _, _)| r == "helm/lint" || r.starts_with("render/")),
        "{:#?}",
        third.findings("linked")
    );
}

#[test]
fn fifos_and_devices_are_findings_not_hangs() {
    let cat = support::one_chart(&fixtures().join("hardening"), "special");
    let chart = cat.path().join("charts/special");
    std::fs::remove_file(chart.join("values.yaml")).unwrap();
    let made = std::process::Command::new("mkfifo").arg(chart.join("values.yaml")).status().unwrap();
    assert!(made.success());
    std::fs::remove_file(chart.join("values.schema.json")).unwrap();
    std::os::unix::fs::symlink("/dev/stdin", chart.join("values.schema.json")).unwrap();
    std::fs::create_dir_all(chart.join("ci")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", chart.join("ci/zero-values.yaml")).unwrap();
    let cache = support::private_cache(&fixtures().join("hardening"));
    // A hang would be killed by the timeout and fail the exit-code check.
    let started = std::time::Instant::now();
    let (kib, out) = peak_rss_kib(cat.path(), cache.path(), &["lint", "--format", "json"]);
    assert!(started.elapsed() < Duration::from_secs(120), "took {:?}", started.elapsed());
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    for file in ["values.yaml", "values.schema.json", "ci/zero-values.yaml"] {
        assert!(out.has("special", "file/not-regular", file), "{file}: {:#?}", out.findings("special"));
    }
    assert!(kib < RSS_LIMIT_KIB, "peak RSS {kib} KiB");
    // docs refuses them the same way, without blocking.
    let mut cmd = xtask(cat.path());
    cmd.args(["docs", "--check"]).timeout(Duration::from_secs(60));
    let docs = Outcome::of(cmd.output().unwrap());
    assert_eq!(docs.code, 1, "{}", docs.stderr);
    assert!(docs.stderr.contains("not a regular file"), "{}", docs.stderr);
}

#[test]
fn alias_expansion_is_bounded_in_bytes_and_memory() {
    let cat = support::one_chart(&fixtures().join("hardening"), "bombs");
    let chart = cat.path().join("charts/bombs");
    std::fs::create_dir_all(chart.join("ci")).unwrap();
    // One 100 KB string aliased 27 000 times (a 200 KB file, 2.7 GB expanded).
    let mut bomb = format!("big: &s \"{}\"\nrefs: [", "x".repeat(100_000));
    for _ in 0..27_000 {
        bomb.push_str("*s, ");
    }
    bomb.push_str("]\n");
    std::fs::write(chart.join("ci/bomb-values.yaml"), &bomb).unwrap();
    // A 20 KB artifacthub.io/images annotation that multiplies nodes.
    let mut images = String::from("- &a0 [x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        images.push_str(&format!("- &a{i} [{}]\n", vec![format!("*a{p}"); 16].join(", ")));
    }
    let annotation: String = images.lines().map(|l| format!("    {l}\n")).collect();
    let chart_yaml = chart.join("Chart.yaml");
    let text = std::fs::read_to_string(&chart_yaml).unwrap();
    let old =
        "  artifacthub.io/images: |\n    - name: busybox\n      image: docker.io/library/busybox:1.37\n";
    assert!(text.contains(old));
    let text = text.replace(old, &format!("  artifacthub.io/images: |\n{annotation}"));
    std::fs::write(&chart_yaml, text).unwrap();
    let cache = support::private_cache(&fixtures().join("hardening"));
    let (kib, out) = peak_rss_kib(cat.path(), cache.path(), &["lint", "--format", "json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let findings = out.findings("bombs");
    assert!(
        findings.iter().any(|(r, f, m)| r == "yaml/syntax"
            && f.ends_with("bomb-values.yaml")
            && m.contains("alias expansion")),
        "{findings:#?}"
    );
    assert!(
        findings.iter().any(|(r, _, m)| r == "chart/images" && m.contains("alias expansion")),
        "{findings:#?}"
    );
    assert!(kib < RSS_LIMIT_KIB, "peak RSS {kib} KiB");
}

#[test]
fn objects_inside_a_list_are_checked_and_duplicates_are_errors() {
    let cat = support::one_chart(&fixtures().join("hardening"), "listed");
    let chart = cat.path().join("charts/listed");
    std::fs::write(
        chart.join("templates/list.yaml"),
        "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata:\n      name: {{ .Release.Name }}-root\n    spec:\n      hostNetwork: true\n      containers:\n        - name: root\n          image: docker.io/library/busybox:1.37\n          securityContext:\n            privileged: true\n            runAsUser: 0\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: {{ .Release.Name }}-{{ .Chart.Name }}\n",
    )
    .unwrap();
    let cache = support::private_cache(&fixtures().join("hardening"));
    let out = lint_json(cat.path(), cache.path(), Duration::from_secs(300));
    let findings = out.findings("listed");
    let pss: Vec<_> = findings
        .iter()
        .filter(|(r, f, _)| r.starts_with("pss/") && f.ends_with("templates/list.yaml"))
        .collect();
    assert!(pss.iter().any(|(_, _, m)| m.contains("hostNetwork")), "{findings:#?}");
    assert!(pss.iter().any(|(_, _, m)| m.contains("privileged")), "{findings:#?}");
    // The List's ConfigMap has the name of templates/configmap.yaml's.
    assert!(
        findings.iter().any(|(r, _, m)| r == "render/duplicate-object" && m.contains("ConfigMap/nex-listed")),
        "{findings:#?}"
    );
}

#[test]
fn lint_never_reaches_the_network_through_helm() {
    // A server that accepts and never answers: helm would wait on it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/schema.json", listener.local_addr().unwrap());
    let cat = support::one_chart(&fixtures().join("hardening"), "remote-ref");
    let schema_file = cat.path().join("charts/remote-ref/values.schema.json");
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(&schema_file).unwrap()).unwrap();
    schema["properties"]["replicas"] = serde_json::json!({"description": "Pods.", "$ref": url});
    std::fs::write(&schema_file, serde_json::to_string_pretty(&schema).unwrap()).unwrap();
    let cache = support::private_cache(&fixtures().join("hardening"));
    let mut cmd = xtask(cat.path());
    cmd.args(["lint", "--format", "json"])
        .env("NEX_CACHE_DIR", cache.path())
        .env("NEX_HELM_TIMEOUT", "20")
        .timeout(Duration::from_secs(300));
    let out = Outcome::of(cmd.output().unwrap());
    let findings = out.findings("remote-ref");
    assert!(findings.iter().any(|(r, _, _)| r == "schema/remote-ref"), "{findings:#?}");
    assert!(!findings.iter().any(|(_, _, m)| m.contains("did not finish")), "{findings:#?}");
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("something connected to the schema's server: {other:?}"),
    }
}

/// Adds a local library chart `lib` to the catalog and makes `chart` depend on it.
fn with_local_library(cat: &Path, chart: &str) {
    let lib = cat.join("charts/lib");
    std::fs::create_dir_all(lib.join("templates")).unwrap();
    std::fs::write(
        lib.join("Chart.yaml"),
        "apiVersion: v2\nname: lib\ndescription: A fixture library.\ntype: library\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(lib.join("templates/_h.tpl"), "{{- define \"lib.x\" -}}x{{- end -}}\n").unwrap();
    let chart_yaml = cat.join("charts").join(chart).join("Chart.yaml");
    let text = std::fs::read_to_string(&chart_yaml).unwrap();
    let text = text.replace(
        "annotations:",
        "dependencies:\n  - name: lib\n    version: 0.1.0\n    repository: file://../lib\nannotations:",
    );
    std::fs::write(&chart_yaml, text).unwrap();
}

#[test]
fn a_read_only_checkout_is_a_tooling_failure_naming_the_path() {
    let cat = support::one_chart(&fixtures().join("hardening"), "frozen");
    with_local_library(cat.path(), "frozen");
    let cache = support::private_cache(&fixtures().join("hardening"));
    let out = support::read_only(
        &[cat.path()],
        cat.path(),
        &["lint", "--format", "json"],
        &[("NEX_CACHE_DIR", cache.path())],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}\n{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        stderr.contains("cannot write charts/frozen") && stderr.contains("Read-only file system"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("helm/lint"), "findings blamed the chart");
    // Writable, the same catalog vendors its dependency and lints.
    lint_json(cat.path(), cache.path(), Duration::from_secs(300));
    assert!(cat.path().join("charts/frozen/charts/lib-0.1.0.tgz").is_file());
}

#[test]
fn a_huge_thread_count_is_capped_not_a_panic() {
    let cat = support::one_chart(&fixtures().join("hardening"), "threads");
    let cache = support::private_cache(&fixtures().join("hardening"));
    let mut cmd = xtask(cat.path());
    cmd.args(["lint", "--format", "json"])
        .env("NEX_CACHE_DIR", cache.path())
        .env("RAYON_NUM_THREADS", "20000")
        .timeout(Duration::from_secs(300));
    let out = Outcome::of(cmd.output().unwrap());
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

#[test]
fn edited_kube_schema_dir_schemas_are_not_served_from_the_cache() {
    let cat = support::one_chart(&fixtures().join("hardening"), "schema-dir");
    let cache = support::private_cache(&fixtures().join("hardening"));
    // Render once through the usual cache, so the schemas are extracted.
    lint_json(cat.path(), cache.path(), Duration::from_secs(300));
    let source = std::fs::read_dir(cache.path().join("kube-schemas"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("v1.37.0-local-strict").is_dir())
        .expect("extracted schemas");
    // Links to every schema, but a private copy of the ConfigMap's.
    let dir = tempfile::tempdir().unwrap();
    for version in std::fs::read_dir(&source).unwrap().flatten().filter(|e| e.path().is_dir()) {
        let to = dir.path().join(version.file_name());
        std::fs::create_dir_all(&to).unwrap();
        for f in std::fs::read_dir(version.path()).unwrap().flatten() {
            if f.file_name() == "configmap-v1.json" {
                std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
            } else {
                std::os::unix::fs::symlink(f.path(), to.join(f.file_name())).unwrap();
            }
        }
    }
    let run = || {
        let mut cmd = xtask(cat.path());
        cmd.args(["lint", "--format", "json"])
            .env("NEX_CACHE_DIR", cache.path())
            .env("KUBE_SCHEMA_DIR", dir.path())
            .timeout(Duration::from_secs(300));
        Outcome::of(cmd.output().unwrap())
    };
    let first = run();
    assert!(
        !first.findings("schema-dir").iter().any(|(r, _, _)| r.starts_with("kube/")),
        "{:#?}",
        first.findings("schema-dir")
    );
    for version in std::fs::read_dir(dir.path()).unwrap().flatten() {
        let file = version.path().join("configmap-v1.json");
        // Schemas are extracted as renders need them: a version no render used has none.
        if !file.exists() {
            continue;
        }
        let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        schema["required"] = serde_json::json!(["nexMustHave"]);
        std::fs::write(&file, schema.to_string()).unwrap();
    }
    let second = run();
    assert!(
        second
            .findings("schema-dir")
            .iter()
            .any(|(r, _, m)| r.starts_with("kube/") && m.contains("nexMustHave")),
        "{:#?}",
        second.findings("schema-dir")
    );
}

#[test]
fn cache_prune_bounds_the_results_cache() {
    let cat = support::one_chart(&fixtures().join("hardening"), "pruned");
    let cache = support::private_cache(&fixtures().join("hardening"));
    let clean = lint_json(cat.path(), cache.path(), Duration::from_secs(300));
    let size = || -> u64 {
        walkdir::WalkDir::new(cache.path().join("results"))
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .map(|e| e.metadata().unwrap().len())
            .sum()
    };
    let before = size();
    assert!(before > 0);
    let mut cmd = xtask(cat.path());
    cmd.args(["cache", "prune", "--max-bytes", &(before / 2).to_string()]).env("NEX_CACHE_DIR", cache.path());
    let out = Outcome::of(cmd.output().unwrap());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("removed "), "{}", out.stdout);
    assert!(size() <= before / 2, "{} > {}", size(), before / 2);
    let mut cmd = xtask(cat.path());
    cmd.args(["cache", "prune", "--max-bytes", "0"]).env("NEX_CACHE_DIR", cache.path());
    Outcome::of(cmd.output().unwrap());
    assert_eq!(size(), 0);
    // The next run computes what it needs again, with the same findings.
    let again = lint_json(cat.path(), cache.path(), Duration::from_secs(300));
    assert_eq!(again.json()["diagnostics"], clean.json()["diagnostics"]);
}

#[test]
fn leftovers_commas_and_outside_chart_dirs_are_refused_not_silent() {
    let cat = support::one_chart(&fixtures().join("hardening"), "tidy");
    let chart = cat.path().join("charts/tidy");
    // What a killed `cargo xtask new` leaves: a complete chart in a temp folder.
    copy_dir(&chart, &cat.path().join("charts/.xtask-new.AbC123"));
    std::fs::create_dir_all(chart.join("ci")).unwrap();
    std::fs::write(chart.join("ci/a,b-values.yaml"), "replicas: 2\n").unwrap();
    let cache = support::private_cache(&fixtures().join("hardening"));
    let out = lint_json(cat.path(), cache.path(), Duration::from_secs(300));
    assert_eq!(out.json()["charts"], serde_json::json!(["tidy"]), "the leftover was linted as a chart");
    let findings = out.findings("tidy");
    assert!(
        findings.iter().any(|(r, f, m)| r == "ct/values-file-name"
            && f.ends_with("ci/a,b-values.yaml")
            && m.contains("comma")),
        "{findings:#?}"
    );
    // helm never saw `--values .../a,b-values.yaml` (it would name `a` as a missing file).
    assert!(!findings.iter().any(|(r, _, _)| r == "helm/lint" || r.starts_with("render/")), "{findings:#?}");

    for dirs in ["[/etc]", "[../..]"] {
        std::fs::write(cat.path().join("ct.yaml"), format!("chart-dirs: {dirs}\n")).unwrap();
        let mut cmd = xtask(cat.path());
        cmd.args(["lint"]).env("NEX_CACHE_DIR", cache.path());
        let out = Outcome::of(cmd.output().unwrap());
        assert_eq!(out.code, 2, "{dirs}: {}\n{}", out.stdout, out.stderr);
        assert!(out.stderr.contains("outside the repository"), "{}", out.stderr);
    }
}

#[test]
fn package_merge_with_a_missing_file_or_a_url_fails() {
    let cat = support::one_chart(&fixtures().join("hardening"), "merged");
    for merge in ["nowhere/index.yaml", "https://example.org/index.yaml"] {
        let mut cmd = xtask(cat.path());
        cmd.args(["package", "--out", "dist", "--merge", merge]);
        let out = Outcome::of(cmd.output().unwrap());
        assert_eq!(out.code, 2, "{merge}: {}\n{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(&format!("--merge {merge}")), "{}", out.stderr);
        assert!(!cat.path().join("dist/index.yaml").exists());
    }
}
