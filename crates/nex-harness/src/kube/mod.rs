//! Kubernetes schema validation (what kubeconform does), strict: unknown
//! fields are errors. Schemas are compiled once per (version, kind) and shared
//! by every chart of a run; results are cached by object content, so a warm
//! run compiles nothing.

pub mod crd;
pub mod provision;
pub mod removed;
pub mod versions;

use crate::cache::{Cache, KeyBuilder};
use crd::CrdSet;
use provision::{SchemaError, SchemaRoot};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// What validating one object for one Kubernetes version found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Valid,
    /// Schema violations: JSON pointer inside the object, and what is wrong.
    Invalid(Vec<Violation>),
    /// No schema knows this apiVersion/kind.
    NoSchema,
    /// The schemas could not be had at all (provisioning failed).
    Unavailable(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

type Compiled = Result<Arc<jsonschema::Validator>, String>;
/// One slot per key, filled once by whichever thread asks first.
type Slots<K, V> = Mutex<HashMap<K, Arc<OnceLock<V>>>>;

/// The schema store of one run.
pub struct Schemas {
    root: SchemaRoot,
    /// CRDs configured for the catalog (`schemas/crds/`).
    catalog_crds: CrdSet,
    registries: Slots<String, Result<Arc<jsonschema::Registry<'static>>, SchemaError>>,
    compiled: Slots<(String, String, String), Option<Compiled>>,
    served: Slots<String, Vec<String>>,
}

impl Schemas {
    pub fn new(root: SchemaRoot, catalog_crds: CrdSet) -> Self {
        Self {
            root,
            catalog_crds,
            registries: Mutex::default(),
            compiled: Mutex::default(),
            served: Mutex::default(),
        }
    }

    /// The run's schemas: `KUBE_SCHEMA_DIR` or the cache, and the catalog's CRD folder.
    pub fn from_env(cache_root: &std::path::Path, crd_dir: Option<PathBuf>) -> (Self, Vec<String>) {
        Self::with_crd_dirs(cache_root, crd_dir.as_slice())
    }

    /// The run's schemas: `KUBE_SCHEMA_DIR` or the cache; the CRDs built into
    /// the harness, then those of each folder of `crd_dirs` (a later
    /// definition of a kind replaces an earlier one). Unreadable files are returned.
    pub fn with_crd_dirs(cache_root: &std::path::Path, crd_dirs: &[PathBuf]) -> (Self, Vec<String>) {
        let mut list: Vec<crd::CrdSchema> = crd::bundled().to_vec();
        let mut errors = Vec::new();
        for dir in crd_dirs {
            let (mut found, mut errs) = crd::load_dir(dir);
            list.append(&mut found);
            errors.append(&mut errs);
        }
        (Self::new(SchemaRoot::from_env(cache_root), CrdSet::new(list)), errors)
    }

    /// What the validation results depend on besides the object (cache keys).
    pub fn identity(&self) -> String {
        format!("{} {}", self.root.identity(), self.catalog_crds.fingerprint)
    }

    /// Validates one object for one Kubernetes version, served from the cache
    /// when this exact object was validated against the same schemas before.
    pub fn validate(&self, object: &Value, version: &str, chart_crds: &CrdSet, cache: &Cache) -> Outcome {
        let key = KeyBuilder::new("validate")
            .str(harness_identity())
            .str(&self.root.identity())
            .str(&self.catalog_crds.fingerprint)
            .str(&chart_crds.fingerprint)
            .str(version)
            .str(&object.to_string())
            .finish();
        cache.get_or(
            &key,
            || self.validate_uncached(object, version, chart_crds),
            |o| !matches!(o, Outcome::Unavailable(_)),
        )
    }

    pub fn validate_uncached(&self, object: &Value, version: &str, chart_crds: &CrdSet) -> Outcome {
        let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
        if api_version.is_empty() || kind.is_empty() {
            return Outcome::Invalid(vec![Violation {
                path: String::new(),
                message: "an object needs both `apiVersion` and `kind`".into(),
            }]);
        }
        let validator = if let Some(c) = chart_crds.get(api_version, kind) {
            Some(compile_crd(&c.schema))
        } else {
            match self.builtin(version, api_version, kind) {
                Ok(Some(v)) => Some(v),
                Ok(None) => self.catalog_crds.get(api_version, kind).map(|c| self.crd_cached(version, c)),
                Err(e) => return Outcome::Unavailable(e.to_string()),
            }
        };
        match validator {
            None => Outcome::NoSchema,
            Some(Err(e)) => Outcome::Unavailable(e),
            Some(Ok(v)) => {
                let mut errs: Vec<Violation> = v.iter_errors(object).flat_map(|e| violations(&e)).collect();
                errs.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
                errs.dedup();
                if errs.is_empty() { Outcome::Valid } else { Outcome::Invalid(errs) }
            }
        }
    }

    /// What a cluster of Kubernetes `version` reports as its API versions
    /// (`apps/v1`, `apps/v1/Deployment`, …), read from that version's schemas,
    /// for `helm template --api-versions`: without them helm answers
    /// `.Capabilities.APIVersions.Has` from its own compiled-in list, which lacks
    /// groups such as `apiregistration.k8s.io/v1`. Empty when the schemas cannot be had.
    pub fn api_versions(&self, version: &str) -> Vec<String> {
        let cell = {
            let mut map = self.served.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(version.to_owned()).or_default().clone()
        };
        cell.get_or_init(|| {
            let Ok(dir) = self.root.ensure(version) else { return Vec::new() };
            let Ok(defs) =
                crate::fsio::read_capped(&dir.join("_definitions.json"), crate::fsio::limit::KUBE_SCHEMA)
                    .map_err(|e| e.to_string())
                    .and_then(|b| serde_json::from_slice::<Value>(&b).map_err(|e| e.to_string()))
            else {
                return Vec::new();
            };
            served_api_versions(&defs)
        })
        .clone()
    }

    fn registry(&self, version: &str) -> Result<Arc<jsonschema::Registry<'static>>, SchemaError> {
        let cell = {
            let mut map = self.registries.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(version.to_owned()).or_default().clone()
        };
        cell.get_or_init(|| {
            let dir = self.root.ensure(version)?;
            let path = dir.join("_definitions.json");
            let defs: Value = crate::fsio::read_capped(&path, crate::fsio::limit::KUBE_SCHEMA)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
                .map_err(|e| SchemaError::Provision(format!("{}: {e}", path.display())))?;
            let registry = jsonschema::Registry::new()
                .add(DEFINITIONS_URI, defs)
                .and_then(|b| b.prepare())
                .map_err(|e| SchemaError::Provision(format!("{}: {e}", path.display())))?;
            Ok(Arc::new(registry))
        })
        .clone()
    }

    /// The compiled built-in schema, `Ok(None)` when Kubernetes has no such kind.
    fn builtin(&self, version: &str, api_version: &str, kind: &str) -> Result<Option<Compiled>, SchemaError> {
        let cell = self.cell(version, api_version, kind);
        if let Some(c) = cell.get() {
            return Ok(c.clone());
        }
        let dir = self.root.ensure(version)?;
        let file = dir.join(file_name(api_version, kind));
        if !file.is_file() {
            return Ok(cell.get_or_init(|| None).clone());
        }
        let registry = self.registry(version)?;
        Ok(cell
            .get_or_init(|| {
                let schema: Value = match crate::fsio::read_capped(&file, crate::fsio::limit::KUBE_SCHEMA)
                    .map_err(|e| e.to_string())
                    .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
                {
                    Ok(s) => s,
                    Err(e) => return Some(Err(format!("{}: {e}", file.display()))),
                };
                Some(
                    jsonschema::options()
                        .with_registry(&registry)
                        .build(&schema)
                        .map(Arc::new)
                        .map_err(|e| format!("{}: {e}", file.display())),
                )
            })
            .clone())
    }

    fn crd_cached(&self, version: &str, c: &crd::CrdSchema) -> Compiled {
        let cell = self.cell(version, &c.api_version, &format!("crd:{}", c.kind));
        cell.get_or_init(|| Some(compile_crd(&c.schema))).clone().unwrap_or_else(|| Err("no schema".into()))
    }

    fn cell(&self, version: &str, api_version: &str, kind: &str) -> Arc<OnceLock<Option<Compiled>>> {
        let mut map = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((version.to_owned(), api_version.to_owned(), kind.to_owned())).or_default().clone()
    }
}

/// The group versions (and group/version/Kind) that serve a resource kind, from
/// the `x-kubernetes-group-version-kind` marks of Kubernetes' definitions. The
/// meta kinds every group version mentions (DeleteOptions, WatchEvent) and lists
/// do not make a group version served.
pub fn served_api_versions(defs: &Value) -> Vec<String> {
    let table = defs.get("$defs").or_else(|| defs.get("definitions")).and_then(Value::as_object);
    let mut out = std::collections::BTreeSet::new();
    for def in table.into_iter().flat_map(|t| t.values()) {
        for gvk in def.get("x-kubernetes-group-version-kind").and_then(Value::as_array).into_iter().flatten()
        {
            let (Some(group), Some(version), Some(kind)) = (
                gvk.get("group").and_then(Value::as_str),
                gvk.get("version").and_then(Value::as_str),
                gvk.get("kind").and_then(Value::as_str),
            ) else {
                continue;
            };
            if matches!(kind, "DeleteOptions" | "WatchEvent" | "Status") || kind.ends_with("List") {
                continue;
            }
            let gv = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
            out.insert(format!("{gv}/{kind}"));
            out.insert(gv);
        }
    }
    out.into_iter().collect()
}

/// Validation results depend on the harness's own code (schema conversion,
/// messages), so they are keyed by the running binary too: a rebuilt harness
/// revalidates once. (helm results do not depend on it and are shared.)
pub fn harness_identity() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let exe = std::env::current_exe().ok();
        let meta = exe.as_ref().and_then(|e| std::fs::metadata(e).ok());
        let mtime = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        format!("{exe:?} {:?} {mtime:?}", meta.map(|m| m.len()))
    })
}

/// One violation per unknown field (so each points at its own key), else the error as is.
fn violations(e: &jsonschema::ValidationError<'_>) -> Vec<Violation> {
    let path = e.instance_path().to_string();
    match e.kind() {
        jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| Violation {
                path: crate::yaml::child(&path, name),
                message: format!("unknown field {name:?}"),
            })
            .collect(),
        _ => vec![Violation { path, message: e.to_string() }],
    }
}

/// The schemas `$ref` `/api/_definitions.json#/$defs/...` relative to their
/// `$id` (`https://kubernetes.io/api/<kind>/...`), so the definitions are
/// registered under the URI that resolves to; nothing is fetched.
const DEFINITIONS_URI: &str = "https://kubernetes.io/api/_definitions.json";

fn compile_crd(schema: &Value) -> Compiled {
    jsonschema::options().build(schema).map(Arc::new).map_err(|e| e.to_string())
}

/// kubeconform's file name: `{kind}-{group's first label}-{version}.json`,
/// `{kind}-{version}.json` for the core group, all lower case.
pub fn file_name(api_version: &str, kind: &str) -> String {
    let kind = kind.to_lowercase();
    match api_version.split_once('/') {
        Some((group, version)) => {
            let group = group.split('.').next().unwrap_or(group);
            format!("{kind}-{}-{}.json", group.to_lowercase(), version.to_lowercase())
        }
        None => format!("{kind}-{}.json", api_version.to_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_api_versions_come_from_resource_kinds_only() {
        let defs = serde_json::json!({"$defs": {
            "a": {"x-kubernetes-group-version-kind": [{"group": "apiregistration.k8s.io", "version": "v1", "kind": "APIService"}]},
            "b": {"x-kubernetes-group-version-kind": [{"group": "apiregistration.k8s.io", "version": "v1beta1", "kind": "WatchEvent"}]},
            "c": {"x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Pod"}]}
        }});
        assert_eq!(
            served_api_versions(&defs),
            ["apiregistration.k8s.io/v1", "apiregistration.k8s.io/v1/APIService", "v1", "v1/Pod"]
        );
    }

    #[test]
    fn file_names_follow_kubeconform() {
        assert_eq!(file_name("apps/v1", "Deployment"), "deployment-apps-v1.json");
        assert_eq!(file_name("v1", "Service"), "service-v1.json");
        assert_eq!(file_name("networking.k8s.io/v1", "Ingress"), "ingress-networking-v1.json");
    }
}
