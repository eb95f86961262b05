//! Hardening III (issue 24), the bounds half: what a hostile input costs is
//! bounded (findings, code frames, stack values, tool output, registry
//! replies, stack rules), credentials stay with their host, and the small
//! surfaces say what happened (a closed stdout, rules off, a remote `$ref`,
//! an option-like `since`, a digest nobody verifies). The file-access half is
//! `hardening_iii.rs`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod support;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
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
        out
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", self.stdout, self.stderr))
    }

    /// Findings: (rule, file:line:col, message).
    fn findings(&self) -> Vec<(String, String, String)> {
        self.json()["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                let l = &d["location"];
                (
                    d["rule"].as_str().unwrap_or_default().to_owned(),
                    format!(
                        "{}:{}:{}",
                        l["file"].as_str().unwrap_or(""),
                        l["line"].as_u64().unwrap_or(0),
                        l["column"].as_u64().unwrap_or(0)
                    ),
                    d["message"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

/// Runs the harness in `dir` with its own results cache.
fn run(dir: &Path, cache: &Path, args: &[&str]) -> Outcome {
    let mut cmd = support::xtask_in(dir);
    cmd.args(args)
        .env("NEX_CACHE_DIR", cache)
        .env_remove("NEX_HELM_TIMEOUT")
        .env_remove("RAYON_NUM_THREADS")
        .timeout(Duration::from_secs(600));
    Outcome::of(cmd.output().unwrap())
}

/// Peak resident memory (KiB) of a run and every process it waited for (GNU time's `%M`).
/// `None` (a loud skip; a failure where CI is set) without GNU time.
fn peak_rss_kib(dir: &Path, cache: &Path, args: &[&str], test: &str) -> Option<(u64, Outcome)> {
    let time = support::system_tool("time", "time", "GNU time, which measures peak memory", test)?;
    let report = tempfile::NamedTempFile::new().unwrap();
    let out = std::process::Command::new(time)
        .arg("-o")
        .arg(report.path())
        .args(["-f", "%M"])
        .arg(assert_cmd::cargo::cargo_bin("xtask"))
        .args(args)
        .current_dir(dir)
        .env("NEX_CACHE_DIR", cache)
        .env_remove("HELM_BIN")
        .env_remove("NEX_HELM")
        .env_remove("NEX_NO_CACHE")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = std::fs::read_to_string(report.path()).unwrap();
    let kib = text.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or_else(|| panic!("{text}"));
    Some((kib, Outcome::of(out)))
}

const RSS_LIMIT_KIB: u64 = 300 * 1024;

// ------------------------------------------------------------------ item 4

/// One 100 kB string aliased 27 000 times with no space after each comma:
/// besides the expansion error, 27 000 `yaml/commas` findings on one 200 kB
/// line. The human report drew a frame of that line for each (3.3 GB).
#[test]
fn a_flood_of_findings_on_one_long_line_is_reported_in_bounded_memory() {
    let cat = support::one_chart(&fixtures().join("hardening"), "bombs");
    let chart = cat.path().join("charts/bombs");
    std::fs::create_dir_all(chart.join("ci")).unwrap();
    let bomb = format!("big: &s \"{}\"\nrefs: [{}]\n", "x".repeat(100_000), "*s,".repeat(27_000));
    std::fs::write(chart.join("ci/bomb-values.yaml"), &bomb).unwrap();
    let cache = support::private_cache(&fixtures().join("hardening"));
    let Some((kib, out)) = peak_rss_kib(
        cat.path(),
        cache.path(),
        &["lint"],
        "a_flood_of_findings_on_one_long_line_is_reported_in_bounded_memory",
    ) else {
        return;
    };
    assert_eq!(out.code, 1, "{}\n{}", &out.stdout[..out.stdout.len().min(2000)], out.stderr);
    assert!(kib < RSS_LIMIT_KIB, "peak RSS {kib} KiB");
    assert!(out.stdout.len() < 64 * 1024, "{} bytes of report", out.stdout.len());
    assert!(out.stdout.contains("error[yaml/syntax]"), "{}", out.stdout);
    assert!(
        out.stdout.contains("… and 26980 more [yaml/commas] findings in charts/bombs/ci/bomb-values.yaml"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("27001 errors, 0 warnings in 1 chart\n"), "{}", out.stdout);
    // Every frame is a window of the line, not the line.
    assert!(out.stdout.lines().all(|l| l.chars().count() < 400), "a frame holds the whole line");
}

/// A repository with one chart (`app`, a ConfigMap holding `.Values.extra`
/// through `tpl`) and one stack `t` deploying it with `values`.
fn stack_repo(values: &[(&str, &[u8])], template: Option<&str>) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(root.join("ct.yaml"), "chart-dirs:\n  - charts\n").unwrap();
    let chart = root.join("charts/app");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: app\nversion: 0.1.0\n").unwrap();
    std::fs::write(chart.join("values.yaml"), "extra: \"\"\n").unwrap();
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  extra: {{ tpl (toString .Values.extra) . | quote }}\n";
    std::fs::write(chart.join("templates/cm.yaml"), template.unwrap_or(cm)).unwrap();
    let stack = root.join("stacks/t");
    std::fs::create_dir_all(stack.join("values")).unwrap();
    let names: Vec<String> = values.iter().map(|(n, _)| format!("values/{n}")).collect();
    std::fs::write(
        stack.join("stack.yaml"),
        format!(
            "name: t\nnodes:\n  - name: n\n    arch: arm64\n    cpu: 4\n    memory: 8Gi\nreleases:\n  - name: app\n    chart: ../../charts/app\n    namespace: web\n    values: [{}]\n",
            names.join(", ")
        ),
    )
    .unwrap();
    for (name, bytes) in values {
        std::fs::write(stack.join("values").join(name), bytes).unwrap();
    }
    tmp
}

#[test]
fn stack_values_files_get_the_alias_guard_before_helm_and_big_ones_are_still_judged() {
    // An alias bomb (2.7 GB expanded), a 1.1 MB file with a key given twice, a 9 MB file.
    let mut bomb = format!("big: &s \"{}\"\nextra: [", "x".repeat(100_000));
    bomb.push_str(&"*s, ".repeat(27_000));
    bomb.push_str("]\n");
    let mut big = String::from("extra: one\n");
    let mut i = 0;
    while big.len() < 1_100_000 {
        big.push_str(&format!("key{i}: \"{}\"\n", "v".repeat(100)));
        i += 1;
    }
    big.push_str("extra: two\n");
    let dup_line = big.lines().count();
    let repo = stack_repo(&[("bomb.yaml", bomb.as_bytes()), ("big.yaml", big.as_bytes())], None);
    let cache = support::private_cache(repo.path());
    let Some((kib, out)) = peak_rss_kib(
        repo.path(),
        cache.path(),
        &["stack", "lint", "t", "--format", "json"],
        "stack_values_files_get_the_alias_guard_before_helm_and_big_ones_are_still_judged",
    ) else {
        return;
    };
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(kib < RSS_LIMIT_KIB, "peak RSS {kib} KiB (helm was given the bomb?)");
    let f = out.findings();
    assert!(
        f.iter().any(|(r, at, m)| r == "stack/file"
            && at.contains("stacks/t/values/bomb.yaml:2:")
            && m.contains("alias expansion")
            && m.contains("not given to helm")),
        "{f:#?}"
    );
    assert!(!f.iter().any(|(r, _, _)| r == "stack/render"), "helm ran: {f:#?}");
    assert!(
        f.iter().any(|(r, at, m)| r == "stack/file"
            && at.ends_with(&format!("stacks/t/values/big.yaml:{dup_line}:1"))
            && m.contains("`extra` is given twice")),
        "{f:#?}"
    );

    // Over the stack values bound: refused, pointing at the stack file's entry.
    let huge = vec![b'#'; 9 * 1024 * 1024];
    let repo = stack_repo(&[("huge.yaml", &huge)], None);
    let out = run(repo.path(), cache.path(), &["stack", "lint", "t", "--format", "json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let f = out.findings();
    assert!(
        f.iter().any(|(r, at, m)| r == "stack/file"
            && at.ends_with("stacks/t/stack.yaml:11:14")
            && m.contains("limited to 8388608")),
        "{f:#?}"
    );
}

#[test]
fn stack_render_keeps_every_line_of_helms_error() {
    let template = "{{ fail \"first line\\nsecond line\\nthird line\" }}\n";
    let repo = stack_repo(&[("ok.yaml", b"extra: 1\n")], Some(template));
    let cache = support::private_cache(repo.path());
    let out = run(repo.path(), cache.path(), &["stack", "lint", "t", "--format", "json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let f = out.findings();
    let render: Vec<_> = f.iter().filter(|(r, _, _)| r == "stack/render").collect();
    assert_eq!(render.len(), 1, "{f:#?}");
    for line in ["first line", "second line", "third line"] {
        assert!(render[0].2.contains(line), "{line}: {}", render[0].2);
    }
}

/// A template that repeats a value into 20 MB: helm's output is cut at the
/// bound and the run is a finding, not 20 MB parsed, validated and cached.
#[test]
fn a_rendering_over_the_tool_output_bound_is_an_error() {
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  big: {{ tpl (repeat 20000000 \"x\") . | quote }}\n";
    let repo = stack_repo(&[("ok.yaml", b"extra: 1\n")], Some(template));
    let cache = support::private_cache(repo.path());
    let out = run(repo.path(), cache.path(), &["stack", "lint", "t", "--format", "json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let f = out.findings();
    assert!(
        f.iter().any(|(r, _, m)| r == "stack/render" && m.contains("wrote more than 16777216 bytes")),
        "{f:#?}"
    );
}

// ------------------------------------------------------------------ item 13

/// Runs the harness with its standard output a pipe whose reader is already gone.
fn with_closed_stdout(dir: &Path, cache: &Path, args: &[&str]) -> Outcome {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("xtask"))
        .args(args)
        .current_dir(dir)
        .env("NEX_CACHE_DIR", cache)
        .env_remove("HELM_BIN")
        .env_remove("NEX_HELM")
        .env("NO_COLOR", "1")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    Outcome::of(out)
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    let cat = support::one_chart(&fixtures().join("hardening"), "plain");
    let cache = support::private_cache(&fixtures().join("hardening"));
    // `print!` (the lint report, the rule list) and `write!` (stack render) alike.
    for args in [&["lint"][..], &["lint", "--list-rules"], &["lint", "--format", "json"]] {
        let out = with_closed_stdout(cat.path(), cache.path(), args);
        assert_eq!(out.code, 141, "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr, "", "{args:?}");
    }
    let repo = stack_repo(&[("ok.yaml", b"extra: 1\n")], None);
    let out = with_closed_stdout(repo.path(), cache.path(), &["stack", "render", "t"]);
    assert_eq!(out.code, 141, "{}", out.stderr);
    assert_eq!(out.stderr, "");
}

/// A `$ref` to another file: helm does not resolve it against the chart, so
/// `helm lint` fails and profile ct reports it too. A `$ref` to a URL is fetched by
/// helm (ct's CI is online): only the catalog, which must work offline, refuses it.
#[test]
fn a_file_ref_is_reported_under_profile_ct_and_a_url_ref_under_catalog() {
    let cat = support::one_chart(&fixtures().join("hardening"), "remote");
    let harness = std::fs::read_to_string(cat.path().join("harness.yaml")).unwrap();
    std::fs::remove_file(cat.path().join("harness.yaml")).unwrap();
    let schema_path = cat.path().join("charts/remote/values.schema.json");
    let original: Value = serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
    let with_ref = |r: &str| {
        let mut schema = original.clone();
        schema["properties"]["replicas"] = serde_json::json!({"description": "Pods.", "$ref": r});
        std::fs::write(&schema_path, serde_json::to_string_pretty(&schema).unwrap()).unwrap();
    };
    let cache = support::private_cache(&fixtures().join("hardening"));
    let rules = |out: &Outcome| out.findings().into_iter().map(|(r, _, _)| r).collect::<Vec<_>>();

    with_ref("replicas.json");
    let out = run(cat.path(), cache.path(), &["lint", "--format", "json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let f = out.findings();
    assert!(
        f.iter().any(|(r, at, m)| r == "schema/local-ref"
            && at.contains("values.schema.json:")
            && m.contains("replicas.json")
            && m.contains("helm lint")),
        "{f:#?}"
    );

    with_ref("https://schemas.invalid/replicas.json");
    let ct = run(cat.path(), cache.path(), &["lint", "--format", "json"]);
    assert!(!rules(&ct).iter().any(|r| r.starts_with("schema/")), "{:#?}", ct.findings());
    std::fs::write(cat.path().join("harness.yaml"), harness).unwrap();
    let catalog = run(cat.path(), cache.path(), &["lint", "--format", "json"]);
    assert_eq!(catalog.code, 1, "{}\n{}", catalog.stdout, catalog.stderr);
    assert!(
        catalog.findings().iter().any(|(r, _, m)| r == "schema/remote-ref" && m.contains("schemas.invalid")),
        "{:#?}",
        catalog.findings()
    );
}

#[test]
fn a_run_with_every_rule_off_says_so() {
    let cat = support::one_chart(&fixtures().join("hardening"), "quiet");
    // A chart with a finding (an unknown value), and then every rule off.
    std::fs::write(cat.path().join("charts/quiet/values.yaml"), "replicas: many\n").unwrap();
    let cache = support::private_cache(&fixtures().join("hardening"));
    let before = run(cat.path(), cache.path(), &["lint"]);
    assert_eq!(before.code, 1, "{}", before.stdout);
    let ids = run(cat.path(), cache.path(), &["lint", "--list-rules", "--format", "json"]).json();
    let ids: Vec<String> =
        ids.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    assert!(ids.len() > 50, "{ids:?}");
    let mut harness = String::from("profile: catalog\nrules:\n");
    for id in &ids {
        harness.push_str(&format!("  {id}: off\n"));
    }
    std::fs::write(cat.path().join("harness.yaml"), &harness).unwrap();
    let human = run(cat.path(), cache.path(), &["lint"]);
    assert_eq!(human.code, 0, "{}\n{}", human.stdout, human.stderr);
    assert!(
        human.stdout.ends_with("0 errors, 0 warnings in 1 chart (every rule is off: nothing was checked)\n"),
        "{}",
        human.stdout
    );
    let json = run(cat.path(), cache.path(), &["lint", "--format", "json"]).json();
    assert_eq!(json["summary"]["rules_on"], 0, "{json}");
    assert_eq!(json["summary"]["rules_off"].as_u64(), Some(ids.len() as u64), "{json}");
    // One rule off: counted, named in the summary line.
    std::fs::write(cat.path().join("harness.yaml"), "profile: catalog\nrules:\n  yaml/truthy: off\n")
        .unwrap();
    let one = run(cat.path(), cache.path(), &["lint", "--format", "github"]);
    assert!(one.stdout.trim_end().ends_with("(1 rule off in harness.yaml)"), "{}", one.stdout);
}

/// `since:` (and `remote`, `target-branch`) from ct.yaml go to git as
/// revisions: one that reads as an option is refused before git runs, and
/// git is never given it. A `git` on PATH records every argument it gets.
#[test]
fn an_option_in_since_never_reaches_git() {
    let tmp = tempfile::tempdir().unwrap();
    let upstream = tmp.path().join("upstream");
    let cat = support::one_chart(&fixtures().join("hardening"), "app");
    support::copy_dir(cat.path(), &upstream);
    support::git(&upstream, &["init", "-q"]);
    support::git(&upstream, &["add", "-A"]);
    support::git(&upstream, &["commit", "-qm", "catalog"]);
    support::git(tmp.path(), &["clone", "-q", upstream.to_str().unwrap(), "work"]);
    let work = tmp.path().join("work");
    let ct = std::fs::read_to_string(work.join("ct.yaml")).unwrap();
    std::fs::write(work.join("ct.yaml"), format!("{ct}since: --octopus\n")).unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = tmp.path().join("git-args.log");
    let real = String::from_utf8(
        std::process::Command::new("sh").args(["-c", "command -v git"]).output().unwrap().stdout,
    )
    .unwrap();
    std::fs::write(
        bin.join("git"),
        format!("#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{}'\nexec '{}' \"$@\"\n", log.display(), real.trim()),
    )
    .unwrap();
    std::fs::set_permissions(bin.join("git"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let cache = support::private_cache(&fixtures().join("hardening"));
    for args in [&["lint", "--changed"][..], &["diff"]] {
        let out = Outcome::of(
            support::xtask_in(&work)
                .args(args)
                .env("PATH", &path)
                .env("NEX_CACHE_DIR", cache.path())
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .output()
                .unwrap(),
        );
        assert_eq!(out.code, 2, "{args:?}: {}\n{}", out.stdout, out.stderr);
        assert!(out.stderr.contains("`since: --octopus` is not a git revision"), "{args:?}: {}", out.stderr);
    }
    let seen = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!seen.lines().any(|a| a == "--octopus"), "git was given --octopus:\n{seen}");
    // The recorder does see the harness's git: a good `since` reaches merge-base, after `--end-of-options`.
    std::fs::write(work.join("ct.yaml"), format!("{ct}since: HEAD\n")).unwrap();
    let out = Outcome::of(
        support::xtask_in(&work)
            .args(["lint", "--changed"])
            .env("PATH", &path)
            .env("NEX_CACHE_DIR", cache.path())
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let seen = std::fs::read_to_string(&log).unwrap();
    assert!(seen.contains("merge-base\n--end-of-options\norigin/main\nHEAD\n"), "{seen}");
}

/// A digest nobody verifies (`md5:0`) pins nothing: `image/lock` says so,
/// whatever the lock holds for the image.
#[test]
fn a_digest_of_an_unverified_algorithm_fails_the_image_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(root.join("ct.yaml"), "chart-dirs:\n  - charts\n").unwrap();
    let chart = root.join("charts/app");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: app\nversion: 0.1.0\n").unwrap();
    std::fs::write(chart.join("values.yaml"), "digest: md5:0\n").unwrap();
    std::fs::write(
        chart.join("templates/deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  selector:\n    matchLabels: {app: a}\n  template:\n    metadata:\n      labels: {app: a}\n    spec:\n      containers:\n        - name: app\n          image: \"docker.io/example/app:1@{{ .Values.digest }}\"\n",
    )
    .unwrap();
    let lock = "version: 1\nimages:\n  \"docker.io/example/app:1\":\n    digest: null\n    platforms: [linux/amd64, linux/arm64]\n    source: {kind: dockerfile, repository: \"github.com/example/app\", path: \"Dockerfile\", commit: \"0000000000000000000000000000000000000000\"}\n";
    std::fs::write(root.join("images.lock.yaml"), lock).unwrap();
    let cache = support::private_cache(root);
    let out = run(root, cache.path(), &["lint", "--format", "json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let f = out.findings();
    assert!(
        f.iter()
            .any(|(r, _, m)| r == "image/lock" && m.contains("md5:0") && m.contains("verified by nobody")),
        "{f:#?}"
    );
    // The lock itself cannot record one either.
    std::fs::write(root.join("images.lock.yaml"), lock.replace("digest: null", "digest: \"md5:0\"")).unwrap();
    let out = run(root, cache.path(), &["lint", "--format", "json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.findings()
            .iter()
            .any(|(r, at, m)| r == "image/lock" && at.starts_with("images.lock.yaml") && m.contains("md5:0")),
        "{:#?}",
        out.findings()
    );
}

// ------------------------------------------------------------------ items 5 and 11

type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, Option<String>)>>>;

/// A loopback HTTP server on `ip` recording each request's target and
/// `Authorization`, answered by `reply(target, authorization, own port)`.
fn http_server(
    ip: &str,
    reply: impl Fn(&str, Option<&str>, u16) -> Vec<u8> + Send + Sync + 'static,
) -> (u16, Seen) {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Default::default();
    let (log, reply) = (seen.clone(), std::sync::Arc::new(reply));
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut reader = std::io::BufReader::new(s.try_clone().unwrap());
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push(line.trim_end().to_owned());
            }
            let target = head.first().and_then(|l| l.split(' ').nth(1)).unwrap_or("/").to_owned();
            let auth = head.iter().find_map(|h| {
                h.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                    .map(|(_, v)| v.trim().to_owned())
            });
            log.lock().unwrap().push((target.clone(), auth.clone()));
            let _ = s.write_all(&reply(&target, auth.as_deref(), port));
        }
    });
    (port, seen)
}

fn http_ok(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn http_status(line: &str, headers: &str) -> Vec<u8> {
    format!("HTTP/1.1 {line}\r\n{headers}Content-Length: 2\r\nConnection: close\r\n\r\n{{}}").into_bytes()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// An image for `platforms`: its index (as JSON, to edit) and every manifest and config by digest.
fn image(platforms: &[&str]) -> (Value, std::collections::HashMap<String, Vec<u8>>) {
    let mut blobs = std::collections::HashMap::new();
    let mut entries = Vec::new();
    for p in platforms {
        let (os, arch) = p.split_once('/').unwrap();
        let config = serde_json::json!({"os": os, "architecture": arch,
            "config": {"User": "65532", "Entrypoint": ["/app"], "ExposedPorts": {"8080/tcp": {}}}})
        .to_string();
        let config_digest = sha256(config.as_bytes());
        blobs.insert(config_digest.clone(), config.into_bytes());
        let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": 1},
            "layers": []})
        .to_string();
        let digest = sha256(manifest.as_bytes());
        blobs.insert(digest.clone(), manifest.into_bytes());
        entries.push(serde_json::json!({"mediaType": MANIFEST, "digest": digest, "size": 1,
            "platform": {"os": os, "architecture": arch}}));
    }
    (serde_json::json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}), blobs)
}

/// A catalog with one chart running `HOST/team/app:1.0.0`, and a Docker config
/// holding a password for `HOST`.
fn image_catalog(host: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(root.join("ct.yaml"), "chart-dirs:\n  - charts\n").unwrap();
    let chart = root.join("charts/app");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: app\nversion: 0.1.0\n").unwrap();
    std::fs::write(
        chart.join("values.yaml"),
        format!("image:\n  registry: \"{host}\"\n  repository: team/app\n  tag: \"1.0.0\"\n  digest: \"\"\n"),
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  selector:\n    matchLabels: {app: a}\n  template:\n    metadata:\n      labels: {app: a}\n    spec:\n      securityContext: {runAsNonRoot: true, runAsUser: 65532}\n      containers:\n        - name: app\n          image: \"{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}{{ with .Values.image.digest }}@{{ . }}{{ end }}\"\n          ports:\n            - containerPort: 8080\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("docker")).unwrap();
    // `nex:s3cret`
    std::fs::write(
        root.join("docker/config.json"),
        format!("{{\"auths\": {{\"{host}\": {{\"auth\": \"bmV4OnMzY3JldA==\"}}}}}}"),
    )
    .unwrap();
    tmp
}

fn images(cat: &Path, cache: &Path, host: &str) -> Outcome {
    let mut cmd = support::xtask_in(cat);
    cmd.args(["images", "--update", "--format", "json", "--insecure-registry", host])
        .env("NEX_CACHE_DIR", cache)
        .env("DOCKER_CONFIG", cat.join("docker"))
        .timeout(Duration::from_secs(600));
    Outcome::of(cmd.output().unwrap())
}

const PASSWORD: &str = "Basic bmV4OnMzY3JldA==";

/// A registry on 127.0.0.1 whose 401 names the token service `realm(own port)`,
/// serving the tag itself and sending every manifest and blob by digest to a
/// CDN on 127.0.0.2.
fn guarded_registry(
    realm: impl Fn(u16) -> String + Send + Sync + 'static,
    index: &Value,
    cdn: u16,
) -> (u16, Seen) {
    let index = index.to_string().into_bytes();
    http_server("127.0.0.1", move |target, auth, own| {
        if target.starts_with("/token") {
            return http_ok("application/json", b"{\"token\": \"tok\"}");
        }
        if auth != Some("Bearer tok") {
            let challenge = format!(
                "WWW-Authenticate: Bearer realm=\"{}\",service=\"nex\",scope=\"repository:team/app:pull\"\r\n",
                realm(own)
            );
            return http_status("401 Unauthorized", &challenge);
        }
        if target.ends_with("/manifests/1.0.0") {
            return http_ok(INDEX, &index);
        }
        let digest = target.rsplit('/').next().unwrap_or("");
        http_status("307 Temporary Redirect", &format!("Location: http://127.0.0.2:{cdn}/{digest}\r\n"))
    })
}

#[test]
fn the_docker_config_password_stays_with_its_registry_and_redirects_drop_credentials() {
    let (index, blobs) = image(&["linux/amd64", "linux/arm64"]);
    let (cdn, cdn_seen) =
        http_server("127.0.0.2", move |target, _, _| match blobs.get(target.trim_start_matches('/')) {
            Some(b) => http_ok("application/json", b),
            None => http_status("404 Not Found", ""),
        });
    let (token, token_seen) =
        http_server("127.0.0.2", |_, _, _| http_ok("application/json", b"{\"token\": \"tok\"}"));
    let (port, seen) = guarded_registry(move |_| format!("http://127.0.0.2:{token}/token"), &index, cdn);
    let host = format!("127.0.0.1:{port}");
    let cat = image_catalog(&host);
    let cache = support::private_cache(cat.path());
    let out = images(cat.path(), cache.path(), &host);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let lock = std::fs::read_to_string(cat.path().join("images.lock.yaml")).unwrap();
    assert!(lock.contains(&sha256(index.to_string().as_bytes())), "{lock}");
    // The token service on another host was asked anonymously.
    let token_seen = token_seen.lock().unwrap().clone();
    assert!(!token_seen.is_empty());
    assert!(token_seen.iter().all(|(_, a)| a.is_none()), "the password crossed hosts: {token_seen:?}");
    // The CDN got every manifest and config, and no credential of any kind.
    let cdn_seen = cdn_seen.lock().unwrap().clone();
    assert_eq!(cdn_seen.len(), 4, "{cdn_seen:?}");
    assert!(cdn_seen.iter().all(|(_, a)| a.is_none()), "credentials followed a redirect: {cdn_seen:?}");
    // The registry itself saw the token, never the password.
    assert!(seen.lock().unwrap().iter().all(|(_, a)| a.as_deref() != Some(PASSWORD)));

    // The registry's own token service (the same server) does get the password.
    let (port, seen) = guarded_registry(|own| format!("http://127.0.0.1:{own}/token"), &index, cdn);
    let host = format!("127.0.0.1:{port}");
    let cat = image_catalog(&host);
    let out = images(cat.path(), cache.path(), &host);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().any(|(t, a)| t.starts_with("/token?") && a.as_deref() == Some(PASSWORD)), "{seen:?}");
}

/// An anonymous registry on 127.0.0.1 serving `index` (raw bytes) for the tag and `blobs` by digest.
fn open_registry(index: Vec<u8>, blobs: std::collections::HashMap<String, Vec<u8>>) -> (u16, Seen) {
    http_server("127.0.0.1", move |target, _, _| {
        if target.ends_with("/manifests/1.0.0") {
            return http_ok(INDEX, &index);
        }
        match blobs.get(target.rsplit('/').next().unwrap_or("")) {
            Some(b) => http_ok("application/json", b),
            None => http_status("404 Not Found", ""),
        }
    })
}

#[test]
fn registry_answers_are_bounded_and_reported_as_what_they_are() {
    let (index, blobs) = image(&["linux/amd64", "linux/arm64"]);
    let cache = support::private_cache(image_catalog("127.0.0.1:1").path());
    // (outcome, the lock written if any, requests the registry saw)
    let run_against = |body: Vec<u8>| {
        let (port, seen) = open_registry(body, blobs.clone());
        let host = format!("127.0.0.1:{port}");
        let cat = image_catalog(&host);
        let out = images(cat.path(), cache.path(), &host);
        let lock = std::fs::read_to_string(cat.path().join("images.lock.yaml")).ok();
        let requests = seen.lock().unwrap().len();
        (out, lock, requests)
    };

    // 20 000 entries: one request (the index), exit 2, nothing written.
    let mut huge = index.clone();
    let entry = huge["manifests"][0].clone();
    huge["manifests"] = Value::Array(vec![entry; 20_000]);
    let (out, lock, requests) = run_against(huge.to_string().into_bytes());
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("an index of 20000 entries; at most 64 are read"), "{}", out.stderr);
    assert_eq!(requests, 1);
    assert_eq!(lock, None);

    // A platform listed twice is recorded once.
    let mut twice = index.clone();
    let first = twice["manifests"][0].clone();
    twice["manifests"].as_array_mut().unwrap().push(first);
    let (out, lock, requests) = run_against(twice.to_string().into_bytes());
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let lock = lock.unwrap();
    assert_eq!(lock.matches("linux/amd64").count(), 1, "{lock}");
    assert_eq!(requests, 5, "index, two manifests, two configs");

    // A manifest named by a digest nobody verifies: never requested, never recorded.
    let mut weak = index.clone();
    weak["manifests"][1]["digest"] = serde_json::json!("md5:0");
    let (out, lock, requests) = run_against(weak.to_string().into_bytes());
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("\"md5:0\"") && out.stderr.contains("verified by nobody"), "{}", out.stderr);
    assert_eq!(lock, None);
    assert_eq!(requests, 3, "the index, then the amd64 manifest and config only");

    // Garbage: what it is, not `image/missing`.
    let (out, lock, _) = run_against(b"<html>maintenance</html>".to_vec());
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("unusable answer from the registry: not JSON"), "{}", out.stderr);
    assert!(!out.stdout.contains("image/missing") && !out.stderr.contains("image/missing"));
    assert_eq!(lock, None);
}
