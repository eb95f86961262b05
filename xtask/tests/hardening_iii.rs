//! Hardening III (issue 24): one safe way to read, write and follow links, on
//! every surface (package, lint, stacks, settings, export, cache, images,
//! docs, diff, publish). One test per item, each run as a hostile user would:
//! links out of the chart or the repository, FIFOs and `/dev/zero` where a
//! file is expected, names that collide, two runs at once.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod support;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn xtask(dir: &Path) -> Command {
    let mut cmd = support::xtask_in(dir);
    cmd.env_remove("NEX_HELM_TIMEOUT").env_remove("RAYON_NUM_THREADS");
    cmd
}

/// A value no file holds: the environment variable a leak would carry.
const SECRET: &str = "nex-hardening-iii-s3cr3t-7f1c";

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
        assert!(
            !out.stdout.contains(SECRET) && !out.stderr.contains(SECRET),
            "the environment reached the output:\n{}\n{}",
            out.stdout,
            out.stderr
        );
        out
    }

    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Rules of the findings of `lint --format json`: (rule, file).
    fn findings(&self) -> Vec<(String, String)> {
        let json: Value = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", self.stdout, self.stderr));
        json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["allowed"].is_null())
            .map(|d| {
                (
                    d["rule"].as_str().unwrap_or_default().to_owned(),
                    d["location"]["file"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

/// Runs xtask in `dir` with the secret in its environment, killed after 300 s.
fn run(dir: &Path, args: &[&str]) -> Outcome {
    let mut cmd = xtask(dir);
    cmd.args(args).env("NEX_TEST_TOKEN", SECRET).timeout(Duration::from_secs(300));
    Outcome::of(cmd.output().unwrap())
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

fn set_profile(cat: &Path, profile: &str) {
    let path = cat.join("harness.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text: String =
        text.lines().filter(|l| !l.starts_with("profile:")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, format!("{text}profile: {profile}\n")).unwrap();
}

// Item 1: `package` followed links out of the chart and published what they
// point at; lint under profile ct said nothing.
#[test]
fn links_out_of_the_chart_are_never_packaged_and_are_findings_in_every_profile() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("id_rsa"), format!("{SECRET}\n")).unwrap();
    std::fs::create_dir_all(outside.path().join("folder")).unwrap();
    std::fs::write(outside.path().join("folder/key.txt"), format!("{SECRET}\n")).unwrap();
    let cases: [(&str, PathBuf); 3] = [
        ("environ", PathBuf::from("/proc/self/environ")),
        ("id_rsa", outside.path().join("id_rsa")),
        ("files", outside.path().join("folder")),
    ];
    for (name, target) in cases {
        let cat = support::one_chart(&fixtures().join("hardening"), "leaky");
        let chart = cat.path().join("charts/leaky");
        std::os::unix::fs::symlink(&target, chart.join(name)).unwrap();
        let out = run(cat.path(), &["package", "--out", "dist"]);
        assert_eq!(out.code, 1, "{name}: {}", out.all());
        assert!(out.stderr.contains(&format!("charts/leaky/{name} is a link to")), "{name}: {}", out.stderr);
        assert!(out.stderr.contains("nothing was written"), "{}", out.stderr);
        assert!(!cat.path().join("dist").exists(), "{name}: {:?}", files_under(&cat.path().join("dist")));
        for f in files_under(cat.path()) {
            let bytes = std::fs::read(&f).unwrap_or_default();
            assert!(
                !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "{name}: {} holds it",
                f.display()
            );
        }
        for profile in ["ct", "catalog"] {
            set_profile(cat.path(), profile);
            let cache = support::private_cache(&fixtures().join("hardening"));
            let mut cmd = xtask(cat.path());
            cmd.args(["lint", "--format", "json"])
                .env("NEX_CACHE_DIR", cache.path())
                .env("NEX_TEST_TOKEN", SECRET)
                .timeout(Duration::from_secs(300));
            let lint = Outcome::of(cmd.output().unwrap());
            let found = lint.findings();
            assert!(
                found
                    .iter()
                    .any(|(r, f)| r == "file/link-leaves-repo" && f.ends_with(&format!("leaky/{name}"))),
                "{name} under {profile}: {found:?}"
            );
            assert_eq!(lint.code, 1, "{name} under {profile}: {found:?}");
        }
    }
}

// Item 1, the other half: a link leaving the chart but staying in the
// repository (a shared LICENSE) is a house rule in lint, and still never packaged.
#[test]
fn a_link_to_a_shared_file_of_the_repository_is_not_packaged_either() {
    let cat = support::one_chart(&fixtures().join("hardening"), "shared");
    std::fs::write(cat.path().join("LICENSE"), "Apache-2.0\n").unwrap();
    std::os::unix::fs::symlink("../../LICENSE", cat.path().join("charts/shared/LICENSE")).unwrap();
    let out = run(cat.path(), &["package", "--out", "dist"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("charts/shared/LICENSE is a link to"), "{}", out.stderr);
    assert!(!cat.path().join("dist").exists());
    // Copied in, it packages.
    std::fs::remove_file(cat.path().join("charts/shared/LICENSE")).unwrap();
    std::fs::copy(cat.path().join("LICENSE"), cat.path().join("charts/shared/LICENSE")).unwrap();
    let out = run(cat.path(), &["package", "--out", "dist"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        cat.path().join("dist/shared-0.1.0.tgz").is_file(),
        "{:?}",
        files_under(&cat.path().join("dist"))
    );
}
