//! Custom resources: a CRD's `openAPIV3Schema` turned into a strict JSON Schema.
//!
//! Kubernetes' structural schemas are OpenAPI v3 with extensions; to validate
//! the way the API server prunes and rejects, objects that list `properties`
//! get `additionalProperties: false` unless `x-kubernetes-preserve-unknown-fields`
//! says otherwise, `nullable` becomes a `null` type, and int-or-string fields
//! accept both.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One served version of one custom resource kind.
#[derive(Debug, Clone)]
pub struct CrdSchema {
    /// `group/version`, as objects write it in `apiVersion`.
    pub api_version: String,
    pub kind: String,
    pub schema: Value,
    /// The file the CRD came from.
    pub origin: PathBuf,
}

/// Upstream CRDs built into the harness (schemas/crds/README.md says where
/// each comes from): Gateway API, prometheus-operator, Traefik.
const BUNDLED: &[(&str, &str)] = &[
    (
        "gateway-api/gateway.networking.k8s.io_gatewayclasses.yaml",
        include_str!("../../../../schemas/crds/gateway-api/gateway.networking.k8s.io_gatewayclasses.yaml"),
    ),
    (
        "gateway-api/gateway.networking.k8s.io_gateways.yaml",
        include_str!("../../../../schemas/crds/gateway-api/gateway.networking.k8s.io_gateways.yaml"),
    ),
    (
        "gateway-api/gateway.networking.k8s.io_grpcroutes.yaml",
        include_str!("../../../../schemas/crds/gateway-api/gateway.networking.k8s.io_grpcroutes.yaml"),
    ),
    (
        "gateway-api/gateway.networking.k8s.io_httproutes.yaml",
        include_str!("../../../../schemas/crds/gateway-api/gateway.networking.k8s.io_httproutes.yaml"),
    ),
    (
        "gateway-api/gateway.networking.k8s.io_referencegrants.yaml",
        include_str!("../../../../schemas/crds/gateway-api/gateway.networking.k8s.io_referencegrants.yaml"),
    ),
    (
        "gateway-api/gateway.networking.k8s.io_tcproutes.yaml",
        include_str!("../../../../schemas/crds/gateway-api/gateway.networking.k8s.io_tcproutes.yaml"),
    ),
    (
        "gateway-api/gateway.networking.k8s.io_tlsroutes.yaml",
        include_str!("../../../../schemas/crds/gateway-api/gateway.networking.k8s.io_tlsroutes.yaml"),
    ),
    (
        "gateway-api/gateway.networking.k8s.io_udproutes.yaml",
        include_str!("../../../../schemas/crds/gateway-api/gateway.networking.k8s.io_udproutes.yaml"),
    ),
    (
        "prometheus-operator/monitoring.coreos.com_podmonitors.yaml",
        include_str!("../../../../schemas/crds/prometheus-operator/monitoring.coreos.com_podmonitors.yaml"),
    ),
    (
        "prometheus-operator/monitoring.coreos.com_probes.yaml",
        include_str!("../../../../schemas/crds/prometheus-operator/monitoring.coreos.com_probes.yaml"),
    ),
    (
        "prometheus-operator/monitoring.coreos.com_prometheusrules.yaml",
        include_str!(
            "../../../../schemas/crds/prometheus-operator/monitoring.coreos.com_prometheusrules.yaml"
        ),
    ),
    (
        "prometheus-operator/monitoring.coreos.com_servicemonitors.yaml",
        include_str!(
            "../../../../schemas/crds/prometheus-operator/monitoring.coreos.com_servicemonitors.yaml"
        ),
    ),
    (
        "traefik/traefik.io_ingressroutes.yaml",
        include_str!("../../../../schemas/crds/traefik/traefik.io_ingressroutes.yaml"),
    ),
    (
        "traefik/traefik.io_ingressroutetcps.yaml",
        include_str!("../../../../schemas/crds/traefik/traefik.io_ingressroutetcps.yaml"),
    ),
    (
        "traefik/traefik.io_ingressrouteudps.yaml",
        include_str!("../../../../schemas/crds/traefik/traefik.io_ingressrouteudps.yaml"),
    ),
    (
        "traefik/traefik.io_middlewares.yaml",
        include_str!("../../../../schemas/crds/traefik/traefik.io_middlewares.yaml"),
    ),
    (
        "traefik/traefik.io_middlewaretcps.yaml",
        include_str!("../../../../schemas/crds/traefik/traefik.io_middlewaretcps.yaml"),
    ),
    (
        "traefik/traefik.io_serverstransports.yaml",
        include_str!("../../../../schemas/crds/traefik/traefik.io_serverstransports.yaml"),
    ),
    (
        "traefik/traefik.io_serverstransporttcps.yaml",
        include_str!("../../../../schemas/crds/traefik/traefik.io_serverstransporttcps.yaml"),
    ),
    (
        "traefik/traefik.io_tlsoptions.yaml",
        include_str!("../../../../schemas/crds/traefik/traefik.io_tlsoptions.yaml"),
    ),
    (
        "traefik/traefik.io_tlsstores.yaml",
        include_str!("../../../../schemas/crds/traefik/traefik.io_tlsstores.yaml"),
    ),
    (
        "traefik/traefik.io_traefikservices.yaml",
        include_str!("../../../../schemas/crds/traefik/traefik.io_traefikservices.yaml"),
    ),
];

/// The built-in CRDs' schemas, parsed once per process.
pub fn bundled() -> &'static [CrdSchema] {
    static PARSED: std::sync::OnceLock<Vec<CrdSchema>> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| {
        BUNDLED
            .iter()
            // Vendored files are known good; a parse failure would be a harness bug caught by its tests.
            .flat_map(|(name, text)| {
                from_text(text, &Path::new("schemas/crds").join(name)).unwrap_or_default()
            })
            .collect()
    })
}

/// Whether `text` is one of the built-in CRD files (read again from disk when
/// linting the repository that vendors them).
pub fn is_bundled(text: &str) -> bool {
    BUNDLED.iter().any(|(_, t)| t.len() == text.len() && *t == text)
}

/// Every CRD schema found in the YAML files of a folder (not recursive into
/// hidden folders); files that cannot be read or parsed are reported.
pub fn load_dir(dir: &Path) -> (Vec<CrdSchema>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    if !dir.is_dir() {
        return (out, errors);
    }
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml" || x == "json"))
        .collect();
    files.sort();
    for f in files {
        match crate::fsio::read_text(&f, crate::fsio::limit::KUBE_SCHEMA) {
            Ok(text) if is_bundled(&text) => {}
            Ok(text) => match from_text(&text, &f) {
                Ok(mut v) => out.append(&mut v),
                Err(e) => errors.push(format!("{}: {e}", f.display())),
            },
            Err(e) => errors.push(format!("{}: {e}", f.display())),
        }
    }
    (out, errors)
}

/// The CRD schemas of a (multi-document) YAML text; other documents are ignored.
pub fn from_text(text: &str, origin: &Path) -> Result<Vec<CrdSchema>, String> {
    let (objects, errors) = crate::manifest::split(text);
    if let Some(e) = errors.first() {
        return Err(format!("line {}: {}", e.line, e.message));
    }
    Ok(objects.iter().flat_map(|o| from_crd(&o.value, origin)).collect())
}

fn from_crd(crd: &Value, origin: &Path) -> Vec<CrdSchema> {
    if crd.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
        return Vec::new();
    }
    let spec = &crd["spec"];
    let (Some(group), Some(kind)) =
        (spec["group"].as_str(), spec.pointer("/names/kind").and_then(Value::as_str))
    else {
        return Vec::new();
    };
    spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let name = v["name"].as_str()?;
            let schema = v.pointer("/schema/openAPIV3Schema")?;
            Some(CrdSchema {
                api_version: format!("{group}/{name}"),
                kind: kind.to_owned(),
                schema: to_json_schema(schema, group, name, kind),
                origin: origin.to_path_buf(),
            })
        })
        .collect()
}

/// The top-level schema of a kind: its own fields plus `apiVersion`, `kind`
/// and `metadata`, which every object has and CRDs often leave out.
pub fn to_json_schema(openapi: &Value, group: &str, version: &str, kind: &str) -> Value {
    let mut root = convert(openapi);
    if let Some(obj) = root.as_object_mut() {
        let props = obj.entry("properties").or_insert_with(|| json!({}));
        if let Some(props) = props.as_object_mut() {
            props.insert(
                "apiVersion".into(),
                json!({"type": "string", "enum": [format!("{group}/{version}")]}),
            );
            props.insert("kind".into(), json!({"type": "string", "enum": [kind]}));
            props.entry("metadata").or_insert_with(|| json!({"type": "object"}));
        }
        obj.entry("type").or_insert_with(|| json!("object"));
        if !obj.contains_key("additionalProperties") && !preserves_unknown(openapi) {
            obj.insert("additionalProperties".into(), json!(false));
        }
        obj.insert("$schema".into(), json!("http://json-schema.org/draft-04/schema#"));
    }
    root
}

fn preserves_unknown(s: &Value) -> bool {
    s.get("x-kubernetes-preserve-unknown-fields").and_then(Value::as_bool) == Some(true)
}

fn convert(s: &Value) -> Value {
    let Some(obj) = s.as_object() else {
        return s.clone();
    };
    let mut out = Map::new();
    for (k, v) in obj {
        match k.as_str() {
            "properties" | "patternProperties" | "definitions" => {
                let converted: Map<String, Value> = v
                    .as_object()
                    .map(|m| m.iter().map(|(name, sub)| (name.clone(), convert(sub))).collect())
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Object(converted));
            }
            "items" | "not" => {
                out.insert(k.clone(), convert(v));
            }
            "additionalProperties" if v.is_object() => {
                out.insert(k.clone(), convert(v));
            }
            "allOf" | "anyOf" | "oneOf" => {
                let list = v.as_array().map(|a| a.iter().map(convert_partial).collect()).unwrap_or_default();
                out.insert(k.clone(), Value::Array(list));
            }
            // Extensions and OpenAPI-only keywords are not JSON Schema validation.
            k if k.starts_with("x-kubernetes-") || k == "nullable" => {}
            // The API server reads patterns as Go (RE2) regular expressions; JSON
            // Schema as ECMA-262, which has no inline flags (`(?i)`). Such a
            // pattern is left unchecked rather than rejecting the whole schema.
            "pattern" if v.as_str().is_some_and(go_only_pattern) => {}
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if obj.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true) {
        out.remove("type");
        out.insert("anyOf".into(), json!([{"type": "integer"}, {"type": "string"}]));
    }
    let nullable = obj.get("nullable").and_then(Value::as_bool) == Some(true);
    if nullable && let Some(t) = out.get("type").and_then(Value::as_str).map(str::to_owned) {
        out.insert("type".into(), json!([t, "null"]));
    }
    let is_object =
        out.get("type").and_then(Value::as_str) == Some("object") || out.contains_key("properties");
    if is_object
        && out.contains_key("properties")
        && !out.contains_key("additionalProperties")
        && !preserves_unknown(s)
    {
        if obj.get("x-kubernetes-embedded-resource").and_then(Value::as_bool) == Some(true)
            && let Some(Value::Object(props)) = out.get_mut("properties")
        {
            for f in ["apiVersion", "kind"] {
                props.entry(f).or_insert_with(|| json!({"type": "string"}));
            }
            props.entry("metadata").or_insert_with(|| json!({"type": "object"}));
        }
        out.insert("additionalProperties".into(), json!(false));
    }
    Value::Object(out)
}

/// Subschemas of `allOf`/`anyOf`/`oneOf` in structural schemas only add
/// constraints to fields the parent declares: they must not close the object.
/// Whether a Go regular expression uses syntax ECMA-262 lacks (inline flags).
fn go_only_pattern(p: &str) -> bool {
    ["(?i", "(?m", "(?s", "(?U"].iter().any(|f| p.contains(f))
}

fn convert_partial(s: &Value) -> Value {
    let mut v = convert(s);
    if let Some(o) = v.as_object_mut()
        && s.get("additionalProperties").is_none()
    {
        o.remove("additionalProperties");
    }
    v
}

/// CRD schemas indexed by (`apiVersion`, `kind`).
#[derive(Debug, Clone, Default)]
pub struct CrdSet {
    pub schemas: BTreeMap<(String, String), CrdSchema>,
    /// A content fingerprint, part of validation cache keys.
    pub fingerprint: String,
}

impl CrdSet {
    pub fn new(list: Vec<CrdSchema>) -> Self {
        let mut k = crate::cache::KeyBuilder::new("crds");
        let mut schemas = BTreeMap::new();
        for c in list {
            schemas.insert((c.api_version.clone(), c.kind.clone()), c);
        }
        for ((a, kind), c) in &schemas {
            k = k.str(a).str(kind).str(&c.schema.to_string());
        }
        Self { schemas, fingerprint: k.finish().0 }
    }

    pub fn get(&self, api_version: &str, kind: &str) -> Option<&CrdSchema> {
        self.schemas.get(&(api_version.to_owned(), kind.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.org
spec:
  group: example.org
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                port: {x-kubernetes-int-or-string: true}
                note: {type: string, nullable: true}
                extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
              required: [port]
"#;

    fn validator() -> jsonschema::Validator {
        let set = from_text(CRD, Path::new("crd.yaml")).unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!((set[0].api_version.as_str(), set[0].kind.as_str()), ("example.org/v1", "Widget"));
        jsonschema::validator_for(&set[0].schema).unwrap()
    }

    #[test]
    fn the_bundled_crds_parse_and_cover_the_common_kinds() {
        let kinds: std::collections::BTreeSet<(String, String)> =
            bundled().iter().map(|c| (c.api_version.clone(), c.kind.clone())).collect();
        for (api, kind) in [
            ("gateway.networking.k8s.io/v1", "HTTPRoute"),
            ("gateway.networking.k8s.io/v1", "Gateway"),
            ("gateway.networking.k8s.io/v1", "GRPCRoute"),
            ("gateway.networking.k8s.io/v1alpha2", "TLSRoute"),
            ("monitoring.coreos.com/v1", "ServiceMonitor"),
            ("monitoring.coreos.com/v1", "PrometheusRule"),
            ("traefik.io/v1alpha1", "IngressRoute"),
            ("traefik.io/v1alpha1", "Middleware"),
        ] {
            assert!(kinds.contains(&(api.to_owned(), kind.to_owned())), "{api} {kind}");
        }
        for c in bundled() {
            assert!(jsonschema::options().build(&c.schema).is_ok(), "{} {} compiles", c.api_version, c.kind);
        }
    }

    #[test]
    fn converted_schema_is_strict_where_the_crd_is_structural() {
        let v = validator();
        let ok = json!({"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "a"},
            "spec": {"port": "http", "note": null, "extra": {"anything": 1}}});
        assert!(v.is_valid(&ok), "{:?}", v.iter_errors(&ok).map(|e| e.to_string()).collect::<Vec<_>>());
        let unknown =
            json!({"apiVersion": "example.org/v1", "kind": "Widget", "spec": {"port": 1, "typo": 1}});
        assert!(!v.is_valid(&unknown));
        let missing = json!({"apiVersion": "example.org/v1", "kind": "Widget", "spec": {}});
        assert!(!v.is_valid(&missing));
        let wrong_kind = json!({"apiVersion": "example.org/v1", "kind": "Gadget", "spec": {"port": 1}});
        assert!(!v.is_valid(&wrong_kind));
    }
}
