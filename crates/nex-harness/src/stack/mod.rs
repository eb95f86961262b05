//! Stacks: the releases of one deployment judged together.
//!
//! A stack file (`stacks/<name>/stack.yaml`, [`file`]) names the releases
//! (chart folder, namespace, values files), the nodes and what the stack
//! expects from outside. `stack lint` renders every release through the
//! pinned helm and the render cache, validates each object against the
//! Kubernetes schemas and the Pod Security "restricted" profile, then runs the
//! stack rules ([`crate::checks::stack`]) on the union. `stack export` writes
//! the GitOps objects that deploy it ([`export`]); `stack hash` hashes a bind
//! password for the stack's yaLDAP directory ([`password`]).

pub mod export;
pub mod file;
pub mod password;

use crate::cache::Cache;
use crate::checks::policy::exceptions::{ANNOTATION, Exception};
use crate::checks::stack as rules;
use crate::diag::{Diagnostic, Location, Severity};
use crate::helm::Helm;
use crate::kube::Schemas;
use crate::kube::crd::CrdSet;
use crate::manifest::Object;
use crate::render::RenderInputs;
use rayon::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::checks::stack::RULE_RENDER;

/// Where the stacks live, under the repository root.
pub const STACKS_DIR: &str = "stacks";

/// The images lock (issue: image contract), read for `stack/arch` when present.
pub const IMAGES_LOCK: &str = "images.lock.yaml";

/// The most bytes a stack values file may hold. Each is read and parsed here
/// (aliases expanded within the YAML bounds) before helm is given it: helm's
/// own reader has no bound, and a value it passes through `tpl` costs it about
/// 13 times its size. Larger than a chart file's bound: a stack's values may
/// inline whole configuration files.
pub const MAX_VALUES_BYTES: u64 = 8 * 1024 * 1024;

/// A stack values file, read under [`MAX_VALUES_BYTES`] and parsed under the
/// YAML expansion bounds. `Err` is a located `stack/file` finding's place and message.
fn read_values(path: &Path) -> Result<crate::yaml::Yaml, (Option<(usize, usize)>, String)> {
    let bytes = crate::files::read_capped(path, MAX_VALUES_BYTES).map_err(|e| match e {
        crate::files::FileError::TooLarge { size, .. } => (
            None,
            format!("values file is {size} bytes; stack values files are limited to {MAX_VALUES_BYTES}"),
        ),
        e => (None, format!("cannot read the values file: {e}")),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        (Some((line, 1)), "values file is not UTF-8 text".to_owned())
    })?;
    crate::yaml::parse(&text)
        .map_err(|e| (Some((e.line, e.column)), format!("values file is not YAML: {}", e.message)))
}

/// A rendered release: the objects and the values files it was rendered with.
pub struct Rendered {
    pub release: rules::Release,
    /// helm's stdout (for `stack render`).
    pub stream: String,
}

/// What `stack lint` found in one stack.
pub struct Report {
    pub stack: String,
    pub diagnostics: Vec<Diagnostic>,
    pub budget: Vec<rules::BudgetRow>,
}

/// The Kubernetes version a stack renders for: its own, else the newest the schemas know.
pub fn kube_version(stack: &file::Stack) -> String {
    match &stack.kube_version {
        Some(v) => {
            let v = v.trim_start_matches('v');
            if v.matches('.').count() == 1 { format!("{v}.0") } else { v.to_owned() }
        }
        None => format!("1.{}.0", crate::kube::versions::NEWEST_MINOR),
    }
}

/// Renders every release of a stack (in parallel, through the cache).
pub fn render(stack: &file::Stack, helm: &Helm, cache: &Cache) -> (Vec<Rendered>, Vec<Diagnostic>) {
    let version = kube_version(stack);
    let results: Vec<Result<Rendered, Box<Diagnostic>>> =
        stack.releases.par_iter().map(|r| render_one(r, helm, cache, &version)).collect();
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for r in results {
        match r {
            Ok(x) => ok.push(x),
            Err(d) => failed.push(*d),
        }
    }
    (ok, failed)
}

fn render_one(
    r: &file::Release,
    helm: &Helm,
    cache: &Cache,
    version: &str,
) -> Result<Rendered, Box<Diagnostic>> {
    let fail = |message: String| Box::new(Diagnostic::error(RULE_RENDER, &r.name, message).at(r.at.clone()));
    // Every values file is read and parsed under the bounds first; one that
    // is too big, not YAML or an alias bomb never reaches helm.
    let mut values = Vec::new();
    for (p, at) in &r.values {
        match read_values(p) {
            Ok(y) => values.extend(y.docs.into_iter().next().map(|root| (p.clone(), root))),
            Err((place, message)) => {
                let at = match place {
                    Some((line, column)) => Location::at(p, line.max(1), column.max(1)),
                    None => at.clone(),
                };
                let d = Diagnostic::error(file::RULE_FILE, &r.name, format!("{message}; not given to helm"));
                return Err(Box::new(d.at(at)));
            }
        }
    }
    let chart = crate::catalog::load(&r.chart);
    let meta = crate::files::read_chart_meta(&r.chart);
    crate::deps::ensure(&chart, &meta, helm)
        .map_err(|e| fail(format!("cannot vendor the chart's dependencies: {e}")))?;
    let fingerprint = crate::cache::chart_fingerprint(&r.chart);
    let inputs = RenderInputs { chart_dir: &r.chart, meta: &meta, fingerprint: &fingerprint, helm, cache };
    let paths: Vec<&Path> = r.values.iter().map(|(p, _)| p.as_path()).collect();
    let out = crate::render::template_release(&inputs, &r.name, &r.namespace, &paths, Some(version))
        .map_err(|e| fail(format!("helm could not be run: {e}")))?;
    if !out.success {
        let message = helm_error(&out.stderr);
        return Err(fail(format!("helm template failed: {message}")));
    }
    let (objects, errors) = crate::manifest::split(&out.stdout);
    if let Some(e) = errors.first() {
        return Err(fail(format!(
            "{} renders broken YAML (line {} of the stream): {}",
            e.source.as_deref().unwrap_or("a template"),
            e.line,
            e.message
        )));
    }
    let objects = flatten(objects).into_iter().map(|o| with_namespace(o, &r.namespace)).collect();
    Ok(Rendered {
        release: rules::Release {
            name: r.name.clone(),
            namespace: r.namespace.clone(),
            objects,
            at: r.at.clone(),
            node: r.node.clone(),
            values,
        },
        stream: out.stdout,
    })
}

/// helm's error output, every line of it, within the process module's bounds
/// for quoted tool output (a crash dump is cut and counted).
fn helm_error(stderr: &str) -> String {
    let cut = crate::process::cut_tool_output(stderr.trim());
    match cut.trim() {
        "" => "no message".to_owned(),
        text => text.to_owned(),
    }
}

/// `kind: List` (and `*List`) objects are flattened, as kubectl and helm do at install.
fn flatten(objects: Vec<Object>) -> Vec<Object> {
    let mut out = Vec::new();
    for o in objects {
        if o.kind().ends_with("List")
            && let Some(items) = o.value.get("items").and_then(Value::as_array)
        {
            for item in items {
                out.push(Object { source: o.source.clone(), line: o.line, value: item.clone() });
            }
            continue;
        }
        out.push(o);
    }
    out
}

/// Cluster-scoped kinds the charts may render; every other kind is namespaced.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "GatewayClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
];

/// A namespaced object without `metadata.namespace` lands in the release's namespace.
fn with_namespace(mut o: Object, namespace: &str) -> Object {
    if !CLUSTER_SCOPED.contains(&o.kind())
        && o.value.pointer("/metadata/namespace").is_none()
        && let Some(meta) = o.value.get_mut("metadata").and_then(Value::as_object_mut)
    {
        meta.insert("namespace".into(), Value::String(namespace.to_owned()));
    }
    o
}

/// Reads `images.lock.yaml` for the platforms of each image, when there is one.
/// The lock maps image references to facts; only `platforms` is read here.
pub fn platforms(root: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let Ok(text) = crate::files::read_text(&root.join(IMAGES_LOCK)) else { return out };
    let Ok(yaml) = crate::yaml::parse(&text) else { return out };
    let Some(doc) = yaml.root() else { return out };
    let json = doc.to_json();
    let images = json.get("images").unwrap_or(&json);
    let mut add = |reference: &str, entry: &Value| {
        let list: Vec<String> = entry
            .get("platforms")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                p.as_str()
                    .map(str::to_owned)
                    .or_else(|| p.get("platform").and_then(Value::as_str).map(str::to_owned))
            })
            .collect();
        if !list.is_empty() {
            out.insert(reference.split('@').next().unwrap_or(reference).to_owned(), list);
        }
    };
    match images {
        Value::Object(map) => map.iter().for_each(|(k, v)| add(k, v)),
        Value::Array(list) => list.iter().for_each(|v| {
            if let Some(r) = v.get("reference").or_else(|| v.get("image")).and_then(Value::as_str) {
                add(r, v)
            }
        }),
        _ => {}
    }
    out
}

/// `stack lint` of one stack file.
pub fn lint(path: &Path, root: &Path, helm: &Helm, cache: &Cache, schemas: &Schemas) -> Report {
    let name =
        path.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stack = match file::read_in(path, root) {
        Ok(s) => s,
        Err(diagnostics) => return Report { stack: name, diagnostics, budget: Vec::new() },
    };
    let (rendered, mut diagnostics) = render(&stack, helm, cache);
    diagnostics.extend(values_duplicates(&stack));
    let version = kube_version(&stack);
    let no_crds = CrdSet::new(Vec::new());
    for r in &rendered {
        diagnostics.extend(per_object(&r.release, &version, schemas, &no_crds, cache));
        if let Some(spec) = stack.releases.iter().find(|s| s.name == r.release.name) {
            diagnostics.extend(runtime_contract(&r.release, &spec.chart));
        }
    }
    let releases: Vec<rules::Release> = rendered.into_iter().map(|r| r.release).collect();
    let nodes: Vec<rules::Node> = stack
        .nodes
        .iter()
        .map(|n| rules::Node {
            name: n.name.clone(),
            arch: n.arch.clone(),
            cpu_millis: n.cpu_millis,
            memory: n.memory,
            at: n.at.clone(),
        })
        .collect();
    let external: Vec<rules::External> = stack
        .external
        .iter()
        .map(|e| rules::External {
            kind: e.kind.clone(),
            namespace: e.namespace.clone(),
            name: e.name.clone(),
            ports: e.ports.clone(),
        })
        .collect();
    let gateway = stack
        .gateway
        .as_ref()
        .map(|g| rules::Gateway { namespace: g.namespace.clone(), pod_labels: g.pod_labels.clone() });
    let platforms = platforms(root);
    let stack_path = path.to_string_lossy().into_owned();
    let view = rules::View {
        stack: &stack_path,
        releases: &releases,
        nodes: &nodes,
        reserve_cpu_millis: stack.reserve_cpu_millis,
        reserve_memory: stack.reserve_memory,
        external: &external,
        gateway: gateway.as_ref(),
        namespace_labels: &stack.namespaces,
        platforms: &platforms,
    };
    // A stack with a release that did not render is judged on what rendered;
    // references into the missing release would be noise, so they are dropped.
    let incomplete: Vec<&str> = stack
        .releases
        .iter()
        .map(|r| r.name.as_str())
        .filter(|n| !releases.iter().any(|r| &r.name == n))
        .collect();
    let mut found = rules::check(&view);
    let regenerated = if stack.argocd() { regenerated(&stack, &releases, helm, cache) } else { Vec::new() };
    let values_text = values_text(&stack);
    found.extend(crate::checks::stack_serves::check(
        &view,
        &crate::checks::stack_serves::Outside {
            serves: &stack.serves,
            load_balancer: stack.load_balancer,
            plain_text_passwords: &stack.plain_text_passwords,
            argocd: stack.argocd(),
            regenerated: &regenerated,
            values_text: &values_text,
        },
    ));
    if !incomplete.is_empty() {
        found.retain(|d| {
            d.rule != rules::RULE_REFERENCE
                && d.rule != rules::RULE_NETWORK_POLICY
                && d.rule != crate::checks::stack_serves::RULE_EXPOSURE
        });
    }
    diagnostics.extend(found);
    let budget = rules::budget(&view).0;
    Report { stack: stack.name, diagnostics, budget }
}

/// What keeps a stack from being deployed by Argo CD: releases that do not
/// render, and Secrets generated anew on every render (`stack export --format
/// argocd` refuses to write when there is any).
pub fn argocd_blockers(stack: &file::Stack, helm: &Helm, cache: &Cache) -> Vec<Diagnostic> {
    let (rendered, mut out) = render(stack, helm, cache);
    let releases: Vec<rules::Release> = rendered.into_iter().map(|r| r.release).collect();
    let regenerated = regenerated(stack, &releases, helm, cache);
    out.extend(crate::checks::stack_serves::render_time_secrets(&releases, &regenerated));
    out
}

/// The text of every values file of the stack (findings point inside block scalars with it).
fn values_text(stack: &file::Stack) -> BTreeMap<PathBuf, String> {
    stack
        .releases
        .iter()
        .flat_map(|r| &r.values)
        .filter_map(|(p, _)| crate::files::read_text(p).ok().map(|t| (p.clone(), t)))
        .collect()
}

/// The Secrets each release generates anew on every render: the release is
/// rendered a second time (cached apart from the first, so a warm run spawns no
/// helm) and each Secret's `data`/`stringData` keys compared. Only releases
/// rendering a Secret are rendered again.
pub fn regenerated(
    stack: &file::Stack,
    rendered: &[rules::Release],
    helm: &Helm,
    cache: &Cache,
) -> Vec<crate::checks::stack_serves::Regenerated> {
    let version = kube_version(stack);
    let secrets = |objects: &[Object]| -> BTreeMap<String, Value> {
        objects
            .iter()
            .filter(|o| {
                o.kind() == "Secret" && o.value.pointer("/metadata/annotations/helm.sh~1hook").is_none()
            })
            .map(|o| {
                let ns = o.value.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
                let mut data = serde_json::Map::new();
                for k in ["data", "stringData"] {
                    for (key, v) in o.value.get(k).and_then(Value::as_object).into_iter().flatten() {
                        data.insert(key.clone(), v.clone());
                    }
                }
                (format!("Secret {ns}/{}", o.name()), Value::Object(data))
            })
            .collect()
    };
    let found: Vec<Vec<crate::checks::stack_serves::Regenerated>> = stack
        .releases
        .par_iter()
        .filter_map(|r| {
            let first = rendered.iter().find(|x| x.name == r.name)?;
            let before = secrets(&first.objects);
            if before.is_empty() {
                return None;
            }
            let chart = crate::catalog::load(&r.chart);
            let meta = crate::files::read_chart_meta(&r.chart);
            crate::deps::ensure(&chart, &meta, helm).ok()?;
            let fingerprint = crate::cache::chart_fingerprint(&r.chart);
            let inputs =
                RenderInputs { chart_dir: &r.chart, meta: &meta, fingerprint: &fingerprint, helm, cache };
            let values: Vec<&Path> = r.values.iter().map(|(p, _)| p.as_path()).collect();
            let out = crate::render::template_release_again(
                &inputs,
                &r.name,
                &r.namespace,
                &values,
                Some(&version),
            )
            .ok()?;
            if !out.success {
                return None;
            }
            let (objects, _) = crate::manifest::split(&out.stdout);
            let objects: Vec<Object> =
                flatten(objects).into_iter().map(|o| with_namespace(o, &r.namespace)).collect();
            let after = secrets(&objects);
            Some(
                before
                    .iter()
                    .filter_map(|(id, data)| {
                        let other = after.get(id)?;
                        let keys: Vec<String> = data
                            .as_object()?
                            .iter()
                            .filter(|(k, v)| other.get(k.as_str()) != Some(*v))
                            .map(|(k, _)| k.clone())
                            .collect();
                        (!keys.is_empty()).then(|| crate::checks::stack_serves::Regenerated {
                            release: r.name.clone(),
                            secret: id.clone(),
                            keys,
                        })
                    })
                    .collect(),
            )
        })
        .collect();
    found.into_iter().flatten().collect()
}

/// A key given twice in a values file: Helm silently keeps the last one, so
/// half of what the stack says is lost. (A values file that cannot be read or
/// parsed is reported when its release is rendered.)
fn values_duplicates(stack: &file::Stack) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for r in &stack.releases {
        for (path, _) in &r.values {
            let Ok(y) = read_values(path) else { continue };
            out.extend(y.duplicates.iter().map(|d| {
                Diagnostic::error(
                    file::RULE_FILE,
                    &r.name,
                    format!("`{}` is given twice in this values file; Helm keeps only the last", d.key),
                )
                .at(Location::at(
                    path,
                    d.second.start.line.max(1),
                    d.second.start.column.max(1),
                ))
            }));
        }
    }
    out
}

/// The per-object checks on a release's objects: Kubernetes schemas and Pod
/// Security "restricted", with the chart's declared exceptions honoured.
fn per_object(
    release: &rules::Release,
    version: &str,
    schemas: &Schemas,
    crds: &CrdSet,
    cache: &Cache,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for o in &release.objects {
        let at = |path: &str| {
            format!(
                "{} ({}){}",
                o.id(),
                o.source.as_deref().unwrap_or("?"),
                if path.is_empty() { String::new() } else { format!(" at {path}") }
            )
        };
        match schemas.validate(&o.value, version, crds, cache) {
            crate::kube::Outcome::Invalid(v) => {
                for x in v {
                    out.push(
                        Diagnostic::error(
                            crate::checks::kube_schema::SCHEMA,
                            &release.name,
                            format!("{}: {}", at(&x.path), x.message),
                        )
                        .at(release.at.clone()),
                    );
                }
            }
            crate::kube::Outcome::Unavailable(e) => out.push(
                Diagnostic::error(
                    crate::checks::kube_schema::UNAVAILABLE,
                    &release.name,
                    format!("Kubernetes {version} schemas: {e}"),
                )
                .at(release.at.clone()),
            ),
            _ => {}
        }
        if o.value.pointer("/metadata/annotations/helm.sh~1hook").is_some() {
            continue;
        }
        for f in crate::checks::pss::findings(o) {
            let mut d =
                Diagnostic::new(f.rule, f.severity, &release.name, format!("{}: {}", at(&f.path), f.message))
                    .at(release.at.clone());
            if let Some(h) = &f.hint {
                d = d.hint(h.clone());
            }
            out.push(d);
        }
    }
    out
}

/// The chart's runtime contract (`runtime.yaml`, when it has one) against the
/// release as the stack renders it: the stack's values decide, say, whether
/// Authelia writes its health-check file. A contract that does not parse is
/// `cargo xtask lint`'s to report.
fn runtime_contract(release: &rules::Release, chart: &Path) -> Vec<Diagnostic> {
    let path = chart.join(crate::runtime::FILE_NAME);
    let Ok(text) = crate::files::read_text(&path) else { return Vec::new() };
    let Ok(contract) = crate::runtime::parse(&path, &text) else { return Vec::new() };
    let rendered = crate::checks::runtime::Rendered::new(&contract, &release.objects);
    let mut out = Vec::new();
    for o in &release.objects {
        for f in crate::checks::runtime::findings(&contract, &rendered, o) {
            let mut d = Diagnostic::new(
                f.rule,
                f.severity,
                &release.name,
                format!("{} ({}): {}", o.id(), o.source.as_deref().unwrap_or("?"), f.message),
            )
            .at(release.at.clone());
            if let Some(h) = &f.hint {
                d = d.hint(h.clone());
            }
            out.push(d);
        }
    }
    out
}

/// The chart's declared exceptions allow a per-object finding of a stack
/// release when rule and kind match (release names differ from the chart's
/// scenarios, so object names and scenarios are not compared).
pub fn apply_exceptions(diags: &mut [Diagnostic], stack: &file::Stack) {
    for r in &stack.releases {
        let meta = crate::files::read_chart_meta(&r.chart);
        let Some(list) = meta
            .annotations
            .iter()
            .find(|a| a.key == ANNOTATION)
            .and_then(|a| a.value.as_deref())
            .and_then(|v| serde_saphyr::from_str::<Vec<Exception>>(v).ok())
        else {
            continue;
        };
        for d in diags.iter_mut().filter(|d| d.chart == r.name && d.severity == Severity::Error) {
            if let Some(e) = list.iter().find(|e| {
                e.rule == d.rule
                    && e.objects
                        .iter()
                        .any(|o| d.message.starts_with(&format!("{}/", o.split('/').next().unwrap_or(o))))
            }) {
                d.allowed = Some(e.reason.clone());
            }
        }
    }
}

/// The budget as a table for people (the report's headroom).
pub fn budget_table(rows: &[rules::BudgetRow]) -> String {
    use crate::quantity::{show_bytes, show_cpu};
    let mut out = String::from(
        "| node | CPU requested / allocatable | memory requested / allocatable | memory limits | headroom (CPU, memory) |\n| --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} / {} | {} / {} | {} | {}, {} |\n",
            r.node,
            show_cpu(r.requested_cpu_millis),
            show_cpu(r.allocatable_cpu_millis),
            show_bytes(r.requested_memory),
            show_bytes(r.allocatable_memory),
            show_bytes(r.limited_memory),
            if r.requested_cpu_millis > r.allocatable_cpu_millis {
                "over".to_owned()
            } else {
                show_cpu(r.allocatable_cpu_millis - r.requested_cpu_millis)
            },
            if r.requested_memory > r.allocatable_memory {
                "over".to_owned()
            } else {
                show_bytes(r.allocatable_memory - r.requested_memory)
            },
        ));
    }
    out
}

/// The stack files a command names (folders or files), or every stack under `stacks/`.
pub fn select(root: &Path, named: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    if named.is_empty() {
        return Ok(file::discover(&root.join(STACKS_DIR)));
    }
    named
        .iter()
        .map(|n| {
            let candidates =
                [n.clone(), n.join(file::FILE_NAME), root.join(STACKS_DIR).join(n).join(file::FILE_NAME)];
            candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
                format!(
                    "no stack file at {} (nor {}/{}/{})",
                    n.display(),
                    STACKS_DIR,
                    n.display(),
                    file::FILE_NAME
                )
            })
        })
        .collect()
}

/// A location's file relative to `root`, for reports.
pub fn relative(mut d: Diagnostic, root: &Path) -> Diagnostic {
    if let Some(Location { file, .. }) = d.location.as_mut()
        && let Ok(rel) = file.strip_prefix(root)
    {
        *file = rel.to_path_buf();
    }
    d
}

/// `stack diff`: what this branch changes in the objects every release of the
/// stack renders, against the merge base of the target branch. The stack file,
/// its values files and the chart dirs are read there with `git archive` into
/// a temporary folder (nothing is checked out). One entry per release; a
/// release on one side only is all added or all removed.
pub fn diff(
    path: &Path,
    root: &Path,
    base: &crate::changed::Baseline,
    chart_dirs: &[PathBuf],
    helm: &Helm,
    cache: &Cache,
) -> Result<crate::diff::report::Report, String> {
    use crate::diff::report::{ChartDiff, Report, ScenarioDiff};
    let new = file::read_in(path, root).map_err(|d| located(&d))?;
    let rel = |p: &Path| -> Option<PathBuf> {
        let abs = if p.is_absolute() { p.to_path_buf() } else { root.join(p) };
        let abs = crate::paths::clean(&abs);
        abs.strip_prefix(crate::paths::clean(root)).ok().map(Path::to_path_buf)
    };
    let stack_rel = rel(path).ok_or_else(|| format!("{} is outside the repository", path.display()))?;
    let mut dirs: Vec<PathBuf> = chart_dirs.to_vec();
    dirs.extend(stack_rel.parent().map(Path::to_path_buf));
    for r in &new.releases {
        dirs.extend(r.values.iter().filter_map(|(v, _)| rel(v)?.parent().map(Path::to_path_buf)));
        dirs.extend(rel(&r.chart));
    }
    dirs.sort();
    dirs.dedup();
    let tmp = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    base.archive(&dirs, tmp.path()).map_err(|e| e.to_string())?;
    let old_path = tmp.path().join(&stack_rel);
    let (old, old_note) = if old_path.is_file() {
        // The target branch's copy: its paths must stay inside its own tree.
        match file::read_in(&old_path, tmp.path()) {
            Ok(s) => (Some(s), None),
            Err(d) => (None, Some(format!("the stack file on {} has problems: {}", base.label, located(&d)))),
        }
    } else {
        (None, Some(format!("the stack is new on this branch (not on {})", base.label)))
    };
    let (new_rendered, new_failed) = render(&new, helm, cache);
    let (old_rendered, old_failed) = match &old {
        Some(o) => render(o, helm, cache),
        None => (Vec::new(), Vec::new()),
    };
    let mut names: Vec<&str> = new.releases.iter().map(|r| r.name.as_str()).collect();
    if let Some(o) = &old {
        names.extend(
            o.releases.iter().map(|r| r.name.as_str()).filter(|n| !new.releases.iter().any(|r| r.name == *n)),
        );
    }
    let mut charts = Vec::new();
    for name in names {
        let objects = |rendered: &[Rendered]| {
            rendered.iter().find(|r| r.release.name == name).map(|r| r.release.objects.clone())
        };
        let failed = |f: &[Diagnostic]| f.iter().find(|d| d.chart == name).map(|d| d.message.clone());
        let mut notes: Vec<String> = old_note.iter().cloned().collect();
        notes.extend(failed(&old_failed).map(|m| format!("on {}: {m}", base.label)));
        notes.extend(failed(&new_failed).map(|m| format!("on this branch: {m}")));
        let changes = crate::diff::objects(
            &objects(&old_rendered).unwrap_or_default(),
            &objects(&new_rendered).unwrap_or_default(),
        );
        let version = |s: &file::Stack| {
            s.releases.iter().find(|r| r.name == name).map(|r| {
                r.version
                    .clone()
                    .or_else(|| crate::files::read_chart_meta(&r.chart).version)
                    .unwrap_or_default()
            })
        };
        charts.push(ChartDiff {
            chart: format!("release {name}"),
            old_version: old.as_ref().and_then(version),
            new_version: version(&new).unwrap_or_else(|| "(removed)".into()),
            notes,
            scenarios: vec![ScenarioDiff { scenario: new.name.clone(), changes, note: None }],
        });
    }
    Ok(Report { base: base.label.clone(), charts })
}

fn located(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| {
            format!("{}: {}", d.location.as_ref().map(ToString::to_string).unwrap_or_default(), d.message)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_helm_error_line_is_kept_within_the_tool_output_bounds() {
        let stderr = "Error: execution error at (c/templates/a.yaml:1:3): first\nsecond\nthird\n";
        assert_eq!(helm_error(stderr), stderr.trim());
        let dump: String = (0..100).map(|i| format!("goroutine {i}\n")).collect();
        let cut = helm_error(&format!("Error: boom\n{dump}"));
        assert_eq!(cut.lines().count(), crate::process::MAX_TOOL_MESSAGE_LINES + 1, "{cut}");
        assert!(cut.starts_with("Error: boom\n") && cut.ends_with("of tool output cut]"), "{cut}");
        assert_eq!(helm_error(" \n"), "no message");
    }

    #[test]
    fn values_files_are_read_under_the_bounds_and_parsed_with_the_alias_guard() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("v.yaml");
        let mut bomb = format!("big: &s \"{}\"\nrefs: [", "x".repeat(100_000));
        bomb.push_str(&"*s, ".repeat(27_000));
        bomb.push_str("]\n");
        std::fs::write(&p, &bomb).unwrap();
        let (at, message) = read_values(&p).unwrap_err();
        assert!(message.contains("alias expansion"), "{message}");
        assert_eq!(at.map(|(l, _)| l), Some(2));
        std::fs::write(&p, vec![b'#'; MAX_VALUES_BYTES as usize + 1]).unwrap();
        let (at, message) = read_values(&p).unwrap_err();
        assert_eq!(at, None);
        assert!(message.contains(&format!("limited to {MAX_VALUES_BYTES}")), "{message}");
        std::fs::write(&p, b"a: 1\nb: caf\xe9\n").unwrap();
        assert_eq!(read_values(&p).unwrap_err(), (Some((2, 1)), "values file is not UTF-8 text".to_owned()));
        // Above a chart file's bound, still read: its duplicates are found.
        let mut big = String::from("a: 1\n");
        while big.len() < 1_100_000 {
            big.push_str(&format!("k{}: \"{}\"\n", big.len(), "v".repeat(80)));
        }
        big.push_str("a: 2\n");
        std::fs::write(&p, &big).unwrap();
        let y = read_values(&p).unwrap();
        assert_eq!(y.duplicates.len(), 1);
        assert_eq!(y.duplicates[0].second.start.line, big.lines().count());
    }
}
