//! Rendered application configuration against the schema its upstream publishes.
//!
//! `schemas/upstream/config-schemas.yaml` names, per chart, the rendered object
//! and key holding the app's own configuration and the vendored upstream JSON
//! Schema it must satisfy. Every scenario of the chart is rendered with the
//! pinned Helm 4 (release `nex`, namespace `nex`, the newest Kubernetes of the
//! chart's matrix) and the configuration validated, so a chart that renders a
//! key the app refuses (Authelia stops at start-up on unknown keys) fails here.

use base64::Engine as _;
use nex_harness::cache::{self, Cache};
use nex_harness::catalog::{Chart, Scenario};
use nex_harness::helm::{Helm, Major};
use nex_harness::manifest;
use nex_harness::render::{self, RenderInputs};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    chart: String,
    kind: String,
    key: String,
    schema: String,
    /// `go`: the app expands `{{ … }}` expressions before parsing.
    #[serde(default)]
    templates: Option<String>,
}

/// Expands each `{{ … }}` into the string the app's template filter makes of
/// it, written as a JSON (so YAML) quoted scalar. Only what the charts use is
/// known: `secret "<path>"` (Authelia: the file's content; `mindent`/`msquote`
/// after it change the YAML layout, not the value), resolved by the file name
/// among the keys of the Secrets rendered with the chart. Anything else is an
/// error naming the expression, never a silent pass.
fn expand_templates(text: &str, files: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else { break };
        let expr = rest[start + 2..start + len].trim();
        let path = expr
            .strip_prefix("secret \"")
            .and_then(|r| r.split('"').next())
            .ok_or_else(|| format!("template `{{{{ {expr} }}}}`: only `secret \"<path>\"` is known"))?;
        let name = path.rsplit('/').next().unwrap_or(path);
        let content = files
            .get(name)
            .ok_or_else(|| format!("template `{{{{ {expr} }}}}`: no rendered Secret holds a key {name:?}"))?;
        out.push_str(&rest[..start]);
        out.push_str(&Value::String(content.clone()).to_string());
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn entries() -> Vec<Entry> {
    let path = workspace().join("schemas/upstream/config-schemas.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator(entry: &Entry) -> jsonschema::Validator {
    let path = workspace().join("schemas/upstream").join(&entry.schema);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("{}: not a usable schema: {e}", path.display()))
}

fn decode(b64: &str) -> Result<String, String> {
    let bytes =
        base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| format!("not base64: {e}"))?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// The configuration texts `entry` names in one rendering (one per matching object).
fn configurations(entry: &Entry, stream: &str) -> Result<Vec<(String, String)>, String> {
    let (objects, errors) = manifest::split(stream);
    if let Some(e) = errors.first() {
        return Err(format!("rendered YAML does not parse: {e:?}"));
    }
    // Every Secret key of the rendering, decoded: what a templated configuration may read.
    let mut files = BTreeMap::new();
    for o in objects.iter().filter(|o| o.kind() == "Secret") {
        for (k, v) in o.value["data"].as_object().into_iter().flatten() {
            if let Some(t) = v.as_str().and_then(|b| decode(b).ok()) {
                files.insert(k.clone(), t);
            }
        }
        for (k, v) in o.value["stringData"].as_object().into_iter().flatten() {
            files.insert(k.clone(), v.as_str().unwrap_or_default().to_owned());
        }
    }
    let mut out = Vec::new();
    for o in objects.iter().filter(|o| o.kind() == entry.kind) {
        let text = match entry.kind.as_str() {
            "Secret" => {
                match (o.value["stringData"][&entry.key].as_str(), o.value["data"][&entry.key].as_str()) {
                    (Some(t), _) => t.to_owned(),
                    (None, Some(b64)) => {
                        decode(b64).map_err(|e| format!("{}: data.{}: {e}", o.id(), entry.key))?
                    }
                    (None, None) => continue,
                }
            }
            _ => match o.value["data"][&entry.key].as_str() {
                Some(t) => t.to_owned(),
                None => continue,
            },
        };
        let text = match entry.templates.as_deref() {
            None => text,
            Some("go") => expand_templates(&text, &files).map_err(|e| format!("{}: {e}", o.id()))?,
            Some(other) => return Err(format!("templates: {other:?} is not `go`")),
        };
        out.push((o.id(), text));
    }
    Ok(out)
}

/// Every schema violation of one configuration text, as `path: message` lines.
fn violations(validator: &jsonschema::Validator, text: &str) -> Result<Vec<String>, String> {
    let config: Value =
        serde_saphyr::from_str(text).map_err(|e| format!("the configuration is not YAML: {e}"))?;
    Ok(validator
        .iter_errors(&config)
        .map(|e| {
            let at = e.instance_path().as_str().to_owned();
            format!("{}: {e}", if at.is_empty() { "/" } else { &at })
        })
        .collect())
}

struct Setup {
    helm: Helm,
    cache: Cache,
}

fn setup() -> Setup {
    let cache_root = nex_harness::provision::cache_root();
    Setup { helm: Helm::locate(Major::V4, &cache_root).expect("helm 4"), cache: Cache::new(&cache_root) }
}

fn chart(name: &str) -> Chart {
    let root = workspace();
    let config = nex_harness::config::CtConfig::load(&root).expect("ct.yaml");
    let charts = nex_harness::catalog::discover(&root, &config).expect("catalog");
    charts.into_iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no chart {name} in the catalog"))
}

fn render(s: &Setup, chart: &Chart, values: Option<&Path>) -> Result<String, String> {
    let meta = nex_harness::files::read_chart_meta(&chart.dir);
    nex_harness::deps::ensure(chart, &meta, &s.helm)
        .map_err(|e| format!("cannot vendor dependencies: {e}"))?;
    let versions = nex_harness::kube::versions::matrix(meta.kube_version.as_deref()).unwrap_or_default();
    let kube = versions.last().ok_or("kubeVersion allows no known Kubernetes version")?;
    let fingerprint = cache::chart_fingerprint(&chart.dir);
    let inputs = RenderInputs {
        chart_dir: &chart.dir,
        meta: &meta,
        fingerprint: &fingerprint,
        helm: &s.helm,
        cache: &s.cache,
    };
    let out = render::template(&inputs, values, Some(kube))?;
    if !out.success {
        return Err(format!("helm template failed:\n{}", out.stderr));
    }
    Ok(out.stdout)
}

fn scenario_label(chart: &Chart, scenario: &Scenario) -> String {
    format!("{} / {}", chart.name, scenario.name)
}

#[test]
fn every_scenario_renders_a_configuration_its_upstream_schema_accepts() {
    let s = setup();
    let mut failures = Vec::new();
    for entry in entries() {
        let validator = validator(&entry);
        let chart = chart(&entry.chart);
        let mut validated = 0;
        for scenario in &chart.scenarios {
            let label = scenario_label(&chart, scenario);
            let stream = match render(&s, &chart, scenario.values_file.as_deref()) {
                Ok(t) => t,
                Err(e) => {
                    failures.push(format!("{label}: {e}"));
                    continue;
                }
            };
            match configurations(&entry, &stream) {
                Ok(found) => {
                    for (object, text) in found {
                        validated += 1;
                        match violations(&validator, &text) {
                            Ok(v) if v.is_empty() => {}
                            Ok(v) => failures.push(format!(
                                "{label}: {object} {} breaks {}:\n  {}",
                                entry.key,
                                entry.schema,
                                v.join("\n  ")
                            )),
                            Err(e) => failures.push(format!("{label}: {object} {}: {e}", entry.key)),
                        }
                    }
                }
                Err(e) => failures.push(format!("{label}: {e}")),
            }
        }
        if validated == 0 {
            failures.push(format!(
                "{}: no scenario renders a {} with key {}: fix schemas/upstream/config-schemas.yaml",
                entry.chart, entry.kind, entry.key
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The check can fail: a key Authelia does not know, at the top and nested in a
/// list, is reported at its place.
#[test]
fn an_unknown_authelia_key_is_reported_with_its_path() {
    let s = setup();
    let entry = entries().into_iter().find(|e| e.chart == "authelia").expect("an authelia entry");
    let dir = tempfile::tempdir().expect("temp dir");
    let values = dir.path().join("typo-values.yaml");
    std::fs::write(
        &values,
        "config:\n  not_an_authelia_key: 1\n  session:\n    cookies:\n      - domain: example.org\n        \
         authelia_url: https://auth.example.org\n        default_redirection_urll: https://home.example.org\n",
    )
    .expect("write values");
    let stream = render(&s, &chart("authelia"), Some(&values)).expect("the chart renders");
    let found = configurations(&entry, &stream).expect("objects");
    assert_eq!(found.len(), 1, "one ConfigMap holds configuration.yml");
    let v = violations(&validator(&entry), &found[0].1).expect("YAML");
    assert!(v.iter().any(|m| m.starts_with("/:") && m.contains("not_an_authelia_key")), "{v:#?}");
    assert!(
        v.iter().any(|m| m.starts_with("/session/cookies/0:") && m.contains("default_redirection_urll")),
        "{v:#?}"
    );
    // The same configuration without the typos passes: the failure is the typos, not the rendering.
    let clean = render(&s, &chart("authelia"), None).expect("the chart renders");
    let found = configurations(&entry, &clean).expect("objects");
    assert_eq!(violations(&validator(&entry), &found[0].1).expect("YAML"), Vec::<String>::new());
}

/// A template the test cannot expand is an error, never a pass: `secret` of a
/// file no rendered Secret holds, or another function.
#[test]
fn an_unknown_template_is_an_error_not_a_pass() {
    let files = BTreeMap::from([("key.pem".to_owned(), "PEM\n".to_owned())]);
    assert_eq!(
        expand_templates("key: {{ secret \"/secrets/key.pem\" | mindent 8 \"|\" | msquote }}\n", &files)
            .unwrap(),
        "key: \"PEM\\n\"\n"
    );
    let missing = expand_templates("key: {{ secret \"/secrets/other.pem\" }}", &files).unwrap_err();
    assert!(missing.contains("no rendered Secret holds a key \"other.pem\""), "{missing}");
    let other = expand_templates("key: {{ env \"HOME\" }}", &files).unwrap_err();
    assert!(other.contains("only `secret \"<path>\"` is known"), "{other}");
}

/// The Secret path: a user whose `password` is no digest Authelia knows (the
/// chart's own schema only asks for a leading `$`) breaks Authelia's
/// users database schema, found in the base64 data of the chart's Secret.
#[test]
fn a_users_database_password_that_is_not_a_digest_is_reported() {
    let s = setup();
    let entry = entries()
        .into_iter()
        .find(|e| e.chart == "authelia" && e.kind == "Secret")
        .expect("an authelia Secret entry");
    let dir = tempfile::tempdir().expect("temp dir");
    let values = dir.path().join("users-values.yaml");
    std::fs::write(
        &values,
        "authentication:\n  file:\n    users:\n      bob:\n        displayname: Bob\n        password: $md5$hunter2\n",
    )
    .expect("write values");
    let stream = render(&s, &chart("authelia"), Some(&values)).expect("the chart renders");
    let found = configurations(&entry, &stream).expect("objects");
    assert_eq!(found.len(), 1, "one Secret holds users_database.yml");
    let v = violations(&validator(&entry), &found[0].1).expect("YAML");
    assert!(v.iter().any(|m| m.starts_with("/users/bob/password:") && m.contains("$md5$hunter2")), "{v:#?}");
    assert!(!v.iter().any(|m| m.starts_with("/users/admin")), "the generated admin hash is valid: {v:#?}");
}
