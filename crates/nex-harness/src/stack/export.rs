//! `stack export`: the GitOps objects that deploy a stack from the published
//! chart repository with the stack's values — Flux (`HelmRepository` +
//! `HelmRelease`s) or Argo CD (`Application`s).
//!
//! Each release's values files are merged here, in order, into the object's
//! values (maps merge key by key, anything else is replaced, as Helm merges
//! values files). The objects are validated against the vendored upstream
//! CRDs (`schemas/gitops/`) before anything is written; files are written
//! atomically, one per object, plus a `kustomization.yaml` listing them.
//! The namespaces come first, as `Namespace` objects carrying the labels the
//! stack file declares, never pruned by Flux or Argo CD.

use super::file::Stack;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// Where the vendored Flux and Argo CD CRDs live, under the repository root.
pub const GITOPS_CRDS: &str = "schemas/gitops";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Flux,
    Argocd,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}: the stack file has no `repository.url`; export deploys the published charts")]
    NoRepository(PathBuf),
    #[error("release `{release}`: {message}")]
    Release { release: String, message: String },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// One exported object and the file name it is written to.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    pub file: String,
    pub object: Value,
}

/// Merges `over` into `base` the way Helm merges values files.
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

fn values_of(release: &super::file::Release) -> Result<Value, ExportError> {
    let mut merged = Value::Object(Map::new());
    for (path, _) in &release.values {
        let fail = |message: String| ExportError::Release { release: release.name.clone(), message };
        let text = crate::files::read_text(path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
        let yaml = crate::yaml::parse(&text)
            .map_err(|e| fail(format!("{}:{}:{}: {}", path.display(), e.line, e.column, e.message)))?;
        if let Some(root) = yaml.root() {
            merge(&mut merged, root.to_json());
        }
    }
    Ok(merged)
}

fn chart_meta(release: &super::file::Release) -> Result<(String, String), ExportError> {
    let fail = |message: String| ExportError::Release { release: release.name.clone(), message };
    let meta = crate::files::read_chart_meta(&release.chart);
    if let Some(e) = &meta.error {
        return Err(fail(format!("{}: {e}", meta.path.display())));
    }
    let name = meta.name.clone().ok_or_else(|| fail(format!("{} has no name", meta.path.display())))?;
    let version = match &release.version {
        Some(v) => v.clone(),
        None => {
            meta.version.clone().ok_or_else(|| fail(format!("{} has no version", meta.path.display())))?
        }
    };
    Ok((name, version))
}

/// The objects of a stack for a format (not yet validated).
pub fn objects(stack: &Stack, format: Format) -> Result<Vec<Exported>, ExportError> {
    let repo = stack.repository.as_ref().ok_or_else(|| ExportError::NoRepository(stack.path.clone()))?;
    let repo_name = repo.name.clone().unwrap_or_else(|| "nex-charts".into());
    let oci = repo.url.starts_with("oci://");
    let mut out = Vec::new();
    if format == Format::Flux {
        let mut spec = json!({"interval": "1h", "url": repo.url});
        if oci {
            spec["type"] = json!("oci");
        }
        out.push(Exported {
            file: "helmrepository.yaml".into(),
            object: json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "HelmRepository",
                "metadata": {"name": repo_name, "namespace": "flux-system"},
                "spec": spec,
            }),
        });
    }
    // Each namespace the stack deploys into, made before any release: a release may render
    // objects into another release's namespace (authelia's forward-auth Middlewares do), and
    // `createNamespace` only makes a release's own, when its turn comes. Never pruned: removing
    // a release from the stack must not delete a namespace and the volumes in it.
    let mut namespaces: Vec<&str> = Vec::new();
    for r in &stack.releases {
        if !namespaces.contains(&r.namespace.as_str()) {
            namespaces.push(&r.namespace);
        }
    }
    for ns in namespaces {
        // The labels the stack file declares for it (NetworkPolicy namespaceSelectors were judged with them).
        let mut labels = Map::new();
        for (k, v) in stack.namespaces.get(ns).into_iter().flatten() {
            labels.insert(k.clone(), json!(v));
        }
        labels.insert("app.kubernetes.io/part-of".into(), json!(stack.name));
        out.push(Exported {
            file: format!("namespace-{ns}.yaml"),
            object: json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": ns,
                    "labels": labels,
                    "annotations": {
                        "kustomize.toolkit.fluxcd.io/prune": "disabled",
                        "argocd.argoproj.io/sync-options": "Prune=false",
                    },
                },
            }),
        });
    }
    for r in &stack.releases {
        let (chart, version) = chart_meta(r)?;
        let values = values_of(r)?;
        let object = match format {
            Format::Flux => json!({
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "metadata": {"name": r.name, "namespace": r.namespace},
                "spec": {
                    "interval": "30m",
                    "releaseName": r.name,
                    "chart": {"spec": {
                        "chart": chart,
                        "version": version,
                        "sourceRef": {"kind": "HelmRepository", "name": repo_name, "namespace": "flux-system"},
                    }},
                    "install": {"createNamespace": true, "remediation": {"retries": 3}},
                    "upgrade": {"remediation": {"retries": 3}},
                    "values": values,
                },
            }),
            Format::Argocd => json!({
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Application",
                "metadata": {"name": r.name, "namespace": "argocd"},
                "spec": {
                    "project": "default",
                    "source": {
                        // Argo CD names an OCI Helm repository without its scheme.
                        "repoURL": repo.url.strip_prefix("oci://").unwrap_or(&repo.url),
                        "chart": chart,
                        "targetRevision": version,
                        "helm": {"releaseName": r.name, "valuesObject": values},
                    },
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": r.namespace},
                    "syncPolicy": {
                        "automated": {"prune": true, "selfHeal": true},
                        "syncOptions": ["CreateNamespace=true"],
                    },
                },
            }),
        };
        out.push(Exported { file: format!("{}.yaml", r.name), object });
    }
    Ok(out)
}

/// Validates exported objects against the CRDs in `crd_dir`: one message per violation.
pub fn validate(objects: &[Exported], crd_dir: &Path) -> Vec<(String, String)> {
    let (crds, errors) = crate::kube::crd::load_dir(crd_dir);
    let mut out: Vec<(String, String)> =
        errors.into_iter().map(|e| (crd_dir.display().to_string(), e)).collect();
    let set = crate::kube::crd::CrdSet::new(crds);
    for e in objects {
        let api = e.object.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = e.object.get("kind").and_then(Value::as_str).unwrap_or("");
        if (api, kind) == ("v1", "Namespace") {
            continue; // a core object of name, labels and annotations only: no CRD to check it against
        }
        let Some(crd) = set.get(api, kind) else {
            out.push((e.file.clone(), format!("no CRD for {api} {kind} in {}", crd_dir.display())));
            continue;
        };
        match jsonschema::validator_for(&crd.schema) {
            Ok(v) => out.extend(
                v.iter_errors(&e.object)
                    .map(|err| (e.file.clone(), format!("{}: {err}", err.instance_path().as_str()))),
            ),
            Err(err) => out.push((e.file.clone(), format!("CRD schema of {kind}: {err}"))),
        }
    }
    out
}

/// The objects as the YAML written to disk.
pub fn to_yaml(object: &Value) -> String {
    let body = serde_saphyr::to_string(object).unwrap_or_default();
    format!("# Generated by `cargo xtask stack export`; edit the stack file instead.\n---\n{body}")
}

fn kustomization(objects: &[Exported]) -> String {
    let mut out = String::from(
        "# Generated by `cargo xtask stack export`.\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for e in objects {
        out.push_str(&format!("  - {}\n", e.file));
    }
    out
}

/// Validates, then writes every object (and a kustomization.yaml) into `out`,
/// each file atomically and only when its content changed. Returns the files written.
pub fn write(objects: &[Exported], out: &Path, crd_dir: &Path) -> Result<Vec<PathBuf>, ExportError> {
    if let Some((file, message)) = validate(objects, crd_dir).into_iter().next() {
        return Err(ExportError::Invalid { file, message });
    }
    std::fs::create_dir_all(out).map_err(|source| ExportError::Write { path: out.to_owned(), source })?;
    let mut files: Vec<(PathBuf, String)> =
        objects.iter().map(|e| (out.join(&e.file), to_yaml(&e.object))).collect();
    files.push((out.join("kustomization.yaml"), kustomization(objects)));
    let mut written = Vec::new();
    for (path, text) in files {
        if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
            continue;
        }
        let mut tmp = tempfile::NamedTempFile::new_in(out)
            .map_err(|source| ExportError::Write { path: path.clone(), source })?;
        std::io::Write::write_all(&mut tmp, text.as_bytes())
            .map_err(|source| ExportError::Write { path: path.clone(), source })?;
        tmp.persist(&path).map_err(|e| ExportError::Write { path: path.clone(), source: e.error })?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_merge_like_helm() {
        let mut a = json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"});
        merge(&mut a, json!({"a": {"c": [3], "e": true}, "d": null}));
        assert_eq!(a, json!({"a": {"b": 1, "c": [3], "e": true}, "d": null}));
    }
}
