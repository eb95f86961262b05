//! The kind cluster `cargo xtask ct install` makes for chart-testing, as data:
//! what exists on it before ct installs anything. `ct/install-ready`
//! (`crate::checks::install_ready`) judges every scenario ct will install
//! against this, and the install (`crate::release::cluster`) applies the same
//! fixtures, so the judgement and the cluster cannot drift apart.
//!
//! Facts about kind, from its source at the pinned releases (v0.24.0 for the
//! 1.25 node image, v0.32.0 for the newest): the only StorageClass is
//! `standard`, the default, provisioner `rancher.io/local-path` with
//! `WaitForFirstConsumer` (`pkg/build/nodeimage/const_storage.go`); no
//! LoadBalancer implementation and no CRD is installed.

use crate::files::FileError;
use crate::manifest::Object;
use std::path::{Path, PathBuf};

/// Manifests `cargo xtask ct install` applies before ct runs: CRDs, and objects
/// the scenarios expect to find in the test namespace (a Secret, a ConfigMap, a
/// claim a chart is pointed at with `existing…` values). The one place both the
/// install and `ct/install-ready` read.
pub const FIXTURES_DIR: &str = ".github/kind/ct-fixtures";

/// The namespace ct installs every release into (`ct install --namespace`).
pub const TEST_NAMESPACE: &str = crate::helm::NAMESPACE;

/// The Pod Security level the test namespace enforces unless a `Namespace` fixture
/// (named [`TEST_NAMESPACE`]) declares another with `pod-security.kubernetes.io/enforce`.
pub const POD_SECURITY: &str = "restricted";

/// The levels `ct/install-ready` can judge pods by (baseline's subset is not modelled).
pub const LEVELS: &[&str] = &["restricted", "privileged"];

const ENFORCE: &str = "pod-security.kubernetes.io/enforce";

/// The StorageClasses of a kind cluster (see the module doc).
pub const STORAGE_CLASSES: &[&str] = &["standard"];

/// The namespaces a fresh kind cluster has, besides the test namespace.
pub const NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease", "local-path-storage"];

/// The node labels a pod may select on: the install matrix runs amd64 and arm64
/// runners, so `kubernetes.io/arch` (and the node's name) differ between its jobs.
pub const NODE_LABELS: &[(&str, &str)] = &[("kubernetes.io/os", "linux")];

/// What the fixtures folder holds, parsed.
#[derive(Debug, Clone, Default)]
pub struct Fixtures {
    /// Every object, with the file it came from.
    pub objects: Vec<(PathBuf, Object)>,
}

#[derive(Debug, thiserror::Error)]
pub enum FixturesError {
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: FileError },
    #[error("{path}: cannot list the folder: {source}")]
    List { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: not YAML: {message}")]
    Parse { path: PathBuf, line: usize, message: String },
    #[error(
        "{path}:{line}: {id} names namespace {namespace:?}; fixtures are applied in the test namespace ({TEST_NAMESPACE}), leave it out"
    )]
    Namespace { path: PathBuf, line: usize, id: String, namespace: String },
    #[error("{path}:{line}: a document without kind or metadata.name")]
    Unnamed { path: PathBuf, line: usize },
    #[error(
        "{path}:{line}: Namespace {name}: a Namespace fixture may only describe the test namespace ({TEST_NAMESPACE})"
    )]
    OtherNamespace { path: PathBuf, line: usize, name: String },
    #[error("{path}:{line}: Pod Security level {level:?}: ct/install-ready judges {} only", LEVELS.join(" or "))]
    Level { path: PathBuf, line: usize, level: String },
}

impl Fixtures {
    /// The Pod Security level the test namespace enforces: a `Namespace` fixture's
    /// `pod-security.kubernetes.io/enforce`, else [`POD_SECURITY`].
    pub fn pod_security(&self) -> &str {
        self.namespace()
            .and_then(|n| n.value.pointer("/metadata/labels").and_then(|l| l.get(ENFORCE)))
            .and_then(|v| v.as_str())
            .unwrap_or(POD_SECURITY)
    }

    /// The test namespace's `Namespace` fixture, when one is declared.
    pub fn namespace(&self) -> Option<&Object> {
        self.objects.iter().map(|(_, o)| o).find(|o| o.kind() == "Namespace")
    }

    /// What the install applies in the test namespace, as one `List` (the namespace
    /// itself is made first, from [`namespace_manifest`]).
    pub fn apply_list(&self) -> String {
        let items: Vec<&serde_json::Value> =
            self.objects.iter().map(|(_, o)| &o.value).filter(|v| v["kind"] != "Namespace").collect();
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()
    }

    /// Whether there is anything to apply besides the namespace.
    pub fn has_objects(&self) -> bool {
        self.objects.iter().any(|(_, o)| o.kind() != "Namespace")
    }

    /// The namespaced objects of `kind` (everything but CRDs lands in the test namespace).
    pub fn get(&self, kind: &str, name: &str) -> Option<&Object> {
        self.objects.iter().map(|(_, o)| o).find(|o| o.kind() == kind && o.name() == name)
    }

    /// `group/Kind` of every CustomResourceDefinition among the fixtures.
    pub fn crd_kinds(&self) -> Vec<String> {
        self.objects
            .iter()
            .map(|(_, o)| o)
            .filter(|o| o.kind() == "CustomResourceDefinition")
            .filter_map(|o| {
                let group = o.value.pointer("/spec/group")?.as_str()?;
                let kind = o.value.pointer("/spec/names/kind")?.as_str()?;
                Some(format!("{group}/{kind}"))
            })
            .collect()
    }
}

/// The test namespace at `level`, enforcing it (and auditing and warning on it).
pub fn namespace_manifest(level: &str) -> String {
    let mut s = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {TEST_NAMESPACE}\n  labels:\n");
    for mode in ["enforce", "audit", "warn"] {
        s.push_str(&format!("    pod-security.kubernetes.io/{mode}: {level}\n"));
        s.push_str(&format!("    pod-security.kubernetes.io/{mode}-version: latest\n"));
    }
    s
}

/// The fixture files under `root`, in name order (`*.yaml`, `*.yml`); none when
/// the folder does not exist.
pub fn files(root: &Path) -> Result<Vec<PathBuf>, FixturesError> {
    let dir = root.join(FIXTURES_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(FixturesError::List { path: dir, source }),
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Reads and parses the fixtures under `root`; also returns their text (for cache keys).
pub fn load(root: &Path) -> Result<(Fixtures, String), FixturesError> {
    let mut fixtures = Fixtures::default();
    let mut texts = String::new();
    for path in files(root)? {
        let text = crate::files::read_text(&path)
            .map_err(|source| FixturesError::Read { path: path.clone(), source })?;
        let (objects, errors) = crate::manifest::split(&text);
        if let Some(e) = errors.first() {
            return Err(FixturesError::Parse { path, line: e.line, message: e.message.clone() });
        }
        for o in objects {
            if o.kind().is_empty() || o.name().is_empty() {
                return Err(FixturesError::Unnamed { path, line: o.line });
            }
            if o.kind() == "Namespace" {
                if o.name() != TEST_NAMESPACE {
                    return Err(FixturesError::OtherNamespace {
                        path,
                        line: o.line,
                        name: o.name().to_owned(),
                    });
                }
                let level =
                    o.value.pointer("/metadata/labels").and_then(|l| l.get(ENFORCE)).and_then(|v| v.as_str());
                if let Some(level) = level.filter(|l| !LEVELS.contains(l)) {
                    return Err(FixturesError::Level { path, line: o.line, level: level.to_owned() });
                }
            }
            if let Some(ns) = o.value.pointer("/metadata/namespace").and_then(|v| v.as_str())
                && ns != TEST_NAMESPACE
            {
                return Err(FixturesError::Namespace {
                    path,
                    line: o.line,
                    id: o.id(),
                    namespace: ns.to_owned(),
                });
            }
            fixtures.objects.push((path.clone(), o));
        }
        texts.push_str(&path.to_string_lossy());
        texts.push('\0');
        texts.push_str(&text);
        texts.push('\0');
    }
    Ok((fixtures, texts))
}

/// The fixtures of a run, known by their folder's content and parsed only
/// when a chart's load needs them: a warm lint, whose findings are cached
/// under that content, reads none of them.
#[derive(Debug)]
pub struct FixturesFile {
    root: PathBuf,
    /// The fixtures folder's content fingerprint (for cache keys).
    pub digest: String,
    parsed: std::sync::OnceLock<Option<std::sync::Arc<Fixtures>>>,
}

impl FixturesFile {
    /// The fixtures under `root`, or why they cannot be used ([`load`]'s
    /// error); the verdict is remembered by the folder's content (an I/O
    /// error, which says nothing about the content, is not).
    pub fn find(root: &Path, cache: &crate::cache::Cache) -> Result<Self, String> {
        let dir = root.join(FIXTURES_DIR);
        let digest = cache.tree_fingerprint(&dir);
        let key = crate::cache::KeyBuilder::new("kind fixtures problem")
            .str(crate::kube::harness_identity())
            .str(&dir.to_string_lossy())
            .str(&digest)
            .finish();
        let problem = match cache.get::<Option<String>>(&key) {
            Some(p) => p,
            None => match load(root) {
                Ok(_) => {
                    cache.put(&key, &None::<String>);
                    None
                }
                Err(e @ (FixturesError::Read { .. } | FixturesError::List { .. })) => Some(e.to_string()),
                Err(e) => {
                    let p = Some(e.to_string());
                    cache.put(&key, &p);
                    p
                }
            },
        };
        match problem {
            Some(message) => Err(message),
            None => Ok(Self { root: root.to_path_buf(), digest, parsed: Default::default() }),
        }
    }

    /// The fixtures, parsed on first use (`None` when they cannot be read now).
    pub fn fixtures(&self) -> Option<std::sync::Arc<Fixtures>> {
        self.parsed.get_or_init(|| load(&self.root).ok().map(|(f, _)| std::sync::Arc::new(f))).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_are_judged_once_by_content_and_parsed_on_use() {
        let tmp = root_with(&[("a.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n")]);
        let cache = crate::cache::Cache::new(&tmp.path().join("cache"));
        let found = FixturesFile::find(tmp.path(), &cache).unwrap();
        assert_eq!(found.fixtures().unwrap().objects.len(), 1);
        let dir = tmp.path().join(FIXTURES_DIR);
        std::fs::write(dir.join("b.yaml"), "kind: Secret\n").unwrap();
        let err = FixturesFile::find(tmp.path(), &cache).unwrap_err();
        assert!(err.contains("b.yaml") && err.contains("without kind or metadata.name"), "{err}");
        assert_ne!(FixturesFile::find(tmp.path(), &cache).err(), None, "remembered, still an error");
        std::fs::remove_file(dir.join("b.yaml")).unwrap();
        assert_eq!(FixturesFile::find(tmp.path(), &cache).unwrap().digest, found.digest);
    }

    fn root_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(FIXTURES_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        tmp
    }

    #[test]
    fn objects_and_crds_are_read_in_name_order() {
        let root = root_with(&[
            ("b.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  k: v\n"),
            (
                "a.yaml",
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: xs.example.org\nspec:\n  group: example.org\n  names:\n    kind: X\n",
            ),
            ("notes.txt", "not a manifest"),
        ]);
        let (f, text) = load(root.path()).unwrap();
        assert_eq!(f.objects.len(), 2);
        assert_eq!(f.objects[0].1.kind(), "CustomResourceDefinition");
        assert!(f.get("Secret", "s").is_some() && f.get("Secret", "t").is_none());
        assert_eq!(f.crd_kinds(), ["example.org/X"]);
        assert!(text.contains("kind: Secret") && !text.contains("not a manifest"));
    }

    #[test]
    fn a_namespace_fixture_declares_the_level_and_is_not_applied_with_the_rest() {
        let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: nex\n  labels:\n    pod-security.kubernetes.io/enforce: privileged\n";
        let root = root_with(&[("ns.yaml", ns), ("s.yaml", "kind: Secret\nmetadata:\n  name: s\n")]);
        let (f, _) = load(root.path()).unwrap();
        assert_eq!(f.pod_security(), "privileged");
        let list: serde_json::Value = serde_json::from_str(&f.apply_list()).unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        assert_eq!(list["items"][0]["kind"], "Secret");
        assert_eq!(Fixtures::default().pod_security(), "restricted");
        let m = namespace_manifest("restricted");
        assert!(m.contains("name: nex\n") && m.contains("pod-security.kubernetes.io/enforce: restricted\n"));
        let root = root_with(&[("ns.yaml", &ns.replace("privileged", "baseline"))]);
        assert!(load(root.path()).unwrap_err().to_string().contains("\"baseline\""));
        let root = root_with(&[("ns.yaml", &ns.replace("name: nex", "name: other"))]);
        assert!(load(root.path()).unwrap_err().to_string().contains("Namespace other"));
    }

    #[test]
    fn no_folder_is_no_fixtures() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(load(tmp.path()).unwrap().0.objects.is_empty());
    }

    #[test]
    fn another_namespace_or_broken_yaml_is_an_error_naming_the_file() {
        let root = root_with(&[("x.yaml", "kind: Secret\nmetadata:\n  name: s\n  namespace: other\n")]);
        let e = load(root.path()).unwrap_err().to_string();
        assert!(e.contains("x.yaml:1") && e.contains("\"other\""), "{e}");
        let root = root_with(&[("y.yaml", "kind: [\n")]);
        assert!(load(root.path()).unwrap_err().to_string().contains("y.yaml"));
        let root = root_with(&[("z.yaml", "kind: Secret\n")]);
        assert!(load(root.path()).unwrap_err().to_string().contains("without kind or metadata.name"));
    }
}
