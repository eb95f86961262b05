//! The GitHub workflows, checked where no GitHub runs: actions pinned by
//! commit SHA, tool versions read from the one file, the install matrix
//! covering the lowest Kubernetes the charts claim, the release re-runnable
//! and gated, and the chart selection for kind (a library change installs its
//! test chart). actionlint and zizmor run in .ci/run and in the workflows.

use serde_json::Value;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn workflow(name: &str) -> (String, Value) {
    let text = std::fs::read_to_string(workspace().join(".github/workflows").join(name)).unwrap();
    let value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    (text, value)
}

/// The lowest `>=MAJOR.MINOR` any chart's kubeVersion claims.
fn lowest_claimed_minor() -> (u64, u64, String) {
    let root = workspace();
    let mut lowest: Option<(u64, u64, String)> = None;
    for entry in std::fs::read_dir(root.join("charts")).unwrap() {
        let path = entry.unwrap().path().join("Chart.yaml");
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let meta: Value = serde_saphyr::from_str(&text).unwrap();
        let Some(kv) = meta["kubeVersion"].as_str() else { continue };
        let from = kv.split(">=").nth(1).unwrap_or_else(|| panic!("{}: kubeVersion {kv}", path.display()));
        let mut parts = from.trim().split(['.', '-', ' ', '"']).filter_map(|p| p.parse::<u64>().ok());
        let (major, minor) = (parts.next().unwrap(), parts.next().unwrap());
        if lowest.as_ref().is_none_or(|(a, b, _)| (major, minor) < (*a, *b)) {
            lowest = Some((major, minor, path.display().to_string()));
        }
    }
    lowest.expect("no chart claims a kubeVersion")
}

#[test]
fn actions_are_pinned_by_commit_sha_with_their_tag() {
    for name in ["pull-request.yaml", "release.yaml"] {
        let (text, _) = workflow(name);
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let Some(rest) = line.trim_start().trim_start_matches("- ").strip_prefix("uses: ") else {
                continue;
            };
            n += 1;
            let (spec, comment) = rest.split_once(" # ").unwrap_or((rest, ""));
            let (_, sha) = spec.split_once('@').unwrap();
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{name}:{}: `{spec}` is not pinned by commit SHA",
                i + 1
            );
            assert!(
                comment.starts_with('v'),
                "{name}:{}: the SHA needs its tag in a comment (`# vX.Y.Z`)",
                i + 1
            );
        }
        assert!(n > 0, "{name} uses no action");
    }
}

#[test]
fn tool_versions_come_from_the_one_file() {
    let tools = nex_harness::tools::ToolVersions::load(&workspace()).unwrap();
    for name in ["pull-request.yaml", "release.yaml"] {
        let (text, _) = workflow(name);
        // No version literal in an action's inputs: each is `${{ env.X }}` from the file.
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            for key in ["version:", "cosign-release:", "kubectl_version:"] {
                if let Some(v) = t.strip_prefix(key) {
                    let v = v.trim();
                    assert!(
                        v.starts_with("${{ env."),
                        "{name}:{}: `{t}`: read it from the tool-versions file",
                        i + 1
                    );
                    let var = v.trim_start_matches("${{ env.").trim_end_matches(" }}");
                    assert!(
                        tools.get(var).is_some() || var.starts_with("NODE_"),
                        "{name}:{}: {var} is not in {}",
                        i + 1,
                        nex_harness::tools::FILE
                    );
                }
            }
        }
        if text.contains("${{ env.") {
            assert!(
                text.contains("grep -E '^[A-Z0-9_]+=' .github/tool-versions.env >> \"$GITHUB_ENV\""),
                "{name} reads env versions but never loads the tool-versions file"
            );
        }
    }
}

#[test]
fn the_install_matrix_covers_the_lowest_claimed_kubernetes_and_every_minor_is_pinned() {
    let (_, pr) = workflow("pull-request.yaml");
    let matrix = &pr["jobs"]["install"]["strategy"]["matrix"];
    let mut minors: Vec<String> =
        matrix["kubernetes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    minors.extend(
        matrix["include"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["kubernetes"].as_str().map(str::to_owned)),
    );
    let (major, minor, chart) = lowest_claimed_minor();
    let lowest = format!("{major}.{minor}");
    assert!(
        minors.contains(&lowest),
        "{chart} claims Kubernetes >={lowest}, the install matrix tests {minors:?}"
    );
    let tools = nex_harness::tools::ToolVersions::load(&workspace()).unwrap();
    let pinned: Vec<String> = tools.node_images().unwrap().into_iter().map(|(m, ..)| m).collect();
    for m in &minors {
        assert!(
            pinned.contains(m),
            "matrix Kubernetes {m} has no KIND_NODE_ in the tool-versions file ({pinned:?})"
        );
        // The harness picks the same image for it.
        nex_harness::release::ct::node_image(m).unwrap();
    }
    assert!(minors.contains(&pinned[0]), "the newest pinned Kubernetes ({}) is not tested", pinned[0]);
}

#[test]
fn the_release_is_gated_re_runnable_and_verifies_the_exact_identity() {
    let (text, release) = workflow("release.yaml");
    assert!(release["on"].get("workflow_dispatch").is_some(), "no workflow_dispatch re-run");
    let job = &release["jobs"]["release"];
    assert_eq!(job["environment"], "release");
    assert_eq!(job["permissions"]["id-token"], "write");
    assert!(text.contains("--certificate-identity \"$IDENTITY\""), "cosign verify must pin the identity");
    assert!(!text.contains("certificate-identity-regexp"), "an unanchored regexp accepts any workflow");
    assert!(text.contains("IDENTITY: https://github.com/${{ github.workflow_ref }}"));
    assert!(text.contains("--dependency-repo"), "packaged charts must name the published repository");
    assert!(text.contains("--sign \"$SIGNING_FINGERPRINT\""), "the HTTP repository's provenance");
    assert!(workspace().join("artifacthub-repo.yml").is_file());
}

/// Runs `.github/scripts/charts-to-install` with a `ct` that reports `changed`.
fn charts_to_install(changed: &str) -> String {
    let root = workspace();
    let bin = tempfile::tempdir().unwrap();
    let ct = bin.path().join("ct");
    // ct itself needs a git history and its own config; what the script does
    // with ct's answer is what is tested here.
    std::fs::write(&ct, format!("#!/bin/sh\nprintf '{changed}'\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ct, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default());
    let out = std::process::Command::new(root.join(".github/scripts/charts-to-install"))
        .arg("ct.yaml")
        .current_dir(&root)
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
}

#[test]
fn a_library_change_installs_its_test_chart() {
    assert_eq!(charts_to_install("charts/common\\n"), "charts/common-test");
    assert_eq!(charts_to_install("charts/glance\\ncharts/common\\n"), "charts/common-test,charts/glance");
    assert_eq!(charts_to_install("charts/common-test\\ncharts/common\\n"), "charts/common-test");
    assert_eq!(charts_to_install("charts/gatus\\n"), "charts/gatus");
    assert_eq!(charts_to_install(""), "");
}

/// The one pinned Rust toolchain (rust-toolchain.toml): an exact release, with the
/// components the workflows run, at or above the workspace's rust-version; every job
/// that runs cargo installs it (never `stable`) before cargo or the Rust cache; and
/// the toolchain running these tests is the pinned one wherever rustup manages it.
#[test]
fn the_rust_toolchain_is_pinned_and_every_job_installs_the_pin() {
    let root = workspace();
    let file: toml_like::Toolchain = toml_like::read(&root.join("rust-toolchain.toml"));
    let parts: Vec<u64> = file.channel.split('.').map(|p| p.parse().unwrap_or(u64::MAX)).collect();
    assert!(
        parts.len() == 3 && parts.iter().all(|p| *p != u64::MAX),
        "rust-toolchain.toml: channel `{}` is not an exact release (X.Y.Z)",
        file.channel
    );
    for c in ["rustfmt", "clippy"] {
        assert!(file.components.iter().any(|x| x == c), "rust-toolchain.toml lacks component {c}");
    }
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let msrv = manifest.lines().find_map(|l| l.strip_prefix("rust-version = ")).unwrap().trim_matches('"');
    let msrv: Vec<u64> = msrv.split('.').map(|p| p.parse().unwrap()).collect();
    assert!(msrv[..] <= parts[..2], "rust-version {msrv:?} is above the pinned {}", file.channel);

    const INSTALL: &str = "rustup show active-toolchain || rustup toolchain install --no-self-update";
    let mut jobs_with_cargo = 0;
    for entry in std::fs::read_dir(root.join(".github/workflows")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let (text, flow) = workflow(&name);
        for banned in ["rustup default", "toolchain install stable", "toolchain install nightly", "@stable"] {
            assert!(!text.contains(banned), "{name}: `{banned}` bypasses rust-toolchain.toml");
        }
        for (job, spec) in flow["jobs"].as_object().unwrap() {
            let mut installed = false;
            let mut ran_cargo = false;
            for step in spec["steps"].as_array().into_iter().flatten() {
                let run = step["run"].as_str().unwrap_or_default();
                if run.trim() == INSTALL {
                    installed = true;
                }
                let uses_cargo = run.split_whitespace().any(|w| w == "cargo")
                    || step["uses"].as_str().is_some_and(|u| u.starts_with("Swatinem/rust-cache@"));
                if uses_cargo {
                    ran_cargo = true;
                    assert!(installed, "{name}: job {job} runs cargo before installing the pinned toolchain");
                }
            }
            jobs_with_cargo += usize::from(ran_cargo);
        }
    }
    assert!(jobs_with_cargo >= 6, "only {jobs_with_cargo} jobs run cargo: is the step check reading steps?");

    // rustup tells the processes it starts which toolchain it chose, and why.
    if let Ok(running) = std::env::var("RUSTUP_TOOLCHAIN") {
        assert!(
            running == file.channel || running.starts_with(&format!("{}-", file.channel)),
            "these tests run on {running} (RUSTUP_TOOLCHAIN_SOURCE={:?}), not the pinned {}",
            std::env::var("RUSTUP_TOOLCHAIN_SOURCE"),
            file.channel
        );
    }
}

/// rust-toolchain.toml's two keys, read without a TOML crate (the file is four lines).
mod toml_like {
    pub struct Toolchain {
        pub channel: String,
        pub components: Vec<String>,
    }

    pub fn read(path: &std::path::Path) -> Toolchain {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let value = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key).and_then(|r| r.trim_start().strip_prefix('=')))
                .unwrap_or_else(|| panic!("{}: no `{key}`", path.display()))
                .trim()
                .to_owned()
        };
        let components = value("components");
        Toolchain {
            channel: value("channel").trim_matches('"').to_owned(),
            components: components
                .trim_matches(['[', ']'])
                .split(',')
                .map(|c| c.trim().trim_matches('"').to_owned())
                .filter(|c| !c.is_empty())
                .collect(),
        }
    }
}

/// The release checks the repository's settings before it publishes anything, and
/// gives the HTTP repository only packages anyone can pull (tests/release_doctor.rs
/// runs the same command against loopback stand-ins).
#[test]
fn the_release_stops_on_missing_settings_before_publishing_anything() {
    let (_, release) = workflow("release.yaml");
    let jobs = &release["jobs"];
    let run_of = |step: &Value| step["run"].as_str().unwrap_or_default().to_owned();
    let preflight: Vec<String> = jobs["preflight"]["steps"].as_array().unwrap().iter().map(run_of).collect();
    assert!(
        preflight.iter().any(|r| r.contains("cargo xtask release doctor --fix") && r.contains("--pages-url"))
    );
    assert_eq!(jobs["preflight"]["permissions"]["contents"], "write", "it creates gh-pages");
    assert_eq!(jobs["images"]["needs"], "preflight");
    let needs: Vec<&str> =
        jobs["release"]["needs"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(needs.contains(&"preflight") && needs.contains(&"images"), "{needs:?}");
    let steps: Vec<String> = jobs["release"]["steps"].as_array().unwrap().iter().map(run_of).collect();
    let at = |needle: &str| {
        steps
            .iter()
            .position(|r| r.contains(needle))
            .unwrap_or_else(|| panic!("no release step runs {needle}"))
    };
    let gate = at("release doctor --require-public");
    assert!(at("cargo xtask publish --oci") < gate, "the gate checks what was pushed");
    assert!(gate < at("cr upload"), "nothing reaches the HTTP repository before the gate");
    assert!(gate < at("artifacthub-repo.yml"));
}
