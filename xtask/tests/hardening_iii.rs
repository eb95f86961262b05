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

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

/// Runs xtask in `dir`, killed after `secs` (a hang fails the exit-code check).
fn run_for(dir: &Path, secs: u64, args: &[&str]) -> Outcome {
    let mut cmd = xtask(dir);
    cmd.args(args).env("NEX_TEST_TOKEN", SECRET).timeout(Duration::from_secs(secs));
    Outcome::of(cmd.output().unwrap())
}

/// A catalog with a copy of glance (Chart.yaml only), the GitOps CRDs, and a
/// stack `s` whose one release has `chart` and `values`.
fn stack_catalog(chart: &str, values: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let ws = support::workspace_root();
    std::fs::create_dir_all(root.join("charts/glance")).unwrap();
    std::fs::copy(ws.join("charts/glance/Chart.yaml"), root.join("charts/glance/Chart.yaml")).unwrap();
    support::copy_dir(&ws.join("schemas/gitops"), &root.join("schemas/gitops"));
    std::fs::write(root.join("ct.yaml"), "chart-dirs: [charts]\n").unwrap();
    std::fs::create_dir_all(root.join("stacks/s")).unwrap();
    std::fs::write(
        root.join("stacks/s/stack.yaml"),
        format!(
            "name: s\nrepository: {{url: https://example.org/charts}}\nnodes: [{{name: n, arch: amd64, cpu: 2, memory: 4Gi}}]\n\
             releases:\n  - name: glance\n    chart: {chart}\n    namespace: home\n    values: [{values}]\n"
        ),
    )
    .unwrap();
    std::fs::write(root.join("stacks/s/ok.yaml"), "replicas: 1\n").unwrap();
    tmp
}

// Item 2: stack paths left the repository (`../..`, absolute `chart:`, values
// links) and an outside secret was inlined into the exported HelmRelease.
// Item 13: a FIFO values file was reported as "does not exist".
#[test]
fn stack_paths_that_leave_the_repository_are_refused_and_nothing_is_exported() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.yaml");
    std::fs::write(&secret, format!("password: {SECRET}\n")).unwrap();
    let cat = stack_catalog("../../charts/glance", "ok.yaml");
    let out = run_for(cat.path(), 120, &["stack", "export", "s", "--format", "flux", "--out", "gitops"]);
    assert_eq!(out.code, 0, "the clean stack exports: {}", out.all());
    std::fs::remove_dir_all(cat.path().join("gitops")).unwrap();

    let climbs = pathdiff(&secret, &cat.path().join("stacks/s"));
    let cases: Vec<(tempfile::TempDir, &str)> = vec![
        (stack_catalog("../../charts/glance", &climbs), "leaves"),
        (stack_catalog(&cat.path().join("charts/glance").display().to_string(), "ok.yaml"), "absolute path"),
        (stack_catalog("../../charts/glance", "linked.yaml"), "is a link to"),
        (stack_catalog("../../charts/glance", "fifo.yaml"), "is a named pipe (FIFO)"),
    ];
    for (cat, why) in cases {
        let dir = cat.path().join("stacks/s");
        std::os::unix::fs::symlink(&secret, dir.join("linked.yaml")).unwrap();
        mkfifo(&dir.join("fifo.yaml"));
        for args in [
            &["stack", "export", "s", "--format", "flux", "--out", "gitops"][..],
            &["stack", "lint", "s", "--format", "json"][..],
        ] {
            let out = run_for(cat.path(), 120, args);
            assert_ne!(out.code, 0, "{why} {args:?}: {}", out.all());
            assert!(out.all().contains(why), "{why} {args:?}: {}", out.all());
            assert!(!out.all().contains("does not exist"), "{why} {args:?}: {}", out.all());
        }
        assert!(!cat.path().join("gitops").exists(), "{why}: an export was written");
    }
}

/// `to` written relative to the folder `from` (both absolute).
fn pathdiff(to: &Path, from: &Path) -> String {
    let ups = from.components().count() - 1;
    format!("{}{}", "../".repeat(ups), to.strip_prefix("/").unwrap().display())
}

// Item 3: FIFOs and `/dev/zero` in place of settings and side files hung the
// run forever (or read about 1 GB); a FIFO Chart.yaml under profile ct made the
// chart vanish with exit 0.
#[test]
fn fifos_and_devices_in_place_of_settings_and_side_files_are_errors_not_hangs() {
    let config = fixtures().join("hardening");
    // (file replaced, extra ct.yaml line, lint flags)
    let cases: [(&str, &str, &[&str]); 8] = [
        ("harness.yaml", "", &[]),
        ("ct.yaml", "", &[]),
        ("other-ct.yaml", "", &["--config", "other-ct.yaml"]),
        ("other-harness.yaml", "", &["--harness-config", "other-harness.yaml"]),
        ("lintconf.yaml", "lint-conf: lintconf.yaml\n", &[]),
        ("chart_schema.yaml", "chart-yaml-schema: chart_schema.yaml\n", &[]),
        ("images.lock.yaml", "", &[]),
        ("charts/special/Chart.yaml", "", &["--profile", "ct"]),
    ];
    for (file, ct_line, flags) in cases {
        for device in ["fifo", "/dev/zero"] {
            let cat = support::one_chart(&config, "special");
            let ct = std::fs::read_to_string(cat.path().join("ct.yaml")).unwrap();
            std::fs::write(cat.path().join("ct.yaml"), format!("{ct}{ct_line}")).unwrap();
            let path = cat.path().join(file);
            let _ = std::fs::remove_file(&path);
            if device == "fifo" {
                mkfifo(&path);
            } else {
                std::os::unix::fs::symlink(device, &path).unwrap();
            }
            let cache = support::private_cache(&config);
            let mut cmd = xtask(cat.path());
            cmd.args(["lint", "--format", "json"])
                .args(flags)
                .env("NEX_CACHE_DIR", cache.path())
                .timeout(Duration::from_secs(120));
            let out = Outcome::of(cmd.output().unwrap());
            assert_ne!(out.code, 0, "{file} as {device}: {}", out.all());
            // A link to a device is named as one, or as a link leaving the repository.
            let kind = if device == "fifo" { "named pipe (FIFO)" } else { "character device" };
            assert!(
                out.all().contains(kind) || out.all().contains("a link to /dev/zero, outside"),
                "{file} as {device}: {}",
                out.all()
            );
            if file.ends_with("Chart.yaml") {
                assert!(
                    out.findings()
                        .iter()
                        .any(|(r, f)| r == "file/not-regular" && f.ends_with("special/Chart.yaml")),
                    "{device}: {:?}",
                    out.findings()
                );
            }
        }
    }
}

#[test]
fn fifos_in_place_of_the_index_the_hook_render_values_and_cache_entries_are_errors_not_hangs() {
    let config = fixtures().join("hardening");
    let cat = support::one_chart(&config, "side");
    // OUT/index.yaml.
    std::fs::create_dir_all(cat.path().join("dist")).unwrap();
    mkfifo(&cat.path().join("dist/index.yaml"));
    let out = run_for(cat.path(), 120, &["package", "--out", "dist"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("named pipe (FIFO)"), "{}", out.stderr);
    // `render --values`.
    mkfifo(&cat.path().join("v.yaml"));
    let out = run_for(cat.path(), 120, &["render", "side", "--values", "v.yaml"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("named pipe (FIFO)"), "{}", out.stderr);
    // The pre-commit hook.
    support::git(cat.path(), &["init", "-q"]);
    mkfifo(&cat.path().join(".git/hooks/pre-commit"));
    let out = run_for(cat.path(), 60, &["hooks", "install", "--force"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("named pipe (FIFO)"), "{}", out.stderr);
    // Every cache entry: a miss, never a hang.
    let cache = support::private_cache(&config);
    let lint = |label: &str| {
        let mut cmd = xtask(cat.path());
        cmd.args(["lint", "side", "--format", "json"])
            .env("NEX_CACHE_DIR", cache.path())
            .timeout(Duration::from_secs(300));
        let out = Outcome::of(cmd.output().unwrap());
        assert_eq!(out.code, 0, "{label}: {:?}", out.findings());
    };
    lint("first");
    let entries = files_under(&cache.path().join("results"));
    assert!(!entries.is_empty());
    for e in &entries {
        std::fs::remove_file(e).unwrap();
        mkfifo(e);
    }
    lint("over FIFOs");
}

// Item 6: a release named like another exported object silently replaced
// it, and a killed export left old and new files mixed.
#[test]
fn export_refuses_colliding_names_and_swaps_the_whole_folder() {
    for (name, namespace, clashes) in [
        ("kustomization", "home", "kustomization.yaml"),
        ("helmrepository", "home", "helmrepository.yaml"),
        ("namespace-apps", "apps", "namespace-apps.yaml"),
    ] {
        let cat = stack_catalog("../../charts/glance", "ok.yaml");
        let stack = cat.path().join("stacks/s/stack.yaml");
        let text = std::fs::read_to_string(&stack)
            .unwrap()
            .replace("- name: glance", &format!("- name: {name}"))
            .replace("namespace: home", &format!("namespace: {namespace}"));
        std::fs::write(&stack, text).unwrap();
        let out = run_for(cat.path(), 120, &["stack", "export", "s", "--format", "flux", "--out", "gitops"]);
        assert_eq!(out.code, 2, "{name}: {}", out.all());
        assert!(out.stderr.contains(&format!("{clashes} would hold both")), "{name}: {}", out.stderr);
        assert!(!cat.path().join("gitops").exists(), "{name}");
    }
    // A second export replaces the first as a whole: stale objects go, the user's files stay.
    let cat = stack_catalog("../../charts/glance", "ok.yaml");
    let gitops = cat.path().join("gitops");
    let export =
        |cat: &Path| run_for(cat, 120, &["stack", "export", "s", "--format", "flux", "--out", "gitops"]);
    assert_eq!(export(cat.path()).code, 0);
    std::fs::write(gitops.join("README.md"), "mine\n").unwrap();
    let stack = cat.path().join("stacks/s/stack.yaml");
    let text = std::fs::read_to_string(&stack).unwrap().replace("- name: glance", "- name: board");
    std::fs::write(&stack, text).unwrap();
    let out = export(cat.path());
    assert_eq!(out.code, 0, "{}", out.all());
    let mut names: Vec<String> = std::fs::read_dir(&gitops)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["README.md", "board.yaml", "helmrepository.yaml", "kustomization.yaml", "namespace-home.yaml"]
    );
    let siblings: Vec<String> = std::fs::read_dir(cat.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!siblings.iter().any(|n| n.starts_with(".gitops")), "a staged folder was left: {siblings:?}");
    // A FIFO in the folder is refused, not read (that would hang), and nothing changes.
    mkfifo(&gitops.join("pipe.yaml"));
    std::fs::write(
        &stack,
        std::fs::read_to_string(&stack).unwrap().replace("- name: board", "- name: glance"),
    )
    .unwrap();
    let out = export(cat.path());
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("named pipe (FIFO)"), "{}", out.stderr);
    assert!(gitops.join("board.yaml").is_file() && !gitops.join("glance.yaml").exists());
}

// Item 7: `cache prune` deleted outside the cache when an entry folder was a link.
#[test]
fn cache_prune_removes_nothing_outside_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    for f in ["a.json", "b.json"] {
        std::fs::write(outside.path().join(f), "precious\n").unwrap();
    }
    std::fs::create_dir_all(cache.path().join("results/aa")).unwrap();
    std::fs::write(cache.path().join("results/aa/x.json"), "{}").unwrap();
    std::os::unix::fs::symlink(outside.path(), cache.path().join("results/bb")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("a.json"), cache.path().join("results/aa/y.json"))
        .unwrap();
    let mut cmd = support::xtask();
    cmd.args(["cache", "prune", "--max-bytes", "0"]).env("NEX_CACHE_DIR", cache.path());
    let out = Outcome::of(cmd.output().unwrap());
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(!cache.path().join("results/aa/x.json").exists(), "{}", out.all());
    for f in ["a.json", "b.json"] {
        assert_eq!(std::fs::read_to_string(outside.path().join(f)).unwrap(), "precious\n");
    }
}

// Item 10: `package --url` was written raw into Chart.yaml (a newline injected keys).
#[test]
fn package_urls_are_validated_before_anything_is_written() {
    let cat = support::one_chart(&fixtures().join("hardening"), "urls");
    for (flag, value) in [
        ("--url", "https://charts.example.org\nevil: key"),
        ("--dependency-repo", "https://x.org/\"q"),
        ("--url", "file:///etc"),
    ] {
        let out = run_for(cat.path(), 120, &["package", "--out", "dist", flag, value]);
        assert_eq!(out.code, 2, "{value:?}: {}", out.all());
        assert!(out.stderr.contains(flag), "{}", out.stderr);
        assert!(!cat.path().join("dist").exists());
    }
    let out =
        run_for(cat.path(), 120, &["package", "--out", "dist", "--url", "https://charts.example.org/x"]);
    assert_eq!(out.code, 0, "{}", out.all());
}

// Item 9: `docs` wrote through a README link to a file outside the repository.
#[test]
fn docs_never_writes_through_a_readme_link_out_of_the_repository() {
    let cat = support::one_chart(&fixtures().join("hardening"), "linkdoc");
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("README.md");
    std::fs::write(&target, "not yours\n").unwrap();
    let readme = cat.path().join("charts/linkdoc/README.md");
    let _ = std::fs::remove_file(&readme);
    std::os::unix::fs::symlink(&target, &readme).unwrap();
    let out = run_for(cat.path(), 120, &["docs"]);
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains("outside the repository"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "not yours\n");
    assert!(std::fs::symlink_metadata(&readme).unwrap().file_type().is_symlink());
    // A README linked inside the repository is written through, the link kept.
    std::fs::remove_file(&readme).unwrap();
    let out = run_for(cat.path(), 120, &["docs"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let generated = std::fs::read_to_string(&readme).unwrap();
    let description = "Fixture chart for the ok case.";
    assert!(generated.contains(description), "{generated}");
    std::fs::create_dir_all(cat.path().join("docs")).unwrap();
    let inside = cat.path().join("docs/linkdoc.md");
    std::fs::write(&inside, generated.replace(description, "Stale words.")).unwrap();
    std::fs::remove_file(&readme).unwrap();
    std::os::unix::fs::symlink("../../docs/linkdoc.md", &readme).unwrap();
    let out = run_for(cat.path(), 120, &["docs"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(std::fs::symlink_metadata(&readme).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&inside).unwrap(), generated);
}

// Item 8: two `images --update` at once both exited 0 and one entry was lost.
#[test]
fn two_concurrent_image_updates_keep_both_entries() {
    let Some(reg) = support::Registry::start("two_concurrent_image_updates_keep_both_entries") else {
        return;
    };
    let host = reg.host();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(root.join("ct.yaml"), "chart-dirs:\n  - charts\n").unwrap();
    for app in ["one", "two"] {
        push_image(&host, &format!("team/{app}"), "1.0.0");
        let chart = root.join("charts").join(app);
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        std::fs::write(chart.join("Chart.yaml"), format!("apiVersion: v2\nname: {app}\nversion: 0.1.0\n"))
            .unwrap();
        std::fs::write(
            chart.join("values.yaml"),
            format!(
                "image:\n  registry: \"{host}\"\n  repository: team/{app}\n  tag: \"1.0.0\"\n  digest: \"\"\n"
            ),
        )
        .unwrap();
        std::fs::write(
            chart.join("templates/pod.yaml"),
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  containers:\n    - name: app\n      image: \"{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}{{ with .Values.image.digest }}@{{ . }}{{ end }}\"\n",
        )
        .unwrap();
    }
    let docker = tempfile::tempdir().unwrap();
    // Several rounds: without the lock, one of two overlapping writers loses the other's entry.
    for round in 0..3 {
        let _ = std::fs::remove_file(root.join("images.lock.yaml"));
        let children: Vec<_> = ["charts/one", "charts/two"]
            .iter()
            .map(|chart| {
                std::process::Command::new(assert_cmd::cargo::cargo_bin("xtask"))
                    .args(["images", "--update", "--insecure-registry", &host, chart])
                    .current_dir(root)
                    .env("DOCKER_CONFIG", docker.path())
                    .env_remove("HELM_BIN")
                    .env_remove("NEX_HELM")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            // The images' own findings (one platform, say) are beside the point: the writes are.
            assert!(
                matches!(out.status.code(), Some(0 | 1))
                    && String::from_utf8_lossy(&out.stderr).contains("wrote images.lock.yaml"),
                "round {round}: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let lock = std::fs::read_to_string(root.join("images.lock.yaml")).unwrap();
        for app in ["one", "two"] {
            assert!(lock.contains(&format!("{host}/team/{app}:1.0.0")), "round {round}: {app} lost:\n{lock}");
        }
    }
}

/// Pushes a one-platform image `repo:tag` to the registry at `host`.
fn push_image(host: &str, repo: &str, tag: &str) {
    use sha2::Digest;
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let blob = |bytes: &[u8]| {
        let digest = format!("sha256:{:x}", sha2::Sha256::digest(bytes));
        let resp = agent.post(&format!("http://{host}/v2/{repo}/blobs/uploads/")).send_empty().unwrap();
        let location = resp.headers().get("location").unwrap().to_str().unwrap().to_owned();
        let url = if location.starts_with("http") { location } else { format!("http://{host}{location}") };
        let sep = if url.contains('?') { '&' } else { '?' };
        let resp = agent.put(&format!("{url}{sep}digest={digest}")).send(bytes).unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        (digest, bytes.len())
    };
    let layer = format!("layer of {repo}").into_bytes();
    let (layer_digest, layer_size) = blob(&layer);
    let config = serde_json::json!({"architecture": "amd64", "os": "linux",
        "config": {"User": "65532"}, "rootfs": {"type": "layers", "diff_ids": [layer_digest]}});
    let (config_digest, config_size) = blob(&serde_json::to_vec(&config).unwrap());
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer_size}]});
    let resp = agent
        .put(&format!("http://{host}/v2/{repo}/manifests/{tag}"))
        .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        .send(&serde_json::to_vec(&manifest).unwrap()[..])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
}

/// A git repository: the hardening chart committed on `main` (also
/// `origin/main`) with `hostile` applied, then a branch `change` where
/// `hostile` is undone by `clean`.
fn hostile_target(hostile: impl FnOnce(&Path), clean: impl FnOnce(&Path)) -> tempfile::TempDir {
    let cat = support::one_chart(&fixtures().join("hardening"), "app");
    let dir = cat.path();
    hostile(dir);
    support::git(dir, &["init", "-q", "-b", "main"]);
    support::git(dir, &["add", "-A"]);
    support::git(dir, &["commit", "-q", "-m", "catalog"]);
    let url = dir.to_string_lossy().into_owned();
    support::git(dir, &["remote", "add", "origin", &url]);
    support::git(dir, &["fetch", "-q", "origin"]);
    support::git(dir, &["checkout", "-q", "-b", "change"]);
    clean(dir);
    support::git(dir, &["add", "-A"]);
    support::git(dir, &["commit", "-q", "--allow-empty", "-m", "change"]);
    cat
}

// Item 12: `diff` on a hostile target branch printed a template linked
// outside the repository and read a 600 MB file whole.
#[test]
fn a_hostile_target_branch_is_refused_by_the_working_trees_rules() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("leak.yaml");
    std::fs::write(
        &secret,
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n  s: {SECRET}\n"),
    )
    .unwrap();
    let link = "charts/app/templates/leak.yaml";
    let cat = hostile_target(
        |d| std::os::unix::fs::symlink(&secret, d.join(link)).unwrap(),
        |d| std::fs::remove_file(d.join(link)).unwrap(),
    );
    for args in [&["diff"][..], &["lint", "--changed"][..]] {
        let out = run_for(cat.path(), 300, args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.all());
        assert!(out.stderr.contains("leak.yaml is a link to"), "{args:?}: {}", out.stderr);
    }
    // A file over the cap is refused as the tree streams in (never held whole).
    let big = "charts/app/files/big.bin";
    let cat = hostile_target(
        |d| {
            std::fs::create_dir_all(d.join("charts/app/files")).unwrap();
            let f = std::fs::File::create(d.join(big)).unwrap();
            f.set_len(nex_harness::fsio::limit::TREE_FILE + 1).unwrap();
        },
        |d| std::fs::remove_file(d.join(big)).unwrap(),
    );
    let out = run_for(cat.path(), 300, &["diff"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("big.bin is 16777217 bytes"), "{}", out.stderr);
}
