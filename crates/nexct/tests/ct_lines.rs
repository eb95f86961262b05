//! Real `ct lint` command lines, pasted from the CI workflows of chart
//! repositories (fetched at the commits below), run with `ct` replaced by
//! `nexct` and nothing else changed, in a repository laid out as each line
//! expects: every line parses, means what it means to ct, and lints its charts.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

mod support;
use support::{git, workspace};

/// One CI line: where it comes from, the line as the shell receives it (GitHub
/// expressions replaced by what they stand for), its environment, the repository's
/// ct configuration file, its default branch, and where its charts live.
#[derive(Clone, Copy)]
struct Line {
    source: &'static str,
    line: &'static str,
    env: &'static [(&'static str, &'static str)],
    config: Option<(&'static str, &'static str)>,
    branch: &'static str,
    charts: &'static [&'static str],
}

const LINES: &[Line] = &[
    Line {
        // Its reusable workflow's inputs: ct_configfile ct.yaml, ct_check_version_increment true.
        source: "grafana/helm-charts@7a0ab968961a165318ab95ff678908c3b9bc3240 .github/workflows/lint-test.yaml:85",
        line: r#"ct lint --config "${CT_CONFIGFILE}" --check-version-increment="${CT_CHECK_VERSION_INCREMENT}""#,
        env: &[("CT_CONFIGFILE", "ct.yaml"), ("CT_CHECK_VERSION_INCREMENT", "true")],
        config: Some((
            "ct.yaml",
            "remote: origin\ntarget-branch: main\nchart-dirs:\n  - charts\nchart-repos:\n  - grafana=https://grafana.github.io/helm-charts\nhelm-extra-args: --timeout 600s\nvalidate-maintainers: false\nexclude-deprecated: true\n",
        )),
        branch: "main",
        charts: &["charts/app"],
    },
    Line {
        source: "kubernetes-sigs/external-dns@2bf1bf8af2b70f23579f9147c1f7e9394f7f83d5 .github/workflows/lint-test-chart.yaml:190",
        line: "ct lint --charts=./charts/external-dns --target-branch=master --check-version-increment=false",
        env: &[],
        config: None,
        branch: "master",
        charts: &["charts/external-dns"],
    },
    Line {
        source: "open-telemetry/opentelemetry-helm-charts@dd5665c06f376c00a5e2147aa84b70c3d105ecfb .github/workflows/lint.yaml:30",
        // A double-quoted YAML scalar over six lines: YAML folds them into one.
        line: "ct lint --target-branch main \
               --chart-repos opentelemetry-collector=https://open-telemetry.github.io/opentelemetry-helm-charts \
               --chart-repos prometheus=https://prometheus-community.github.io/helm-charts \
               --chart-repos grafana=https://grafana-community.github.io/helm-charts \
               --chart-repos jaeger=https://jaegertracing.github.io/helm-charts \
               --chart-repos opensearch=https://opensearch-project.github.io/helm-charts",
        env: &[],
        config: Some((
            "ct.yaml",
            "remote: origin\nchart-dirs:\n  - charts\nhelm-extra-args: --timeout 600s\n",
        )),
        branch: "main",
        charts: &["charts/collector"],
    },
    Line {
        source: "deliveryhero/helm-charts@17aac330c35a61a0cde2052aa6fe5ab18e9a036f .github/workflows/chart-testing.yml:35",
        line: "ct lint --validate-maintainers=false --config ci/ct.yaml",
        env: &[],
        config: Some((
            "ci/ct.yaml",
            "remote: origin\ntarget-branch: master\nchart-dirs:\n  - stable\nchart-repos:\n  - stable=https://charts.helm.sh/stable\n  - bitnami=https://charts.bitnami.com/bitnami\n",
        )),
        branch: "master",
        charts: &["stable/app"],
    },
    Line {
        source: "kubernetes-sigs/metrics-server@5ed5d3a2cf940a8c7541cfbac19af822f4c97844 .github/workflows/lint-test-chart.yaml:82",
        line: "ct lint --target-branch=master --check-version-increment=false",
        env: &[],
        config: None,
        branch: "master",
        charts: &["charts/metrics-server"],
    },
    Line {
        // Through its Makefile (`make lint`), in ct's image.
        source: "traefik/traefik-helm-chart@a8a66d0098703627b2cf352c66b1725c196a734a hack/ct.sh:15",
        line: r#"ct "${ACTION}" --config=.github/chart-testing.yaml --charts traefik/,hub-manager/"#,
        env: &[("ACTION", "lint")],
        config: Some((
            ".github/chart-testing.yaml",
            "remote: origin\ntarget-branch: master\ndebug: false\ncheck-version-increment: true\nupgrade: true\nvalidate-chart-schema: true\nvalidate-yaml: true\n",
        )),
        branch: "master",
        charts: &["traefik", "hub-manager"],
    },
    Line {
        source: "helm/chart-testing-action@2e2940618cb426dce2999631d543b53cdcfc8527 .github/workflows/test-action.yml:105",
        line: "ct lint --chart-dirs=testdata --target-branch main",
        env: &[],
        config: None,
        branch: "main",
        charts: &["testdata/simple-deployment"],
    },
];

/// A chart ct and Kubernetes both pass: maintainers that are account names,
/// yamllint-clean files, a ConfigMap.
fn write_chart(dir: &Path) {
    let name = dir.file_name().unwrap().to_string_lossy();
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: {name}\ndescription: A chart\nversion: 1.0.0\nappVersion: \"1.0\"\n\
             maintainers:\n  - name: octocat\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("values.yaml"), "greeting: hello\n").unwrap();
    std::fs::write(
        dir.join("templates/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-{{ .Chart.Name }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
    )
    .unwrap();
}

/// An upstream on `branch` holding the configuration, and a clone whose branch
/// adds the charts (so they are the changed ones, as in a pull request).
fn repository(l: &Line) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let upstream = tmp.path().join("upstream");
    std::fs::create_dir_all(&upstream).unwrap();
    git(&upstream, &["init", "-q", "-b", l.branch]);
    std::fs::write(upstream.join("README.md"), "repo\n").unwrap();
    if let Some((path, text)) = l.config {
        let p = upstream.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    git(&upstream, &["add", "-A"]);
    git(&upstream, &["commit", "-qm", "base"]);
    // Leave the default branch free to be pushed to.
    git(&upstream, &["checkout", "-qb", "elsewhere"]);
    git(tmp.path(), &["clone", "-q", upstream.to_str().unwrap(), "work"]);
    let work = tmp.path().join("work");
    git(&work, &["checkout", "-qb", "pull-request"]);
    for chart in l.charts {
        write_chart(&work.join(chart));
    }
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "charts"]);
    (tmp, work)
}

/// `nexct`, run as the CI's shell runs the line: `ct` replaced by the binary.
fn run(l: &Line, work: &Path) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("nexct");
    let line = l.line.replacen("ct ", &format!("{} ", bin.display()), 1);
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &line])
        .current_dir(work)
        .env_remove("HELM_BIN")
        .env_remove("NEX_HELM")
        .env("NO_COLOR", "1")
        // The pinned helm and schemas of this workspace, not the user's cache.
        .env("NEX_CACHE_DIR", workspace().join("target/nex-cache"));
    for (k, v) in l.env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn every_pasted_ct_line_parses_and_lints_its_charts() {
    for l in LINES {
        let (_tmp, work) = repository(l);
        let out = run(l, &work);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let context = format!("{}\n{}\nstdout:\n{stdout}\nstderr:\n{stderr}", l.source, l.line);
        assert_eq!(out.status.code(), Some(0), "{context}");
        let n = l.charts.len();
        let summary = format!("0 errors, 0 warnings in {n} chart{}", if n == 1 { "" } else { "s" });
        assert!(stdout.contains(&summary), "{context}");
        for chart in l.charts {
            let name = Path::new(chart).file_name().unwrap().to_string_lossy();
            assert!(!stdout.contains(&format!("── {name}")), "a clean chart has no findings: {context}");
        }
    }
}

#[test]
fn the_lines_mean_what_they_mean_to_ct() {
    // deliveryhero's line turns maintainer validation off: without it, ct fails a chart
    // whose maintainer is no account name; so does nexct.
    let l = &LINES[3];
    let (_tmp, work) = repository(l);
    let chart = work.join("stable/app/Chart.yaml");
    let text = std::fs::read_to_string(&chart).unwrap().replace("name: octocat", "name: Octo Cat");
    std::fs::write(&chart, text).unwrap();
    assert_eq!(run(l, &work).status.code(), Some(0), "--validate-maintainers=false");
    let strict = Line { line: "ct lint --config ci/ct.yaml", ..*l };
    let out = run(&strict, &work);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("chart/maintainers"));

    // grafana's CT_CHECK_VERSION_INCREMENT is ct's environment variable for the key
    // too; a chart whose version did not grow fails only when it is on.
    let l = &LINES[0];
    let (_tmp, work) = repository(l);
    git(&work, &["push", "-q", "origin", "pull-request:main"]);
    git(&work, &["fetch", "-q", "origin"]);
    let cm = work.join("charts/app/templates/configmap.yaml");
    std::fs::write(&cm, std::fs::read_to_string(&cm).unwrap() + "  more: \"1\"\n").unwrap();
    let out = run(l, &work);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("chart/version-increment"));
    let lax = Line { env: &[("CT_CONFIGFILE", "ct.yaml"), ("CT_CHECK_VERSION_INCREMENT", "false")], ..*l };
    assert_eq!(run(&lax, &work).status.code(), Some(0));
}

#[test]
fn install_flags_are_refused_with_the_reason() {
    let (_tmp, work) = repository(&LINES[1]);
    let l = Line { line: "ct lint --all --namespace ci --release-label app", ..LINES[1] };
    let out = run(&l, &work);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--namespace, --release-label are `ct install` flags"), "{stderr}");
}
