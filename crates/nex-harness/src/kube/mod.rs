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
    /// Results cache (served API versions) and its stat memo (CRD fingerprints).
    cache: Cache,
    /// Folders of CRDs configured for the catalog (`schemas/crds/`).
    crd_dirs: Vec<PathBuf>,
    /// The built-in CRDs then those of `crd_dirs`, and the files that could not
    /// be read; parsed only when an object of a kind Kubernetes lacks is
    /// validated (a warm run parses none of the megabytes of CRD YAML).
    catalog_crds: OnceLock<(CrdSet, Vec<String>)>,
    identity: OnceLock<String>,
    definitions: Slots<String, Result<Arc<Definitions>, SchemaError>>,
    compiled: Slots<(String, String, String), Option<Compiled>>,
    served: Slots<String, Vec<String>>,
}

impl Schemas {
    /// Kubernetes schemas at `root`; the CRDs built into the harness, then those
    /// of each folder of `crd_dirs` (a later definition of a kind replaces an earlier one).
    pub fn new(root: SchemaRoot, cache: &Cache, crd_dirs: &[PathBuf]) -> Self {
        Self {
            root,
            cache: cache.clone(),
            crd_dirs: crd_dirs.to_vec(),
            catalog_crds: OnceLock::new(),
            identity: OnceLock::new(),
            definitions: Mutex::default(),
            compiled: Mutex::default(),
            served: Mutex::default(),
        }
    }

    /// The run's schemas: `KUBE_SCHEMA_DIR` or the cache, and the catalog's CRD folder.
    pub fn from_env(cache: &Cache, cache_root: &std::path::Path, crd_dir: Option<PathBuf>) -> Self {
        Self::new(SchemaRoot::from_env(cache_root), cache, crd_dir.as_slice())
    }

    /// The catalog's CRD files that cannot be read or parsed, remembered by
    /// the folders' content, so that an unchanged folder is not parsed again.
    pub fn crd_errors(&self) -> Vec<String> {
        let dirs: Vec<&PathBuf> = self.crd_dirs.iter().filter(|d| d.exists()).collect();
        if dirs.is_empty() {
            return Vec::new();
        }
        let key = KeyBuilder::new("catalog crd errors").str(&self.identity()).finish();
        // The folders alone: the built-in CRDs have no errors (a test parses them).
        let errors = || match self.catalog_crds.get() {
            Some((_, errors)) => errors.clone(),
            None => dirs.iter().flat_map(|d| crd::load_dir(d).1).collect(),
        };
        self.cache.get_or(&key, errors, |_| true)
    }

    fn catalog_crds(&self) -> &(CrdSet, Vec<String>) {
        self.catalog_crds.get_or_init(|| {
            let mut list: Vec<crd::CrdSchema> = crd::bundled().to_vec();
            let mut errors = Vec::new();
            for dir in &self.crd_dirs {
                let (mut found, mut errs) = crd::load_dir(dir);
                list.append(&mut found);
                errors.append(&mut errs);
            }
            (CrdSet::new(list), errors)
        })
    }

    /// What the validation results depend on besides the object (cache keys):
    /// the schemas, and the CRD folders' content (by the stat memo, so
    /// unchanged files are not read). The built-in CRDs are part of the
    /// harness, which every key that uses this names too ([`harness_identity`]).
    pub fn identity(&self) -> String {
        self.identity
            .get_or_init(|| {
                let mut k = KeyBuilder::new("catalog crds").str(harness_identity());
                for dir in &self.crd_dirs {
                    k = k.str(&dir.to_string_lossy()).str(&self.cache.tree_fingerprint(dir));
                }
                format!("{} {}", self.root.identity(), k.finish().0)
            })
            .clone()
    }

    /// Validates one object for one Kubernetes version, served from the cache
    /// when this exact object was validated against the same schemas before.
    pub fn validate(&self, object: &Value, version: &str, chart_crds: &CrdSet, cache: &Cache) -> Outcome {
        let key = KeyBuilder::new("validate")
            .str(harness_identity())
            .str(&self.identity())
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
                Ok(None) => self.catalog_crds().0.get(api_version, kind).map(|c| self.crd_cached(version, c)),
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
    /// Kept in the results cache: reading the definitions costs more than a render.
    pub fn api_versions(&self, version: &str) -> Vec<String> {
        let cell = {
            let mut map = self.served.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(version.to_owned()).or_default().clone()
        };
        cell.get_or_init(|| {
            let key = KeyBuilder::new("served api versions").str(&self.root.identity()).str(version).finish();
            let read = || {
                let Ok(dir) = self.root.definitions(version) else { return Vec::new() };
                // In the cache's schema folder the list is kept beside the definitions,
                // derived once per version like the extraction itself.
                let kept = matches!(self.root, SchemaRoot::Cache(_)).then(|| dir.join(provision::SERVED));
                if let Some(text) = kept
                    .as_ref()
                    .and_then(|p| crate::fsio::read_text(p, crate::fsio::limit::KUBE_SCHEMA).ok())
                {
                    return text.lines().map(str::to_owned).collect();
                }
                let Ok(defs) =
                    crate::fsio::read_capped(&dir.join("_definitions.json"), crate::fsio::limit::KUBE_SCHEMA)
                else {
                    return Vec::new();
                };
                let served = served_api_versions(&defs);
                if kept.is_some() && !served.is_empty() {
                    let _ = provision::write_atomic(&dir, provision::SERVED, served.join("\n").as_bytes());
                }
                served
            };
            self.cache.get_or(&key, read, |v: &Vec<String>| !v.is_empty())
        })
        .clone()
    }

    /// A version's `_definitions.json`, read once per run.
    fn definitions(&self, version: &str) -> Result<Arc<Definitions>, SchemaError> {
        let cell = {
            let mut map = self.definitions.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(version.to_owned()).or_default().clone()
        };
        cell.get_or_init(|| {
            let path = self.root.definitions(version)?.join("_definitions.json");
            crate::fsio::read_capped(&path, crate::fsio::limit::KUBE_SCHEMA)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<Definitions>(&b).map_err(|e| e.to_string()))
                .map(Arc::new)
                .map_err(|e| SchemaError::Provision(format!("{}: {e}", path.display())))
        })
        .clone()
    }

    /// The compiled built-in schema, `Ok(None)` when Kubernetes has no such kind.
    fn builtin(&self, version: &str, api_version: &str, kind: &str) -> Result<Option<Compiled>, SchemaError> {
        let cell = self.cell(version, api_version, kind);
        if let Some(c) = cell.get() {
            return Ok(c.clone());
        }
        let name = file_name(api_version, kind);
        let Some(file) = self.root.kind_file(version, &name)? else {
            return Ok(cell.get_or_init(|| None).clone());
        };
        // The definitions a kind reaches are kept (beside the schemas in the
        // cache's schema folder, derived once like the extraction; else in the
        // results cache): a run that validates a new Secret then reads none of
        // the 1.8 MB file.
        let key = KeyBuilder::new("kind definitions without descriptions")
            .str(&self.root.identity())
            .str(version)
            .str(&name)
            .finish();
        let bundle = match &self.root {
            SchemaRoot::Cache(_) => file.parent().map(|d| d.join(provision::BUNDLES).join(&name)),
            SchemaRoot::Override(_) => None,
        };
        let kept: Option<String> = match &bundle {
            Some(b) => crate::fsio::read_text(b, crate::fsio::limit::KUBE_SCHEMA).ok(),
            None => self.cache.get_raw(&key).and_then(|b| String::from_utf8(b).ok()),
        };
        let defs = if kept.is_none() { Some(self.definitions(version)?) } else { None };
        Ok(cell
            .get_or_init(|| {
                let fail = |e: String| format!("{}: {e}", file.display());
                let text = match crate::fsio::read_capped(&file, crate::fsio::limit::KUBE_SCHEMA)
                    .map_err(|e| e.to_string())
                    .and_then(|b| String::from_utf8(b).map_err(|e| e.to_string()))
                {
                    Ok(t) => t,
                    Err(e) => return Some(Err(fail(e))),
                };
                let mut schema: Value = match serde_json::from_str(&text) {
                    Ok(s) => s,
                    Err(e) => return Some(Err(fail(e.to_string()))),
                };
                drop_descriptions(&mut schema);
                // Registered under the URI the kind's `$ref`s resolve to; only the
                // definitions the kind reaches (a Secret: 8 of Kubernetes' 862).
                let doc = match (kept.clone(), &defs) {
                    (Some(doc), _) => doc,
                    (None, Some(defs)) => {
                        // Without descriptions (three quarters of a Deployment's text):
                        // validation never reads them, compiling them costs.
                        let doc = defs.reached_from(&text);
                        let doc = match serde_json::from_str::<Value>(&doc) {
                            Ok(mut v) => {
                                drop_descriptions(&mut v);
                                v.to_string()
                            }
                            Err(_) => doc,
                        };
                        match bundle.as_ref().and_then(|b| Some((b.parent()?, b.file_name()?))) {
                            Some((dir, file)) => {
                                let _ =
                                    std::fs::create_dir_all(dir).map_err(|e| e.to_string()).and_then(|()| {
                                        provision::write_atomic(dir, &file.to_string_lossy(), doc.as_bytes())
                                    });
                            }
                            None => self.cache.put_raw(&key, doc.as_bytes()),
                        }
                        doc
                    }
                    (None, None) => String::new(),
                };
                let doc: Result<Value, String> = serde_json::from_str(&doc).map_err(|e| e.to_string());
                let registry = match doc.map_err(fail).and_then(|doc| {
                    jsonschema::Registry::new()
                        .add(DEFINITIONS_URI, doc)
                        .and_then(|b| b.prepare())
                        .map_err(|e| fail(e.to_string()))
                }) {
                    Ok(r) => r,
                    Err(e) => return Some(Err(e)),
                };
                Some(
                    jsonschema::options()
                        .with_registry(&registry)
                        .build(&schema)
                        .map(Arc::new)
                        .map_err(|e| fail(e.to_string())),
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

/// A version's `_definitions.json`, each definition kept as its JSON text:
/// scanning the 1.8 MB file that way costs a tenth of building it as values,
/// and a kind's schema needs only the definitions it reaches.
#[derive(Deserialize)]
struct Definitions {
    #[serde(rename = "$defs", default)]
    defs: Option<HashMap<String, Box<serde_json::value::RawValue>>>,
    /// The older layout's name for the same table.
    #[serde(default)]
    definitions: Option<HashMap<String, Box<serde_json::value::RawValue>>>,
    #[serde(rename = "$schema", default)]
    schema: Option<String>,
    #[serde(rename = "$id", default)]
    id: Option<String>,
}

impl Definitions {
    /// The text of a definitions document holding the definitions `schema`
    /// (a kind's schema, as text) reaches, under the same table name, `$schema`
    /// and `$id` as the whole one. Built from the definitions' own text: the
    /// references are found by scanning it, nothing is parsed twice.
    fn reached_from(&self, schema: &str) -> String {
        let (table, defs) = match (&self.defs, &self.definitions) {
            (Some(d), _) => ("$defs", d),
            (None, Some(d)) => ("definitions", d),
            (None, None) => ("$defs", &HashMap::new()),
        };
        let mut kept: Vec<(&str, &str)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut todo = def_refs(schema);
        while let Some(name) = todo.pop() {
            // A dangling reference is left for the compiler to report.
            let Some((key, raw)) = defs.get_key_value(&name) else { continue };
            if seen.insert(name) {
                todo.extend(def_refs(raw.get()));
                kept.push((key, raw.get()));
            }
        }
        let quoted = |s: &str| Value::String(s.to_owned()).to_string();
        let mut doc = format!("{{{}:{{", quoted(table));
        for (i, (name, raw)) in kept.iter().enumerate() {
            if i > 0 {
                doc.push(',');
            }
            doc.push_str(&quoted(name));
            doc.push(':');
            doc.push_str(raw);
        }
        doc.push('}');
        for (key, value) in [("$schema", &self.schema), ("$id", &self.id)] {
            if let Some(v) = value {
                doc.push_str(&format!(",{}:{}", quoted(key), quoted(v)));
            }
        }
        doc.push('}');
        doc
    }
}

/// Removes the `description` annotations of a JSON schema in place: those
/// that are keywords, not properties named so (`properties`, definitions and
/// the like are maps of schemas), and never inside data (`enum`, `const`,
/// `default`, `examples`).
fn drop_descriptions(schema: &mut Value) {
    let Value::Object(map) = schema else {
        if let Value::Array(items) = schema {
            items.iter_mut().for_each(drop_descriptions);
        }
        return;
    };
    if map.get("description").is_some_and(Value::is_string) {
        map.remove("description");
    }
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "enum" | "const" | "default" | "examples" | "example" => {}
            "properties" | "patternProperties" | "definitions" | "$defs" | "dependentSchemas" => {
                if let Value::Object(schemas) = value {
                    schemas.values_mut().for_each(drop_descriptions);
                }
            }
            _ => drop_descriptions(value),
        }
    }
}

/// The names of the definitions a schema's text references (`…#/$defs/<name>"`).
fn def_refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in ["#/$defs/", "#/definitions/"] {
        for (at, _) in text.match_indices(marker) {
            let rest = &text[at + marker.len()..];
            if let Some(end) = rest.find('"') {
                out.push(rest[..end].replace("~1", "/").replace("~0", "~"));
            }
        }
    }
    out
}

/// The group versions (and group/version/Kind) that serve a resource kind, from
/// the `x-kubernetes-group-version-kind` marks of Kubernetes' definitions (the
/// text of `_definitions.json`; read into these few fields only). The meta
/// kinds every group version mentions (DeleteOptions, WatchEvent) and lists do
/// not make a group version served.
pub fn served_api_versions(defs: &[u8]) -> Vec<String> {
    #[derive(Deserialize)]
    struct Table {
        #[serde(rename = "$defs", alias = "definitions", default)]
        defs: HashMap<String, Def>,
    }
    #[derive(Deserialize)]
    struct Def {
        #[serde(rename = "x-kubernetes-group-version-kind", default)]
        gvk: Vec<Gvk>,
    }
    #[derive(Deserialize)]
    struct Gvk {
        group: Option<String>,
        version: Option<String>,
        kind: Option<String>,
    }
    let table: Table = serde_json::from_slice(defs).unwrap_or(Table { defs: HashMap::new() });
    let mut out = std::collections::BTreeSet::new();
    for def in table.defs.values() {
        for gvk in &def.gvk {
            let (Some(group), Some(version), Some(kind)) = (&gvk.group, &gvk.version, &gvk.kind) else {
                continue;
            };
            let (group, version, kind) = (group.as_str(), version.as_str(), kind.as_str());
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
    fn descriptions_go_but_properties_and_data_named_so_stay() {
        let mut schema = serde_json::json!({
            "description": "a PriorityClass",
            "properties": {
                "description": {"description": "free text", "type": "string"},
                "spec": {"allOf": [{"description": "x", "type": "object"}], "default": {"description": "kept"}},
            },
            "$defs": {"description": {"description": "a definition named so", "enum": [{"description": "kept"}]}},
        });
        drop_descriptions(&mut schema);
        assert_eq!(
            schema,
            serde_json::json!({
                "properties": {
                    "description": {"type": "string"},
                    "spec": {"allOf": [{"type": "object"}], "default": {"description": "kept"}},
                },
                "$defs": {"description": {"enum": [{"description": "kept"}]}},
            })
        );
    }

    #[test]
    fn served_api_versions_come_from_resource_kinds_only() {
        let defs = serde_json::json!({"$defs": {
            "a": {"x-kubernetes-group-version-kind": [{"group": "apiregistration.k8s.io", "version": "v1", "kind": "APIService"}]},
            "b": {"x-kubernetes-group-version-kind": [{"group": "apiregistration.k8s.io", "version": "v1beta1", "kind": "WatchEvent"}]},
            "c": {"x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Pod"}]}
        }});
        assert_eq!(
            served_api_versions(&serde_json::to_vec(&defs).unwrap()),
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
