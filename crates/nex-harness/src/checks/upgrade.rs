//! Upgrade safety: what breaks `helm upgrade` for users already running the
//! chart as it is on the target branch. Compares the target branch's renders,
//! values.yaml and values.schema.json (loaded at the edge, `lint --changed`)
//! with this branch's. Every finding is an error unless the chart's major
//! version was bumped, as SemVer asks of breaking changes (for 0.y.z, where
//! SemVer promises nothing, a minor bump counts as the major one, as Cargo reads it).

use crate::base_tree::BaseChart;
use crate::checks::objects::location;
use crate::diag::{Diagnostic, Location};
use crate::diff::json_path as dotted;
use crate::diff::report::one_line;
use crate::diff::{self, ObjectKey};
use crate::load::LoadedChart;
use crate::manifest::Object;
use crate::rule::{EVERY, Rule};
use crate::schema::deref;
use crate::yaml::escape_token;
use serde_json::Value;
use std::collections::BTreeSet;

pub const IMMUTABLE_FIELD: Rule = Rule::error(
    "upgrade/immutable-field",
    EVERY,
    "(`--changed`) a field Kubernetes refuses to change in place differs from the target branch: a workload's `spec.selector`, a StatefulSet's `volumeClaimTemplates` or `serviceName`, a Service's `clusterIP`, a Job's `spec.template` (hook Jobs are recreated, so exempt), a PVC's `storageClassName` or `accessModes`",
);
pub const RENAMED_WORKLOAD: Rule = Rule::error(
    "upgrade/renamed-workload",
    EVERY,
    "(`--changed`) a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob gone from a scenario with another of its kind in its place: pods restart, a StatefulSet's volumes are left behind",
);
pub const RENAMED_PVC: Rule = Rule::error(
    "upgrade/renamed-pvc",
    EVERY,
    "(`--changed`) a PersistentVolumeClaim renamed, or no longer rendered without `helm.sh/resource-policy: keep`: helm deletes the claim and its data",
);
pub const REMOVED_VALUE: Rule = Rule::error(
    "upgrade/removed-value",
    EVERY,
    "(`--changed`) a value of the target branch's `values.yaml` or `values.schema.json` that this branch's schema rejects (removed or renamed), so `helm upgrade` with the users' old values fails; a rename is guessed",
);
pub const NARROWED_TYPE: Rule = Rule::error(
    "upgrade/narrowed-type",
    EVERY,
    "(`--changed`) a value whose schema accepts fewer types (`integer` still covers what `number` did not need) or fewer `enum` choices than on the target branch",
);
/// The chart on the target branch cannot be rendered, so its objects were not
/// compared (said, not passed over in silence).
pub const BASE_UNRENDERED: Rule = Rule::warning(
    "upgrade/base-unrendered",
    EVERY,
    "(`--changed`) the chart on the target branch cannot be rendered, so upgrades from it were not judged",
);
pub const RULES: &[Rule] =
    &[IMMUTABLE_FIELD, RENAMED_WORKLOAD, RENAMED_PVC, REMOVED_VALUE, NARROWED_TYPE, BASE_UNRENDERED];

/// Fields Kubernetes refuses to change on an existing object.
const IMMUTABLE: &[(&[&str], &str)] = &[
    (&["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"], "/spec/selector"),
    (&["StatefulSet"], "/spec/volumeClaimTemplates"),
    (&["StatefulSet"], "/spec/serviceName"),
    (&["Service"], "/spec/clusterIP"),
    (&["Job"], "/spec/template"),
    (&["PersistentVolumeClaim"], "/spec/storageClassName"),
    (&["PersistentVolumeClaim"], "/spec/accessModes"),
];

const WORKLOADS: &[&str] = &["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"];

pub fn check(loaded: &LoadedChart) -> Vec<Diagnostic> {
    let Some(base) = &loaded.upgrade else { return Vec::new() };
    let Some(old_version) = base.version.as_deref() else { return Vec::new() };
    let new_version = loaded.meta.version.as_deref().unwrap_or("");
    if major_bumped(old_version, new_version) {
        return Vec::new();
    }
    let locate = |o: &Object, path: &str| location(loaded, o, path);
    let ctx = Ctx { chart: &loaded.chart.name, label: &base.label, old_version, locate: &locate };
    let mut out = Vec::new();
    for old in &base.renderings {
        let old_objects = match &old.objects {
            Ok(o) => o,
            // This branch's ci file may set values the old chart does not know.
            Err(_) if old.borrowed => continue,
            Err(e) => {
                let why = e.lines().find(|l| !l.trim().is_empty()).unwrap_or("helm failed").trim();
                out.push(
                    Diagnostic::warning(
                        BASE_UNRENDERED,
                        &loaded.chart.name,
                        format!(
                            "the chart on {} cannot be rendered ({why}), so its objects were not compared with this branch's",
                            base.label
                        ),
                    )
                    .scenario(&old.scenario)
                    .in_file(&loaded.meta.path),
                );
                continue;
            }
        };
        let current = loaded
            .renderings
            .iter()
            .find(|r| r.scenario.name == old.scenario && r.kube_version == old.kube_version && r.succeeded());
        let Some(current) = current else { continue };
        out.extend(
            objects(&ctx, old_objects, &current.objects).into_iter().map(|d| d.scenario(&old.scenario)),
        );
    }
    out.extend(values(&ctx, loaded, base));
    out
}

/// What every finding needs: the chart, the target branch, and where an object's field is written.
struct Ctx<'a> {
    chart: &'a str,
    /// `origin/main`.
    label: &'a str,
    old_version: &'a str,
    locate: &'a dyn Fn(&Object, &str) -> Option<Location>,
}

impl Ctx<'_> {
    fn remedy(&self, keep: &str) -> String {
        format!(
            "{keep}; or, if the break is intended, bump the major version ({} on {} → {}) and say \
             in artifacthub.io/changes what users must do before upgrading",
            self.old_version,
            self.label,
            next_major(self.old_version)
        )
    }

    fn error(&self, rule: impl AsRef<str>, message: String) -> Diagnostic {
        Diagnostic::error(rule, self.chart, message)
    }
}

/// Whether `new` is a major step up from `old` (for 0.y.z: a minor step up).
pub fn major_bumped(old: &str, new: &str) -> bool {
    let (Ok(old), Ok(new)) = (semver::Version::parse(old), semver::Version::parse(new)) else {
        return false;
    };
    if old.major == 0 && new.major == 0 { new.minor > old.minor } else { new.major > old.major }
}

/// The smallest version that is a major step up from `old`.
pub fn next_major(old: &str) -> String {
    match semver::Version::parse(old) {
        Ok(v) if v.major == 0 => format!("0.{}.0", v.minor + 1),
        Ok(v) => format!("{}.0.0", v.major + 1),
        Err(_) => "a new major version".into(),
    }
}

fn objects(ctx: &Ctx<'_>, old: &[Object], new: &[Object]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut removed: Vec<(ObjectKey, &Object)> = Vec::new();
    let mut added: Vec<(ObjectKey, &Object)> = Vec::new();
    for (key, a, b) in diff::pair(old, new) {
        match (a, b) {
            (Some(a), Some(b)) => out.extend(immutable(ctx, &key, a, b)),
            (Some(a), None) => removed.push((key, a)),
            (None, Some(b)) => added.push((key, b)),
            (None, None) => {}
        }
    }
    for (key, old_obj) in &removed {
        let pvc = key.kind == "PersistentVolumeClaim";
        if !pvc && !WORKLOADS.contains(&key.kind.as_str()) {
            continue;
        }
        // The object of the same kind that appeared in its place, if any.
        let twin = added.iter().position(|(k, _)| k.kind == key.kind && k.namespace == key.namespace);
        let twin = twin.map(|i| added.remove(i));
        let rule = if pvc { RENAMED_PVC } else { RENAMED_WORKLOAD };
        let d = match &twin {
            Some((new_key, new_obj)) => {
                let what = if pvc {
                    "the claim and its data are deleted on upgrade and the new one starts empty"
                } else {
                    "helm deletes the old one and creates a new one: its pods restart, and a \
                     StatefulSet's volumes (named after it) are left behind"
                };
                let mut d = ctx.error(
                    rule,
                    format!(
                        "{} renamed: `{}` on {} is `{}` on this branch; {what}",
                        key.kind, key.name, ctx.label, new_key.name
                    ),
                );
                if let Some(loc) = (ctx.locate)(new_obj, "/metadata/name") {
                    d = d.at(loc);
                }
                d
            }
            // A claim kept by `helm.sh/resource-policy: keep` outlives its removal.
            None if pvc && !kept(old_obj) => ctx.error(
                rule,
                format!(
                    "PersistentVolumeClaim `{}` on {} is no longer rendered: helm deletes it, and its \
                     data, on upgrade",
                    key.name, ctx.label
                ),
            ),
            None => continue,
        };
        let keep = if pvc {
            format!(
                "keep the name `{}` (or annotate the claim `helm.sh/resource-policy: keep` and let \
                 users point the new one at their data)",
                key.name
            )
        } else {
            format!("keep the name `{}`", key.name)
        };
        out.push(d.hint(ctx.remedy(&keep)));
    }
    out
}

fn kept(obj: &Object) -> bool {
    obj.value.pointer("/metadata/annotations/helm.sh~1resource-policy").and_then(Value::as_str)
        == Some("keep")
}

fn immutable(ctx: &Ctx<'_>, key: &ObjectKey, old: &Object, new: &Object) -> Vec<Diagnostic> {
    // Hooks are created afresh on every upgrade, never patched.
    if new.value.pointer("/metadata/annotations/helm.sh~1hook").is_some() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (_, ptr) in IMMUTABLE.iter().filter(|(kinds, _)| kinds.contains(&key.kind.as_str())) {
        let (a, b) = (old.value.pointer(ptr), new.value.pointer(ptr));
        let empty = |v: Option<&Value>| v.is_none_or(|v| v.is_null() || v == "");
        if a == b || (empty(a) && empty(b)) {
            continue;
        }
        let null = Value::Null;
        let fields = diff::fields(a.unwrap_or(&null), b.unwrap_or(&null));
        let first = fields.first();
        let (path, from, to) = match first {
            Some(f) if !f.pointer.is_empty() => {
                (format!("{ptr}{}", f.pointer), one_line(f.old.as_ref()), one_line(f.new.as_ref()))
            }
            _ => (ptr.to_string(), one_line(a), one_line(b)),
        };
        let more = if fields.len() > 1 { format!(" (and {} more)", fields.len() - 1) } else { String::new() };
        let mut d = ctx.error(
            IMMUTABLE_FIELD,
            format!(
                "{}/{}: `{}` is {from} on {} and {to} on this branch{more}; Kubernetes forbids changing \
                 `{}` in place, so `helm upgrade` fails",
                key.kind,
                key.name,
                dotted(&path),
                ctx.label,
                dotted(ptr)
            ),
        );
        if let Some(loc) = (ctx.locate)(new, &path) {
            d = d.at(loc);
        }
        out.push(d.hint(ctx.remedy(&format!("keep `{}` as it is on {}", dotted(ptr), ctx.label))));
    }
    out
}

/// Values users may have set on the target branch that this branch's schema
/// rejects, and values whose accepted types or choices shrank.
fn values(ctx: &Ctx<'_>, loaded: &LoadedChart, base: &BaseChart) -> Vec<Diagnostic> {
    let Some(new_schema) = loaded.files.values_schema.as_ref().and_then(|s| s.content.as_ref().ok()) else {
        return Vec::new();
    };
    let Ok(new_root) = &new_schema.value else { return Vec::new() };
    let old_schema = base.schema.as_ref();
    let mut paths: BTreeSet<Vec<String>> = BTreeSet::new();
    if let Some(v) = &base.values {
        value_paths(v, old_schema, &mut Vec::new(), &mut paths);
    }
    if let Some(s) = old_schema {
        schema_paths(s, s, &mut Vec::new(), &mut paths, 0);
    }
    let file = &new_schema.path;
    let at = |tokens: &[String]| {
        let ptr: String = tokens.iter().map(|t| format!("/properties/{}", escape_token(t))).collect();
        match new_schema.position(&ptr) {
            Some((line, col)) => Location::at(file, line, col),
            None => Location::file(file),
        }
    };
    let mut out = Vec::new();
    let mut reported: Vec<Vec<String>> = Vec::new();
    for path in &paths {
        if reported.iter().any(|r| path.starts_with(r)) {
            continue;
        }
        let ptr: String = path.iter().map(|t| format!("/{}", escape_token(t))).collect();
        let shown = dotted(&ptr);
        if let Some(depth) = rejected(new_root, path) {
            reported.push(path.clone());
            let parent = &path[..depth];
            let old_value = base.values.as_ref().and_then(|v| v.pointer(&ptr));
            let was = match old_value {
                Some(v) => format!("defaults to {} on {}", one_line(Some(v)), ctx.label),
                None => format!("is declared in values.schema.json on {}", ctx.label),
            };
            let renamed = renamed_to(old_schema, new_root, parent)
                .map(|n| format!(" (renamed to `{n}`?)"))
                .unwrap_or_default();
            let d = ctx
                .error(
                    REMOVED_VALUE,
                    format!(
                        "value `{shown}` {was} and is removed on this branch{renamed}: values.schema.json now \
                         rejects it, so `helm upgrade` with users' old values fails"
                    ),
                )
                .at(at(parent))
                .hint(ctx.remedy(&format!(
                    "keep `{shown}` in values.schema.json (say in its description that it is deprecated, \
                     and honour it in the templates)"
                )));
            out.push(d);
            continue;
        }
        let (Some(old_root), Some(new_node)) = (old_schema, declared(new_root, path)) else { continue };
        let Some(old_node) = declared(old_root, path) else { continue };
        let old_default = base.values.as_ref().and_then(|v| v.pointer(&ptr));
        if let Some((from, to)) = narrowed(old_node, old_default, new_node) {
            reported.push(path.clone());
            out.push(
                ctx.error(
                    NARROWED_TYPE,
                    format!(
                        "value `{shown}` accepts {from} on {} but only {to} on this branch: users' old \
                         values outside it are rejected on upgrade",
                        ctx.label
                    ),
                )
                .at(at(path))
                .hint(ctx.remedy(&format!("accept {from} for `{shown}` again"))),
            );
        }
    }
    out
}

/// Paths of values.yaml maps (every key, nested), not below maps whose keys are the user's.
fn value_paths(v: &Value, schema: Option<&Value>, path: &mut Vec<String>, out: &mut BTreeSet<Vec<String>>) {
    let Value::Object(map) = v else { return };
    if schema.and_then(|root| declared(root, path)).is_some_and(user_keys) {
        return;
    }
    for (k, child) in map {
        path.push(k.clone());
        out.insert(path.clone());
        value_paths(child, schema, path, out);
        path.pop();
    }
}

/// Paths declared under `properties` in a schema (local `$ref`s followed).
fn schema_paths(
    root: &Value,
    node: &Value,
    path: &mut Vec<String>,
    out: &mut BTreeSet<Vec<String>>,
    depth: usize,
) {
    let node = deref(root, node);
    if depth > 32 || user_keys(node) {
        return;
    }
    let Some(props) = node.get("properties").and_then(Value::as_object) else { return };
    for (k, child) in props {
        path.push(k.clone());
        out.insert(path.clone());
        schema_paths(root, child, path, out, depth + 1);
        path.pop();
    }
}

fn user_keys(node: &Value) -> bool {
    node.get("x-nex-user-keys") == Some(&Value::Bool(true))
}

/// The subschema declared for `path` through `properties` only.
fn declared<'a>(root: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut node = deref(root, root);
    for t in path {
        node = deref(root, node.get("properties")?.get(t)?);
    }
    Some(node)
}

/// When the schema refuses a value at `path`: how many tokens of the path lead
/// to the map that refuses it (`additionalProperties: false`). Anything the
/// walk cannot judge (pattern properties, a map turned into a scalar, which
/// the type check reports) is taken as accepted.
fn rejected(root: &Value, path: &[String]) -> Option<usize> {
    let mut node = deref(root, root);
    for (i, t) in path.iter().enumerate() {
        if let Some(p) = node.get("properties").and_then(|p| p.get(t)) {
            node = deref(root, p);
            continue;
        }
        if node.get("patternProperties").is_some() || user_keys(node) {
            return None;
        }
        if types(node).is_some_and(|t| !t.contains("object")) {
            return None;
        }
        match node.get("additionalProperties") {
            Some(Value::Bool(false)) => return Some(i),
            Some(ap @ Value::Object(_)) => node = deref(root, ap),
            _ => return None,
        }
    }
    None
}

/// The one property this branch added next to a removed one, as a rename guess.
fn renamed_to(old: Option<&Value>, new: &Value, parent: &[String]) -> Option<String> {
    let old_props: BTreeSet<&String> = old
        .and_then(|o| declared(o, parent))
        .and_then(|n| n.get("properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    let new_props = declared(new, parent)?.get("properties")?.as_object()?;
    let mut fresh = new_props.keys().filter(|k| !old_props.contains(k));
    match (fresh.next(), fresh.next()) {
        (Some(k), None) => Some(k.clone()),
        _ => None,
    }
}

fn types(node: &Value) -> Option<BTreeSet<String>> {
    match node.get("type")? {
        Value::String(s) => Some([s.clone()].into()),
        Value::Array(a) => Some(a.iter().filter_map(Value::as_str).map(str::to_owned).collect()),
        _ => None,
    }
}

/// What the old schema accepted that the new one does not, as (old, new)
/// descriptions. An old schema that names no type is judged by the type of
/// the old default (what users' values were written after); with neither,
/// nothing is known to be lost.
fn narrowed(old: &Value, old_default: Option<&Value>, new: &Value) -> Option<(String, String)> {
    let show = |t: &BTreeSet<String>| t.iter().cloned().collect::<Vec<_>>().join(" or ");
    let ot = types(old).or_else(|| {
        old_default.filter(|d| !d.is_null()).map(|d| [crate::schema::json_type(d).to_owned()].into())
    });
    if let (Some(n), Some(o)) = (&types(new), &ot) {
        let covered = |t: &String| n.contains(t) || (t == "integer" && n.contains("number"));
        if !o.iter().all(covered) {
            return Some((show(o), show(n)));
        }
    }
    let list =
        |v: &Value| v.as_array().map(|a| a.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "));
    if let Some(ne) = new.get("enum").and_then(Value::as_array) {
        let lost = match old.get("enum").and_then(Value::as_array) {
            None => true,
            Some(oe) => oe.iter().any(|v| !ne.contains(v)),
        };
        if lost {
            let from = old.get("enum").and_then(list).map_or_else(
                || ot.as_ref().map_or_else(|| "any value".to_owned(), show),
                |l| format!("one of {l}"),
            );
            return Some((from, format!("one of {}", list(&new["enum"]).unwrap_or_default())));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        Object { source: None, line: 1, value: v }
    }

    fn run(old: Vec<Value>, new: Vec<Value>) -> Vec<(String, String)> {
        let none = |_: &Object, _: &str| None;
        let ctx = Ctx { chart: "c", label: "origin/main", old_version: "1.2.0", locate: &none };
        let old: Vec<Object> = old.into_iter().map(obj).collect();
        let new: Vec<Object> = new.into_iter().map(obj).collect();
        objects(&ctx, &old, &new).into_iter().map(|d| (d.rule, d.message)).collect()
    }

    fn sts(name: &str, service: &str, claim: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
               "spec": {"serviceName": service, "selector": {"matchLabels": {"a": "b"}},
                        "volumeClaimTemplates": [{"metadata": {"name": claim}}],
                        "template": {"spec": {"containers": [{"image": "x:1"}]}}}})
    }

    #[test]
    fn statefulset_service_and_job_fields_that_cannot_change() {
        let found = run(vec![sts("db", "db", "data")], vec![sts("db", "db-headless", "storage")]);
        let rules: Vec<&str> = found.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(rules, [IMMUTABLE_FIELD, IMMUTABLE_FIELD], "{found:?}");
        assert!(
            found[0].1.contains(
                "`spec.volumeClaimTemplates[0].metadata.name` is \"data\" on origin/main and \"storage\""
            ),
            "{found:?}"
        );
        assert!(
            found[1].1.contains("`spec.serviceName` is \"db\" on origin/main and \"db-headless\""),
            "{found:?}"
        );

        let svc = |ip: Option<&str>| {
            let mut v = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": []}});
            if let Some(ip) = ip {
                v["spec"]["clusterIP"] = json!(ip);
            }
            v
        };
        assert_eq!(run(vec![svc(None)], vec![svc(Some("None"))]).len(), 1);
        assert!(run(vec![svc(None)], vec![svc(Some(""))]).is_empty(), "empty is unset");

        let job = |image: &str, hook: bool| {
            let mut v = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                               "spec": {"template": {"spec": {"containers": [{"image": image}]}}}});
            if hook {
                v["metadata"]["annotations"] = json!({"helm.sh/hook": "post-install"});
            }
            v
        };
        assert_eq!(run(vec![job("x:1", false)], vec![job("x:2", false)]).len(), 1);
        assert!(run(vec![job("x:1", true)], vec![job("x:2", true)]).is_empty(), "hooks are recreated");
        // The image of a StatefulSet may change.
        let mut newer = sts("db", "db", "data");
        newer["spec"]["template"]["spec"]["containers"][0]["image"] = json!("x:2");
        assert!(run(vec![sts("db", "db", "data")], vec![newer]).is_empty());
    }

    #[test]
    fn renamed_workloads_and_dropped_claims() {
        let found = run(vec![sts("db", "db", "data")], vec![sts("database", "db", "data")]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, RENAMED_WORKLOAD);
        assert!(found[0].1.contains("`db` on origin/main is `database` on this branch"), "{found:?}");

        let pvc = |name: &str, keep: bool| {
            let mut v =
                json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}});
            if keep {
                v["metadata"]["annotations"] = json!({"helm.sh/resource-policy": "keep"});
            }
            v
        };
        let found = run(vec![pvc("data", false)], vec![]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, RENAMED_PVC);
        assert!(found[0].1.contains("is no longer rendered"), "{found:?}");
        assert!(run(vec![pvc("data", true)], vec![]).is_empty(), "a kept claim survives");
        // A ConfigMap may come and go.
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
        assert!(run(vec![cm], vec![]).is_empty());
    }

    #[test]
    fn major_steps_follow_semver_and_cargo_for_zero_versions() {
        assert!(major_bumped("1.4.2", "2.0.0"));
        assert!(!major_bumped("1.4.2", "1.5.0"));
        assert!(major_bumped("0.1.3", "0.2.0"));
        assert!(!major_bumped("0.1.3", "0.1.4"));
        assert!(major_bumped("0.9.0", "1.0.0"));
        assert!(!major_bumped("1.0.0", "not a version"));
        assert_eq!(next_major("0.1.3"), "0.2.0");
        assert_eq!(next_major("1.4.2"), "2.0.0");
    }

    #[test]
    fn a_closed_map_rejects_unknown_values_and_an_open_one_accepts_them() {
        let s = json!({
            "type": "object", "additionalProperties": false,
            "properties": {
                "image": {"$ref": "#/$defs/image"},
                "env": {"type": "object", "x-nex-user-keys": true},
                "open": {"type": "object"}
            },
            "$defs": {"image": {"type": "object", "additionalProperties": false, "properties": {"tag": {}}}}
        });
        let p = |s: &[&str]| s.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        assert_eq!(rejected(&s, &p(&["gone"])), Some(0));
        assert_eq!(rejected(&s, &p(&["image", "repository"])), Some(1));
        assert_eq!(rejected(&s, &p(&["image", "tag"])), None);
        assert_eq!(rejected(&s, &p(&["env", "ANY"])), None);
        assert_eq!(rejected(&s, &p(&["open", "x"])), None);
    }

    #[test]
    fn narrowing_of_types_and_choices() {
        assert_eq!(
            narrowed(&json!({"type": ["integer", "string"]}), None, &json!({"type": "integer"})),
            Some(("integer or string".into(), "integer".into()))
        );
        assert_eq!(narrowed(&json!({"type": "integer"}), None, &json!({"type": "number"})), None);
        // No old type: the old default's type is what users wrote.
        assert_eq!(narrowed(&json!({}), Some(&json!("1Gi")), &json!({"type": "string"})), None);
        assert_eq!(
            narrowed(&json!({}), Some(&json!("1Gi")), &json!({"type": "integer"})),
            Some(("string".into(), "integer".into()))
        );
        assert_eq!(narrowed(&json!({}), None, &json!({"type": "string"})), None);
        assert_eq!(
            narrowed(&json!({"enum": ["a", "b"]}), None, &json!({"enum": ["a"]})),
            Some(("one of \"a\", \"b\"".into(), "one of \"a\"".into()))
        );
        assert_eq!(narrowed(&json!({"enum": ["a"]}), None, &json!({"enum": ["a", "b"]})), None);
    }

    fn deploy(kind: &str, name: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name},
               "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"containers": [{"image": "x:1"}]}}}})
    }

    #[test]
    fn a_rename_is_only_within_one_kind() {
        // A Deployment replaced by a StatefulSet is not a rename of one into the other.
        assert!(run(vec![deploy("Deployment", "web")], vec![deploy("StatefulSet", "web-db")]).is_empty());
        let found = run(
            vec![deploy("Deployment", "web"), deploy("DaemonSet", "agent")],
            vec![deploy("StatefulSet", "store"), deploy("Deployment", "site"), deploy("DaemonSet", "agent")],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1.starts_with("Deployment renamed: `web` on origin/main is `site`"), "{found:?}");
    }

    /// A loaded chart at `version` with `current` renderings, upgraded from `base`.
    fn upgraded(
        version: &str,
        current: Vec<(&str, &str, Vec<Value>, bool)>,
        base: Vec<(&str, &str, Vec<Value>)>,
        schemas: Option<(Value, Value)>,
        old_values: Option<Value>,
    ) -> Vec<(String, String, Vec<String>)> {
        use crate::catalog::Scenario;
        use crate::load::Source;
        use crate::process::ProcOutput;
        let mut loaded = crate::load::for_tests(&["default", "tls"], json!({"version": version}));
        loaded.renderings = current
            .into_iter()
            .map(|(scenario, kube, objects, ok)| crate::render::Rendering {
                scenario: Scenario { name: scenario.into(), values_file: None },
                kube_version: kube.into(),
                output: Ok(ProcOutput {
                    success: ok,
                    stdout: String::new(),
                    stderr: String::new(),
                    signal: None,
                }),
                objects: objects.into_iter().map(obj).collect(),
                parse_errors: Vec::new(),
                validation: Vec::new(),
            })
            .collect();
        let (old_schema, new_schema) = schemas.map_or((None, None), |(o, n)| (Some(o), Some(n)));
        if let Some(n) = new_schema {
            let path = loaded.chart.dir.join("values.schema.json");
            let file = crate::files::JsonFile::from_text(&path, &serde_json::to_string_pretty(&n).unwrap());
            loaded.files.values_schema = Some(Source { path, content: Ok(file) });
        }
        loaded.upgrade = Some(BaseChart {
            label: "origin/main".into(),
            version: Some("1.2.0".into()),
            library: false,
            values: old_values,
            schema: old_schema,
            renderings: base
                .into_iter()
                .map(|(scenario, kube, objects)| crate::base_tree::BaseRendering {
                    scenario: scenario.into(),
                    borrowed: false,
                    kube_version: kube.into(),
                    objects: Ok(objects.into_iter().map(obj).collect()),
                })
                .collect(),
        });
        check(&loaded).into_iter().map(|d| (d.rule.to_string(), d.message, d.scenarios)).collect()
    }

    #[test]
    fn renders_are_matched_by_scenario_and_kubernetes_version() {
        let (db, database) = (sts("db", "db", "data"), sts("database", "db", "data"));
        let base = vec![
            ("default", "1.25.0", vec![db.clone()]),
            ("tls", "1.25.0", vec![db.clone()]),
            ("default", "1.37.0", vec![db.clone()]),
        ];
        let current = vec![
            ("default", "1.37.0", vec![db.clone()], true),
            ("tls", "1.25.0", vec![database.clone()], true),
            ("default", "1.25.0", vec![db.clone()], true),
        ];
        let found = upgraded("1.3.0", current, base.clone(), None, None);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!((found[0].0.as_str(), found[0].2.clone()), (RENAMED_WORKLOAD.id, vec!["tls".to_owned()]));
        // A rendering that failed here is not compared (render/* reports it).
        let failed = vec![("tls", "1.25.0", vec![database.clone()], false)];
        assert!(upgraded("1.3.0", failed, base.clone(), None, None).is_empty());
        // Nor is one for another Kubernetes version.
        let other = vec![("tls", "1.37.0", vec![database.clone()], true)];
        assert!(upgraded("1.3.0", other, base.clone(), None, None).is_empty());
        // A major bump says the break is intended.
        let current = vec![("tls", "1.25.0", vec![database], true)];
        assert!(upgraded("2.0.0", current, base, None, None).is_empty());
    }

    fn value_findings(old_schema: Value, new_schema: Value, old_values: Value) -> Vec<(String, String)> {
        upgraded("1.3.0", vec![], vec![], Some((old_schema, new_schema)), Some(old_values))
            .into_iter()
            .map(|(r, m, _)| (r, m))
            .collect()
    }

    #[test]
    fn removed_values_are_found_from_values_yaml_or_the_schema_alone() {
        let old = json!({"type": "object", "properties": {"a": {}, "onlySchema": {"type": "string"}}});
        let new = json!({"type": "object", "additionalProperties": false, "properties": {"a": {}}});
        let found = value_findings(old, new, json!({"a": 1, "onlyValues": 2}));
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found.iter().all(|(r, _)| r == REMOVED_VALUE.id));
        assert!(
            found[0].1.starts_with("value `onlySchema` is declared in values.schema.json on origin/main"),
            "{found:#?}"
        );
        assert!(found[1].1.starts_with("value `onlyValues` defaults to 2 on origin/main"), "{found:#?}");
    }

    #[test]
    fn open_maps_keep_accepting_their_keys() {
        let old = json!({"type": "object", "properties": {
            "env": {"type": "object", "x-nex-user-keys": true},
            "pp": {"type": "object", "properties": {"xa": {}}}}});
        let values = json!({"env": {"FOO": "1"}, "pp": {"xa": 1, "xb": 2}});
        let open = json!({"type": "object", "additionalProperties": false, "properties": {
            "env": {"type": "object", "x-nex-user-keys": true, "additionalProperties": false},
            "pp": {"type": "object", "patternProperties": {"^x": {}}, "additionalProperties": false}}});
        assert_eq!(value_findings(old.clone(), open, values.clone()), []);
        // Closed, the same maps reject the old keys: the check can fire.
        let closed = json!({"type": "object", "additionalProperties": false, "properties": {
            "env": {"type": "object", "additionalProperties": false},
            "pp": {"type": "object", "additionalProperties": false}}});
        let found = value_findings(json!({"type": "object"}), closed, values);
        let shown: Vec<&str> = found.iter().map(|(_, m)| m.split('`').nth(1).unwrap_or("")).collect();
        assert_eq!(shown, ["env.FOO", "pp.xa", "pp.xb"], "{found:#?}");
    }

    #[test]
    fn narrowing_a_string_to_a_number_is_an_error() {
        assert_eq!(
            narrowed(&json!({"type": "string"}), None, &json!({"type": "number"})),
            Some(("string".into(), "number".into()))
        );
        let old = json!({"type": "object", "properties": {"port": {"type": "string"}}});
        let new = json!({"type": "object", "properties": {"port": {"type": "number"}}});
        let found = value_findings(old, new, json!({"port": "80"}));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].0, NARROWED_TYPE);
        assert!(found[0].1.contains("accepts string on origin/main but only number"), "{found:#?}");
    }

    #[test]
    fn recursive_refs_stop_at_the_depth_guard() {
        let s = json!({"type": "object", "properties": {"tree": {"$ref": "#/$defs/node"}},
            "$defs": {"node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/node"}}}}});
        let mut paths = BTreeSet::new();
        schema_paths(&s, &s, &mut Vec::new(), &mut paths, 0);
        // `tree`, `tree.child`, … one path per level down to the guard (depth 32).
        assert_eq!(paths.len(), 33);
        assert_eq!(paths.iter().map(Vec::len).max(), Some(33));
        // The whole check terminates on such schemas too.
        let found = value_findings(s.clone(), s, json!({"tree": {"child": {"child": {}}}}));
        assert_eq!(found, []);
    }

    /// A target-branch rendering that failed is said once, with helm's first non-blank line,
    /// unless it borrowed this branch's new ci file (the old chart need not know its values).
    #[test]
    fn an_unrendered_base_is_said_unless_its_scenario_is_new_here() {
        let mut loaded = crate::load::for_tests(&["default", "tls"], json!({"version": "1.3.0"}));
        let failed = |scenario: &str, borrowed: bool, err: &str| crate::base_tree::BaseRendering {
            scenario: scenario.into(),
            borrowed,
            kube_version: "1.25.0".into(),
            objects: Err(err.into()),
        };
        loaded.upgrade = Some(BaseChart {
            label: "origin/main".into(),
            version: Some("1.2.0".into()),
            library: false,
            values: None,
            schema: None,
            renderings: vec![
                failed("default", false, "\n   \nError: template: t/templates/a.yaml:3: boom\nsecond line"),
                failed("tls", true, "Error: unknown field tls.cert"),
            ],
        });
        let found: Vec<(String, String, Vec<String>)> =
            check(&loaded).into_iter().map(|d| (d.rule, d.message, d.scenarios)).collect();
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(
            (found[0].0.as_str(), found[0].2.clone()),
            (BASE_UNRENDERED.id, vec!["default".to_owned()])
        );
        assert!(
            found[0].1.starts_with(
                "the chart on origin/main cannot be rendered (Error: template: t/templates/a.yaml:3: boom), so"
            ),
            "{found:#?}"
        );
    }

    /// Every upgrade finding tells the way out: keep the thing, or take the next major version.
    #[test]
    fn the_hint_names_what_to_keep_and_the_next_major_version() {
        let none = |_: &Object, _: &str| None;
        for (old_version, next) in [("1.2.0", "2.0.0"), ("0.4.1", "0.5.0")] {
            let ctx = Ctx { chart: "c", label: "origin/main", old_version, locate: &none };
            let found = objects(&ctx, &[obj(sts("db", "db", "data"))], &[obj(sts("database", "db", "data"))]);
            assert_eq!(found.len(), 1, "{found:#?}");
            assert_eq!(
                found[0].hint.as_deref(),
                Some(
                    format!(
                        "keep the name `db`; or, if the break is intended, bump the major version ({old_version} on \
                         origin/main → {next}) and say in artifacthub.io/changes what users must do before upgrading"
                    )
                    .as_str()
                ),
            );
        }
    }

    /// A field that was not set before reads `(none)`, not `null`.
    #[test]
    fn a_field_set_for_the_first_time_was_none() {
        let mut old = sts("db", "db", "data");
        old["spec"].as_object_mut().unwrap().remove("serviceName");
        let found = run(vec![old], vec![sts("db", "db-headless", "data")]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .1
                .contains("`spec.serviceName` is (none) on origin/main and \"db-headless\" on this branch"),
            "{found:?}"
        );
    }

    /// `additionalProperties` given as a schema is followed: a map of objects whose
    /// items shut a key out rejects that key in every item.
    #[test]
    fn a_schema_for_additional_properties_is_walked_into() {
        let old = json!({"type": "object"});
        let new = json!({"type": "object", "properties": {"hosts": {"type": "object",
            "additionalProperties": {"type": "object", "additionalProperties": false, "properties": {"a": {}}}}}});
        let found = value_findings(old, new, json!({"hosts": {"one": {"a": 1, "gone": 2}}}));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].1.starts_with("value `hosts.one.gone` defaults to 2 on origin/main"), "{found:#?}");
    }

    /// One change to an immutable field is told alone; more are counted.
    #[test]
    fn several_changes_to_one_immutable_field_are_counted() {
        let mut old = sts("db", "db", "data");
        old["spec"]["selector"]["matchLabels"] = json!({"a": "b", "c": "d"});
        let mut one = old.clone();
        one["spec"]["selector"]["matchLabels"]["a"] = json!("x");
        let mut two = one.clone();
        two["spec"]["selector"]["matchLabels"]["c"] = json!("y");
        let found = run(vec![old.clone()], vec![one]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].1.contains("is \"b\" on origin/main and \"x\" on this branch; Kubernetes"),
            "{found:?}"
        );
        let found = run(vec![old], vec![two]);
        assert!(found[0].1.contains("and \"x\" on this branch (and 1 more); Kubernetes"), "{found:?}");
    }

    /// Without an old type, the old default's type is what users wrote after: a whole
    /// number (negative, or beyond i64) stays an integer, a fraction is a number.
    #[test]
    fn an_untyped_default_is_judged_by_its_own_type() {
        let integer = json!({"type": "integer"});
        for whole in [json!(3), json!(-3), json!(u64::MAX)] {
            assert_eq!(narrowed(&json!({}), Some(&whole), &integer), None, "{whole}");
        }
        assert_eq!(
            narrowed(&json!({}), Some(&json!(2.5)), &integer),
            Some(("number".to_owned(), "integer".to_owned()))
        );
    }

    /// A removed value is guessed renamed only to the one property this branch added beside it.
    #[test]
    fn a_rename_is_guessed_from_the_one_new_sibling() {
        let old = json!({"type": "object", "properties": {"keep": {}, "oldName": {}}});
        let one = json!({"type": "object", "additionalProperties": false, "properties": {"keep": {}, "newName": {}}});
        let found = value_findings(old.clone(), one, json!({"oldName": 1}));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].1.contains("is removed on this branch (renamed to `newName`?): values"),
            "{found:#?}"
        );
        let two = json!({"type": "object", "additionalProperties": false,
            "properties": {"keep": {}, "newName": {}, "other": {}}});
        let found = value_findings(old, two, json!({"oldName": 1}));
        assert!(found[0].1.contains("is removed on this branch: values"), "{found:#?}");
    }
}
