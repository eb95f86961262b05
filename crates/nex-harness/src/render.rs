//! Rendering: every scenario × Kubernetes version of a chart through the
//! pinned helm (`helm template`, release `nex`, namespace `nex`), in parallel,
//! behind the content-addressed cache. An edge: it spawns helm.

use crate::cache::{Cache, KeyBuilder};
use crate::catalog::Scenario;
use crate::helm::Helm;
use crate::kube::crd::CrdSet;
use crate::kube::{Outcome, Schemas};
use crate::manifest::{self, Object, ParseError};
use crate::model::ChartMeta;
use crate::process::ProcOutput;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::OnceLock;

/// One `helm template` of a chart: a scenario for a Kubernetes version.
#[derive(Debug, Clone)]
pub struct Rendering {
    pub scenario: Scenario,
    /// `1.25.0` and the like, as passed to `--kube-version`.
    pub kube_version: String,
    /// helm's output; `Err` when helm could not be run at all.
    pub output: Result<ProcOutput, String>,
    pub objects: Vec<Object>,
    pub parse_errors: Vec<ParseError>,
    /// One outcome per object (same order); empty when schemas are not checked.
    pub validation: Vec<Outcome>,
}

impl Rendering {
    pub fn succeeded(&self) -> bool {
        self.output.as_ref().is_ok_and(|o| o.success)
    }
}

/// What a chart's renders depend on besides its scenario and Kubernetes version.
pub struct RenderInputs<'a> {
    pub chart_dir: &'a Path,
    /// The chart's Chart.yaml (the loader's).
    pub meta: &'a ChartMeta,
    /// [`crate::cache::chart_fingerprint`] of the chart folder.
    pub fingerprint: &'a str,
    pub helm: &'a Helm,
    pub cache: &'a Cache,
}

/// Renders (and, with `schemas`, validates) every scenario × version, in parallel.
pub fn render_all(
    inputs: &RenderInputs<'_>,
    scenarios: &[Scenario],
    versions: &[String],
    schemas: Option<(&Schemas, &CrdSet)>,
) -> Vec<Rendering> {
    let jobs: Vec<(usize, &Scenario, &String)> =
        scenarios.iter().enumerate().flat_map(|(i, s)| versions.iter().map(move |v| (i, s, v))).collect();
    // Templates that cannot see the Kubernetes version render the same for every
    // version: one helm run per scenario then serves them all (each version is
    // still validated against its own schemas). A third of a cold run's helm runs.
    let render_as =
        versions.last().filter(|_| versions.len() > 1 && version_blind(inputs.meta, inputs.chart_dir));
    let shared: Vec<OnceLock<Result<ProcOutput, String>>> =
        scenarios.iter().map(|_| OnceLock::new()).collect();
    jobs.par_iter()
        .map(|(i, scenario, version)| {
            let shared = render_as.map(|v| (v.as_str(), &shared[*i]));
            let values = scenario.values_file.as_deref();
            // The whole analysis (parsed objects, validation) is cached too, so a
            // warm run neither spawns helm nor parses YAML nor validates.
            let key = template_key(inputs, values, Some(version))
                .str("analysed")
                .str(crate::kube::harness_identity())
                .opt(schemas.map(|(s, c)| format!("{} {}", s.identity(), c.fingerprint)).as_deref())
                .finish();
            let analysed = match inputs.cache.get::<Analysed>(&key) {
                Some(a) => a,
                None => {
                    let a = analyse(inputs, values, version, schemas, shared);
                    // A crashed helm (killed by a signal) is not a result of the inputs.
                    let complete = a.output.as_ref().is_ok_and(|o| o.signal.is_none())
                        && !a.validation.iter().any(|o| matches!(o, Outcome::Unavailable(_)));
                    if complete {
                        inputs.cache.put(&key, &a);
                    }
                    a
                }
            };
            Rendering {
                scenario: (*scenario).clone(),
                kube_version: (*version).clone(),
                output: analysed.output,
                objects: analysed.objects,
                parse_errors: analysed.parse_errors,
                validation: analysed.validation,
            }
        })
        .collect()
}

#[derive(Serialize, Deserialize)]
struct Analysed {
    output: Result<ProcOutput, String>,
    objects: Vec<Object>,
    parse_errors: Vec<ParseError>,
    validation: Vec<Outcome>,
}

fn analyse(
    inputs: &RenderInputs<'_>,
    values: Option<&Path>,
    version: &str,
    schemas: Option<(&Schemas, &CrdSet)>,
    shared: Option<(&str, &OnceLock<Result<ProcOutput, String>>)>,
) -> Analysed {
    // Rendered as for a cluster of that version: its API versions too.
    let api_versions = |v: &str| schemas.map(|(s, _)| s.api_versions(v)).unwrap_or_default();
    let output = match shared {
        Some((as_version, cell)) => cell
            .get_or_init(|| template_for(inputs, values, Some(as_version), &api_versions(as_version)))
            .clone(),
        None => template_for(inputs, values, Some(version), &api_versions(version)),
    };
    let (objects, parse_errors) = match &output {
        Ok(o) if o.success => manifest::split(&o.stdout),
        _ => (Vec::new(), Vec::new()),
    };
    let validation = match schemas {
        Some((s, crds)) => {
            objects.par_iter().map(|o| s.validate(&o.value, version, crds, inputs.cache)).collect()
        }
        None => Vec::new(),
    };
    Analysed { output, objects, parse_errors, validation }
}

/// Whether no template of the chart can tell Kubernetes versions apart: no file
/// of the chart or of its local (`file://`) dependencies can see the version
/// (templates, or values passed through `tpl`; see [`sees_version`]), and it
/// has no other dependency. Anything unreadable or unknown counts as version-aware.
pub fn version_blind(meta: &ChartMeta, chart_dir: &Path) -> bool {
    fn blind(meta: &ChartMeta, dir: &Path, depth: usize) -> bool {
        if meta.error.is_some()
            || depth > 4
            || meta.dependencies.iter().any(|d| !d.repository.starts_with("file://"))
        {
            return false;
        }
        let mentions = walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_entry(|e| {
                !(e.depth() == 1 && matches!(e.file_name().to_str(), Some("charts" | "snapshots")))
            })
            .any(|e| match e {
                Ok(e) if e.file_type().is_file() => {
                    crate::fsio::read_capped(e.path(), crate::fsio::limit::CHART_FILE)
                        .map_or(true, |b| sees_version(&b))
                }
                Ok(_) => false,
                Err(_) => true,
            });
        !mentions
            && meta
                .local_dependencies(dir)
                .iter()
                .all(|(_, d)| blind(&crate::files::read_chart_meta(d), d, depth + 1))
    }
    blind(meta, chart_dir, 0)
}

/// Whether a file can see the Kubernetes version: it names what differs between
/// versions (`KubeVersion`, `APIVersions`), or uses `Capabilities` in any way
/// but handing it on into a dict under its own name (`"Capabilities"
/// .Capabilities`, as a chart passes its context to a library helper): the
/// helper that receives it is scanned too, and must name `KubeVersion` or
/// `APIVersions` to read the version.
fn sees_version(text: &[u8]) -> bool {
    // std's substring search (the byte windows of old cost a tenth of a cold run).
    let text = String::from_utf8_lossy(text);
    if text.contains("KubeVersion") || text.contains("APIVersions") {
        return true;
    }
    text.replace("\"Capabilities\" .Capabilities", "")
        .replace("\"Capabilities\" $.Capabilities", "")
        .contains("Capabilities")
}

/// `helm template`, served from the cache when nothing it depends on changed.
pub fn template(
    inputs: &RenderInputs<'_>,
    values: Option<&Path>,
    kube_version: Option<&str>,
) -> Result<ProcOutput, String> {
    template_for(inputs, values, kube_version, &[])
}

/// [`template`] with the API versions the cluster reports (`--api-versions`).
pub fn template_for(
    inputs: &RenderInputs<'_>,
    values: Option<&Path>,
    kube_version: Option<&str>,
    api_versions: &[String],
) -> Result<ProcOutput, String> {
    let key = template_key(inputs, values, kube_version).str(&api_versions.join(",")).finish();
    if let Some(hit) = inputs.cache.get(&key) {
        return Ok(hit);
    }
    let extra: Vec<String> =
        api_versions.iter().flat_map(|v| ["--api-versions".to_owned(), v.clone()]).collect();
    let out =
        inputs.helm.template(inputs.chart_dir, values, kube_version, &extra).map_err(|e| e.to_string())?;
    Ok(keep(inputs.cache, &key, out))
}

/// `helm template` of a named release (a stack's), through the same cache.
pub fn template_release(
    inputs: &RenderInputs<'_>,
    release: &str,
    namespace: &str,
    values: &[&Path],
    kube_version: Option<&str>,
) -> Result<ProcOutput, String> {
    release_render("template release", inputs, release, namespace, values, kube_version)
}

/// A second, separately cached `helm template` of a named release: what differs
/// from [`template_release`]'s output is generated anew on every render (random
/// functions, `lookup` finding nothing), which Argo CD would re-apply on every sync.
pub fn template_release_again(
    inputs: &RenderInputs<'_>,
    release: &str,
    namespace: &str,
    values: &[&Path],
    kube_version: Option<&str>,
) -> Result<ProcOutput, String> {
    release_render("template release, second render", inputs, release, namespace, values, kube_version)
}

/// One cached render of a named release; `label` keeps the two renders apart.
fn release_render(
    label: &str,
    inputs: &RenderInputs<'_>,
    release: &str,
    namespace: &str,
    values: &[&Path],
    kube_version: Option<&str>,
) -> Result<ProcOutput, String> {
    let mut k = key(label, inputs, None).str(release).str(namespace).opt(kube_version);
    for v in values {
        k = k.str(&v.to_string_lossy()).file(v);
    }
    let key = k.finish();
    if let Some(hit) = inputs.cache.get(&key) {
        return Ok(hit);
    }
    let out = inputs
        .helm
        .template_release(inputs.chart_dir, release, namespace, values, kube_version)
        .map_err(|e| e.to_string())?;
    Ok(keep(inputs.cache, &key, out))
}

/// `helm lint --strict`, through the same cache.
pub fn lint(
    inputs: &RenderInputs<'_>,
    values: Option<&Path>,
    extra: &[String],
) -> Result<ProcOutput, String> {
    let key = key("lint --strict", inputs, values).str(&extra.join("\u{0}")).finish();
    if let Some(hit) = inputs.cache.get(&key) {
        return Ok(hit);
    }
    let out = inputs.helm.lint(inputs.chart_dir, values, extra).map_err(|e| e.to_string())?;
    Ok(keep(inputs.cache, &key, out))
}

/// Caches what helm said, unless it was killed by a signal: a crash is not a
/// result of the inputs, and must not be served again.
fn keep(cache: &Cache, key: &crate::cache::Key, out: std::process::Output) -> ProcOutput {
    let out = ProcOutput::from(out);
    if out.signal.is_none() {
        cache.put(key, &out);
    }
    out
}

fn template_key(inputs: &RenderInputs<'_>, values: Option<&Path>, kube_version: Option<&str>) -> KeyBuilder {
    key("template", inputs, values).str(&inputs.helm.release).str(&inputs.helm.namespace).opt(kube_version)
}

fn key(command: &str, inputs: &RenderInputs<'_>, values: Option<&Path>) -> KeyBuilder {
    let mut k = KeyBuilder::new(command)
        .str(inputs.fingerprint)
        // helm names files by the chart folder's name in its messages.
        .str(&inputs.chart_dir.to_string_lossy())
        .str(&inputs.helm.version);
    k = match values {
        Some(v) => k.str(&v.to_string_lossy()).file(v),
        None => k.str("no values file"),
    };
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_blindness_follows_templates_values_and_dependencies() {
        let tmp = tempfile::tempdir().unwrap();
        let (app, lib) = (tmp.path().join("app"), tmp.path().join("common"));
        std::fs::create_dir_all(app.join("templates")).unwrap();
        std::fs::create_dir_all(lib.join("templates")).unwrap();
        std::fs::write(lib.join("Chart.yaml"), "apiVersion: v2\nname: common\ntype: library\n").unwrap();
        let chart =
            "apiVersion: v2\nname: app\ndependencies:\n  - name: common\n    repository: file://../common\n";
        std::fs::write(app.join("Chart.yaml"), chart).unwrap();
        std::fs::write(app.join("templates/a.yaml"), "a: {{ .Values.a }}\n").unwrap();
        assert!(version_blind(&crate::files::read_chart_meta(&app), &app));
        // The vendored archive is not read: its sources are.
        std::fs::create_dir_all(app.join("charts")).unwrap();
        std::fs::write(app.join("charts/x.yaml"), "{{ .Capabilities.KubeVersion }}").unwrap();
        assert!(version_blind(&crate::files::read_chart_meta(&app), &app));
        std::fs::write(
            lib.join("templates/_h.tpl"),
            "{{ if .Capabilities.APIVersions.Has \"x/v1\" }}{{ end }}",
        )
        .unwrap();
        assert!(
            !version_blind(&crate::files::read_chart_meta(&app), &app),
            "a dependency's template sees the version"
        );
        std::fs::remove_file(lib.join("templates/_h.tpl")).unwrap();
        std::fs::write(app.join("values.yaml"), "extra: \"{{ .Capabilities.KubeVersion.Minor }}\"\n")
            .unwrap();
        assert!(
            !version_blind(&crate::files::read_chart_meta(&app), &app),
            "values passed through tpl see it too"
        );
        std::fs::remove_file(app.join("values.yaml")).unwrap();
        // Handing the capabilities on to a library helper is not reading them…
        let pass = "{{ include \"common.x\" (dict \"Values\" .Values \"Capabilities\" .Capabilities) }}\n";
        std::fs::write(app.join("templates/b.yaml"), pass).unwrap();
        assert!(version_blind(&crate::files::read_chart_meta(&app), &app), "handed on");
        // …unless the helper reads them, or they are used any other way.
        std::fs::write(lib.join("templates/_h.tpl"), "{{ .Capabilities.KubeVersion.Minor }}").unwrap();
        assert!(!version_blind(&crate::files::read_chart_meta(&app), &app), "read by the helper");
        std::fs::remove_file(lib.join("templates/_h.tpl")).unwrap();
        std::fs::write(app.join("templates/c.yaml"), "{{ toYaml .Capabilities }}").unwrap();
        assert!(!version_blind(&crate::files::read_chart_meta(&app), &app), "printed whole");
        std::fs::remove_file(app.join("templates/c.yaml")).unwrap();
        std::fs::write(
            app.join("Chart.yaml"),
            format!("{chart}  - name: redis\n    repository: oci://example.org/c\n"),
        )
        .unwrap();
        assert!(
            !version_blind(&crate::files::read_chart_meta(&app), &app),
            "a remote dependency is not read"
        );
    }
}
