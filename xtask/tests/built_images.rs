//! The images this repository builds itself (`images/<name>/Dockerfile`, for
//! upstreams that publish none) can only be built on GitHub (no container
//! runtime here). What ties them to the rest of the catalog is pinned here: the
//! chart runs exactly `ghcr.io/nex-charts/<name>:<VERSION>`, the build workflow
//! builds every one, and `images.lock.yaml` states what the Dockerfile says
//! (entrypoint, command, user, ports), so the image/* rules judge the chart
//! against the image it really gets.

mod support;

use serde_json::{Value, json};
use support::{documents, workspace_root};

struct Dockerfile {
    name: String,
    version: String,
    entrypoint: Value,
    cmd: Value,
    user: String,
    ports: Vec<String>,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The instructions that matter, from the last stage (the image itself).
fn parse(name: &str) -> Dockerfile {
    let text = read(&format!("images/{name}/Dockerfile"));
    let mut d = Dockerfile {
        name: name.into(),
        version: String::new(),
        entrypoint: json!([]),
        cmd: json!([]),
        user: String::new(),
        ports: Vec::new(),
    };
    let mut seen_from = false;
    for line in text.lines() {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        match word {
            "ARG" if !seen_from => {
                if let Some(v) = rest.strip_prefix("VERSION=") {
                    d.version = v.trim().to_string();
                }
            }
            "FROM" => {
                seen_from = true;
                (d.entrypoint, d.cmd, d.user, d.ports) = (json!([]), json!([]), String::new(), Vec::new());
            }
            "ENTRYPOINT" => d.entrypoint = serde_json::from_str(rest).expect("exec-form ENTRYPOINT"),
            "CMD" => d.cmd = serde_json::from_str(rest).expect("exec-form CMD"),
            "USER" => d.user = rest.trim().to_string(),
            "EXPOSE" => d.ports.extend(rest.split_whitespace().map(str::to_string)),
            _ => {}
        }
    }
    assert!(!d.version.is_empty(), "images/{name}/Dockerfile: no global `ARG VERSION=`");
    d
}

fn built() -> Vec<Dockerfile> {
    let mut names: Vec<String> = std::fs::read_dir(workspace_root().join("images"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("Dockerfile").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(!names.is_empty());
    names.iter().map(|n| parse(n)).collect()
}

#[test]
fn the_lock_states_what_each_dockerfile_builds() {
    let lock = documents(&read("images.lock.yaml")).remove(0);
    for d in built() {
        let key = format!("ghcr.io/nex-charts/{}:{}", d.name, d.version);
        let e = &lock["images"][&key];
        assert!(
            e.is_object(),
            "images.lock.yaml has no {key}: a new VERSION in images/{}/Dockerfile needs its lock entry \
             (entrypoint, cmd, user, ports from the Dockerfile), the chart's image tag, appVersion and \
             artifacthub.io/images in the same change",
            d.name
        );
        assert_eq!(e["entrypoint"], d.entrypoint, "{key}");
        assert_eq!(e["cmd"], d.cmd, "{key}");
        assert_eq!(e["user"], d.user.as_str(), "{key}");
        let ports: Vec<String> =
            d.ports.iter().map(|p| if p.contains('/') { p.clone() } else { format!("{p}/tcp") }).collect();
        assert_eq!(e["ports"], json!(ports), "{key}");
        assert_eq!(e["source"]["path"], format!("images/{}/Dockerfile", d.name), "{key}");
        assert_eq!(
            e["platforms"],
            json!(["linux/amd64", "linux/arm64"]),
            "{key}: what publish-catalog-image builds"
        );
    }
}

#[test]
fn each_built_image_is_what_its_chart_runs_and_the_workflow_builds() {
    let workflow = read(".github/workflows/release.yaml");
    let script = read(".github/scripts/publish-catalog-image");
    assert!(script.contains("--platform linux/amd64,linux/arm64"), "publish-catalog-image: the platforms");
    for d in built() {
        assert!(
            workflow.contains(&format!("image: [{}]", d.name))
                || workflow.contains(&format!("- {}\n", d.name)),
            "release.yaml's images job does not publish {}",
            d.name
        );
        let chart = format!("charts/{}", d.name);
        let values = documents(&read(&format!("{chart}/values.yaml"))).remove(0);
        let image = &values["image"];
        assert_eq!(
            (image["registry"].as_str(), image["repository"].as_str(), image["tag"].as_str()),
            (Some("ghcr.io"), Some(format!("nex-charts/{}", d.name).as_str()), Some(d.version.as_str())),
            "{chart}/values.yaml"
        );
        let meta = documents(&read(&format!("{chart}/Chart.yaml"))).remove(0);
        assert_eq!(meta["appVersion"], d.version.as_str(), "{chart}/Chart.yaml");
        let annotation = meta["annotations"]["artifacthub.io/images"].as_str().unwrap();
        assert!(annotation.contains(&format!("ghcr.io/nex-charts/{}:{}", d.name, d.version)), "{annotation}");
    }
}

/// `.github/scripts/build-catalog-images` builds exactly the images of the charts it is
/// given (all without a list), each under the name its chart runs, and prints the names.
/// Run with a stand-in `docker` that records its arguments (there is no container runtime here).
#[test]
fn the_build_script_builds_the_images_of_the_charts_under_test() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("docker.log");
    let docker = tmp.path().join("docker");
    std::fs::write(&docker, format!("#!/bin/sh\necho \"$@\" >> '{}'\n", log.display())).unwrap();
    std::fs::set_permissions(&docker, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let script = workspace_root().join(".github/scripts/build-catalog-images");
    let run = |args: &[&str]| {
        let _ = std::fs::remove_file(&log);
        let out = std::process::Command::new(&script)
            .args(args)
            .env("PATH", format!("{}:/usr/bin:/bin", tmp.path().display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (String::from_utf8(out.stdout).unwrap(), std::fs::read_to_string(&log).unwrap_or_default())
    };
    let all: Vec<String> =
        built().iter().map(|d| format!("ghcr.io/nex-charts/{}:{}", d.name, d.version)).collect();
    let (printed, calls) = run(&[]);
    assert_eq!(printed.lines().collect::<Vec<_>>(), all);
    for d in built() {
        let dir = workspace_root().join("images").join(&d.name);
        assert!(
            calls.contains(&format!(
                "build --quiet --tag ghcr.io/nex-charts/{}:{} {}/",
                d.name,
                d.version,
                dir.display()
            )),
            "{calls}"
        );
    }
    // --list names them without building (what `cargo xtask images --unpublished` takes).
    let (printed, calls) = run(&["--list"]);
    assert_eq!(
        (printed.lines().collect::<Vec<_>>(), calls.as_str()),
        (all.iter().map(String::as_str).collect(), "")
    );
    let (printed, calls) = run(&["charts/glance,charts/gatus"]);
    assert_eq!((printed.as_str(), calls.as_str()), ("", ""));
    let (printed, _) = run(&["charts/glance,charts/yaldap"]);
    assert_eq!(
        printed.lines().collect::<Vec<_>>(),
        all.iter().filter(|r| r.contains("/yaldap:")).collect::<Vec<_>>()
    );
}
