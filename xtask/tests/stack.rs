//! `cargo xtask stack`: each stack rule fires on its fixture at the place that
//! causes it, bad stack files get located errors, the owner's stack lints
//! clean, its exports match their snapshots, and a warm run spawns no helm.

mod support;

use std::path::{Path, PathBuf};
use support::xtask_in;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stacks").join(name)
}

/// Runs `stack lint` on a fixture: (exit code, JSON findings).
fn lint(name: &str) -> (i32, Vec<serde_json::Value>) {
    let target = if name == "nex-rpi" { PathBuf::from(name) } else { fixture(name) };
    let out = xtask_in(&root())
        .args(["stack", "lint", "--format", "json"])
        .arg(target)
        .output()
        .expect("run xtask");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    let findings = report["diagnostics"].as_array().cloned().unwrap_or_default();
    (out.status.code().unwrap_or(-1), findings)
}

/// The findings of one rule: (release, file:line:col, message).
fn of_rule(findings: &[serde_json::Value], rule: &str) -> Vec<(String, String, String)> {
    findings
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| {
            let l = &f["location"];
            let at = format!(
                "{}:{}:{}",
                l["file"].as_str().unwrap_or(""),
                l["line"].as_u64().unwrap_or(0),
                l["column"].as_u64().unwrap_or(0)
            );
            (f["chart"].as_str().unwrap_or("").to_owned(), at, f["message"].as_str().unwrap_or("").to_owned())
        })
        .collect()
}

fn errors(findings: &[serde_json::Value]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| format!("{} {}", f["rule"], f["message"]))
        .collect()
}

#[test]
fn the_owners_stack_lints_clean() {
    let (code, findings) = lint("nex-rpi");
    assert_eq!(code, 0, "{:#?}", errors(&findings));
}

#[test]
fn a_name_no_service_answers_is_a_reference_error_at_the_value() {
    let (code, f) = lint("reference");
    assert_eq!(code, 1);
    let r = of_rule(&f, "stack/reference");
    assert_eq!(r.len(), 1, "{f:#?}");
    assert_eq!(r[0].0, "glance");
    assert!(r[0].1.ends_with("stacks/reference/values.yaml:7:17"), "{r:?}");
    assert!(r[0].2.contains("no Service home/feeds"), "{r:?}");
}

#[test]
fn a_policy_that_blocks_the_gateway_is_reported() {
    let (code, f) = lint("gateway-blocked");
    assert_eq!(code, 1);
    let r = of_rule(&f, "stack/network-policy");
    assert_eq!(r.len(), 1, "{f:#?}");
    assert!(r[0].2.contains("the gateway (namespace envoy-gateway-system"), "{r:?}");
    assert!(r[0].2.contains("ingress to the destination"), "{r:?}");
}

#[test]
fn a_secret_nobody_makes_is_reported_at_its_name() {
    let (code, f) = lint("secret-ref");
    assert_eq!(code, 1);
    let r = of_rule(&f, "stack/secret-ref");
    assert_eq!(r.len(), 1, "{f:#?}");
    assert!(r[0].1.ends_with("stacks/secret-ref/values.yaml:3:13"), "{r:?}");
    assert!(r[0].2.contains("Secret home/glance-api-keys"), "{r:?}");
}

#[test]
fn an_over_budget_node_is_reported_at_the_node() {
    let (code, f) = lint("budget");
    assert_eq!(code, 1);
    let r = of_rule(&f, "stack/budget");
    assert_eq!(r.len(), 1, "{f:#?}");
    assert!(r[0].1.ends_with("stacks/budget/stack.yaml:4:5"), "{r:?}");
    assert!(r[0].2.contains("node tiny"), "{r:?}");
}

#[test]
fn two_releases_making_one_object_clash() {
    let (code, f) = lint("name-clash");
    assert_eq!(code, 1);
    let r = of_rule(&f, "stack/name-clash");
    assert!(!r.is_empty(), "{f:#?}");
    assert!(r.iter().all(|(release, at, _)| release == "glance-b" && at.ends_with("stacks/name-clash/stack.yaml:8:5")), "{r:?}");
    assert!(r.iter().any(|(_, _, m)| m.starts_with("Deployment home/glance")), "{r:?}");
}

#[test]
fn a_bad_stack_file_gets_every_located_error() {
    let (code, f) = lint("bad-file");
    assert_eq!(code, 1);
    let r = of_rule(&f, "stack/file");
    let at: Vec<&str> =
        r.iter().map(|(_, at, _)| at.rsplit("stacks/bad-file/").next().unwrap_or("")).collect();
    // Sorted by place: the missing values file, the unknown key, the missing chart.
    assert_eq!(at, ["stack.yaml:7:14", "stack.yaml:8:5", "stack.yaml:10:5"], "{r:#?}");
    assert!(r[0].2.contains("missing-values.yaml"), "{r:?}");
    assert!(r[1].2.contains("replicas"), "{r:?}");
    assert!(r[2].2.contains("no-such-chart"), "{r:?}");
}

#[test]
fn a_missing_stack_is_a_usage_error() {
    let out = xtask_in(&root()).args(["stack", "lint", "no-such-stack"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no stack file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn export(format: &str) -> String {
    let out = tempfile::tempdir().unwrap();
    let run = xtask_in(&root())
        .args(["stack", "export", "nex-rpi", "--format", format, "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let mut files: Vec<PathBuf> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            format!(
                "### {}\n{}",
                f.file_name().unwrap().to_string_lossy(),
                std::fs::read_to_string(f).unwrap()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn flux_export_matches_its_snapshot() {
    insta::assert_snapshot!("nex-rpi-flux", export("flux"));
}

#[test]
fn argocd_export_matches_its_snapshot() {
    insta::assert_snapshot!("nex-rpi-argocd", export("argocd"));
}

#[test]
fn an_export_that_breaks_its_crd_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let stack =
        nex_harness::stack::file::read(&root().join("stacks/nex-rpi/stack.yaml")).expect("stack file");
    let mut objects =
        nex_harness::stack::export::objects(&stack, nex_harness::stack::export::Format::Flux).unwrap();
    let release = objects.iter_mut().find(|e| e.object["kind"] == "HelmRelease").expect("a HelmRelease");
    release.object["spec"]["intervall"] = serde_json::json!("5m");
    let crds = root().join(nex_harness::stack::export::GITOPS_CRDS);
    let err = nex_harness::stack::export::write(&objects, dir.path(), &crds).unwrap_err().to_string();
    assert!(err.contains("intervall"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// A release may render into another release's namespace (authelia's Middlewares go to
/// `home` and `dns`): every namespace exists before any release, with the labels the
/// stack's NetworkPolicies were judged with, and is never pruned.
#[test]
fn the_export_makes_every_namespace_first_with_the_stacks_labels() {
    let dir = tempfile::tempdir().unwrap();
    // A stack's charts lie inside its repository (absolute paths are refused): copies here.
    for chart in ["glance", "gatus", "authelia"] {
        let to = dir.path().join("charts").join(chart);
        std::fs::create_dir_all(&to).unwrap();
        std::fs::copy(root().join("charts").join(chart).join("Chart.yaml"), to.join("Chart.yaml")).unwrap();
    }
    std::fs::write(
        dir.path().join("stack.yaml"),
        "name: ns\nrepository: {url: https://example.org/charts}\nnodes: [{name: n, arch: amd64, cpu: 2, memory: 4Gi}]\n\
         namespaces: {home: {zone: lan}, elsewhere: {zone: x}}\n\
         releases:\n\
         - {name: glance, chart: charts/glance, namespace: home}\n\
         - {name: gatus, chart: charts/gatus, namespace: home}\n\
         - {name: authelia, chart: charts/authelia, namespace: sso}\n",
    )
    .unwrap();
    let stack = nex_harness::stack::file::read(&dir.path().join("stack.yaml")).expect("stack file");
    for format in [nex_harness::stack::export::Format::Flux, nex_harness::stack::export::Format::Argocd] {
        let objects = nex_harness::stack::export::objects(&stack, format).unwrap();
        let kinds: Vec<String> = objects
            .iter()
            .map(|e| {
                format!(
                    "{}/{}",
                    e.object["kind"].as_str().unwrap(),
                    e.object["metadata"]["name"].as_str().unwrap()
                )
            })
            .collect();
        let first_release = kinds
            .iter()
            .position(|k| k.starts_with("HelmRelease/") || k.starts_with("Application/"))
            .unwrap();
        let namespaces: Vec<&String> = kinds.iter().filter(|k| k.starts_with("Namespace/")).collect();
        assert_eq!(namespaces, ["Namespace/home", "Namespace/sso"], "{kinds:?}");
        assert!(
            kinds.iter().rposition(|k| k.starts_with("Namespace/")).unwrap() < first_release,
            "{kinds:?}"
        );
        let home = &objects.iter().find(|e| e.object["metadata"]["name"] == "home").unwrap().object;
        assert_eq!(home["metadata"]["labels"]["zone"], "lan");
        assert_eq!(home["metadata"]["labels"]["app.kubernetes.io/part-of"], "ns");
        assert_eq!(home["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/prune"], "disabled");
        assert_eq!(home["metadata"]["annotations"]["argocd.argoproj.io/sync-options"], "Prune=false");
        let sso = &objects.iter().find(|e| e.object["metadata"]["name"] == "sso").unwrap().object;
        assert!(sso["metadata"]["labels"].get("zone").is_none());
        let out = dir.path().join(format!("{format:?}"));
        nex_harness::stack::export::write(
            &objects,
            &out,
            &root().join(nex_harness::stack::export::GITOPS_CRDS),
        )
        .expect("valid export");
        let kustomization = std::fs::read_to_string(out.join("kustomization.yaml")).unwrap();
        assert!(
            kustomization.contains("  - namespace-home.yaml\n  - namespace-sso.yaml\n"),
            "{kustomization}"
        );
    }
}

#[test]
fn a_warm_stack_lint_spawns_no_helm() {
    let cache = nex_harness::provision::cache_root();
    let real =
        nex_harness::provision::ensure(&nex_harness::provision::HELM_4, &cache).expect("pinned helm").path;
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("calls.log");
    let wrapper = tmp.path().join("helm");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\nexec '{}' \"$@\"\n", log.display(), real.display()),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let run = || {
        let out =
            xtask_in(&root()).args(["stack", "lint", "nex-rpi"]).env("HELM_BIN", &wrapper).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    };
    run();
    let _ = std::fs::remove_file(&log);
    run();
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(calls.is_empty(), "a warm stack lint ran helm:\n{calls}");
}

/// `stack diff` in a throwaway repository: the diff tests' fixture catalog and a
/// stack on `main` (also `origin/main`), then a branch that changes the stack's
/// values (a new image tag) and adds a release.
#[test]
fn stack_diff_shows_what_the_branch_changes_in_each_release() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    support::copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diff"), dir);
    std::fs::create_dir_all(dir.join("stacks/s")).unwrap();
    let stack = "name: s\nreleases:\n  - name: web\n    chart: ../../charts/app\n    namespace: web\n    values: [web.yaml]\n";
    std::fs::write(dir.join("stacks/s/stack.yaml"), stack).unwrap();
    std::fs::write(dir.join("stacks/s/web.yaml"), "image:\n  tag: \"1.0.0\"\n").unwrap();
    support::git(dir, &["init", "-q", "-b", "main"]);
    support::git(dir, &["add", "-A"]);
    support::git(dir, &["commit", "-q", "-m", "stack"]);
    support::git(dir, &["remote", "add", "origin", &dir.to_string_lossy()]);
    support::git(dir, &["fetch", "-q", "origin"]);
    support::git(dir, &["checkout", "-q", "-b", "change"]);
    std::fs::write(dir.join("stacks/s/web.yaml"), "image:\n  tag: \"1.1.0\"\n").unwrap();
    let grown = format!("{stack}  - name: api\n    chart: ../../charts/app\n    namespace: api\n");
    std::fs::write(dir.join("stacks/s/stack.yaml"), grown).unwrap();
    support::git(dir, &["commit", "-q", "-am", "change"]);
    let out = xtask_in(dir).args(["stack", "diff", "s"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("release web"), "{text}");
    assert!(text.contains("1.0.0") && text.contains("1.1.0"), "the tag change is shown:\n{text}");
    assert!(text.contains("release api"), "{text}");
    let api = &text[text.find("release api").unwrap()..];
    assert!(api.contains("added"), "a release new on the branch is all added:\n{api}");
}

#[test]
fn an_exposure_nothing_exposes_or_a_policy_drops_is_reported_at_its_entry() {
    let (code, f) = lint("exposure");
    assert_eq!(code, 1);
    let r = of_rule(&f, "stack/exposure");
    let at = |name: &str| -> Vec<&(String, String, String)> {
        r.iter().filter(|(_, _, m)| m.starts_with(&format!("serves `{name}`"))).collect()
    };
    let closed = at("dns-cluster-only");
    assert_eq!(closed.len(), 1, "{r:#?}");
    assert!(closed[0].1.ends_with("stacks/exposure/stack.yaml:8:5"), "{closed:?}");
    assert!(
        closed[0].2.contains("nothing exposes 53/UDP") && closed[0].2.contains("ClusterIP"),
        "{closed:?}"
    );
    // ServiceLB masquerades: the LAN ipBlock never matches what the pod sees, on either protocol.
    let filtered = at("dns-lan-only");
    assert_eq!(filtered.len(), 2, "{r:#?}");
    assert!(
        filtered.iter().all(|(release, _, m)| release == "dns-b" && m.contains("k3s' ServiceLB pod")),
        "{filtered:?}"
    );
    let web = at("web");
    assert!(
        web.len() == 1
            && web[0].2.contains("no HTTPRoute or Ingress of the stack serves host dns.home.example.org"),
        "{web:?}"
    );
}

#[test]
fn a_plain_text_yaldap_password_is_reported_at_the_value_unless_the_stack_allows_it() {
    let (code, f) = lint("credentials");
    assert_eq!(code, 1);
    let r = of_rule(&f, "stack/credentials");
    // One: the placeholder of release `ldap`; the PHC hash passes; `ldap-demo` is allowed.
    assert_eq!(r.len(), 1, "{f:#?}");
    assert_eq!(r[0].0, "ldap");
    assert!(r[0].1.ends_with("stacks/credentials/directory.yaml:5:43"), "{r:?}");
    assert!(r[0].2.contains("`dc:org/cn:authelia/userPassword`") && r[0].2.contains("plain text"), "{r:?}");
    assert!(!r[0].2.contains("REPLACE-WITH-A-HASH"), "a password is never printed: {r:?}");
}

#[test]
fn under_argocd_a_secret_generated_at_render_time_is_refused_by_lint_and_export() {
    let (code, f) = lint("render-time-secret");
    assert_eq!(code, 1);
    let r = of_rule(&f, "stack/render-time-secret");
    assert_eq!(r.len(), 1, "{f:#?}");
    assert!(r[0].1.ends_with("stacks/render-time-secret/stack.yaml:6:5"), "{r:?}");
    assert!(r[0].2.starts_with("Secret dns/adguard-home is generated anew on every render"), "{r:?}");
    assert!(r[0].2.contains("password, passwordHash"), "{r:?}");

    // The export refuses it for Argo CD, writing nothing; Flux runs helm against the cluster (lookup works).
    // A stack's charts lie inside the repository it is run from (absolute paths are refused).
    let stack = fixture("render-time-secret/stack.yaml").display().to_string();
    let tmp = tempfile::tempdir().unwrap();
    support::copy_dir(&root().join("charts"), &tmp.path().join("charts"));
    support::copy_dir(&root().join("schemas/gitops"), &tmp.path().join("schemas/gitops"));
    let text = std::fs::read_to_string(&stack).unwrap();
    let file = tmp.path().join("stack.yaml");
    std::fs::write(
        &file,
        format!("{}repository: {{url: https://example.org/charts}}\n", text)
            .replace("../../../../../charts", "charts"),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let run = xtask_in(tmp.path())
        .args(["stack", "export"])
        .arg(&file)
        .args(["--format", "argocd", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", String::from_utf8_lossy(&run.stderr));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("error[stack/render-time-secret]") && err.contains("Secret dns/adguard-home"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written");
    let run = xtask_in(tmp.path())
        .args(["stack", "export"])
        .arg(&file)
        .args(["--format", "flux", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
}

/// The owner's stack says it serves LAN DNS, and `stack lint` proves it: the same
/// stack with AdGuard Home's Service left ClusterIP (as it was) fails.
#[test]
fn the_owners_stack_serves_lan_dns_and_a_cluster_only_service_fails_it() {
    let stack: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(root().join("stacks/nex-rpi/stack.yaml")).unwrap())
            .unwrap();
    let dns = stack["serves"].as_array().unwrap().iter().find(|e| e["name"] == "dns").expect("serves dns");
    assert_eq!(dns["over"], "lan");
    assert_eq!(dns["release"], "adguard-home");
    assert_eq!(dns["ports"], serde_json::json!(["53/UDP", "53/TCP"]));
    assert_eq!(stack["loadBalancer"], "servicelb", "k3s' ServiceLB is what the Pi runs");
    // The subnet router routes the LAN (it advertised nothing): `stack lint` holds the values to it.
    let tailnet =
        stack["serves"].as_array().unwrap().iter().find(|e| e["name"] == "tailnet").expect("tailnet");
    assert!(!tailnet["routes"].as_array().expect("routes").is_empty(), "{tailnet}");

    // A stack's charts lie inside the repository it is run from (absolute paths are refused).
    let tmp = tempfile::tempdir().unwrap();
    support::copy_dir(&root().join("charts"), &tmp.path().join("charts"));
    let dir = tmp.path().join("stacks/nex-rpi");
    support::copy_dir(&root().join("stacks/nex-rpi"), &dir);
    let values = dir.join("values/adguard-home.yaml");
    let text = std::fs::read_to_string(&values).unwrap();
    assert!(text.contains("service:\n  type: LoadBalancer\n"));
    std::fs::write(&values, text.replace("service:\n  type: LoadBalancer\n", "")).unwrap();
    let out = xtask_in(tmp.path()).args(["stack", "lint", "--format", "json"]).arg(&dir).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["diagnostics"].as_array().cloned().unwrap_or_default();
    let r = of_rule(&findings, "stack/exposure");
    assert_eq!(r.len(), 2, "{findings:#?}");
    assert!(r.iter().all(|(_, _, m)| m.starts_with("serves `dns`: nothing exposes 53/")), "{r:?}");
}
