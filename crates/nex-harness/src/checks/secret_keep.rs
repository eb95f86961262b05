//! `policy/generated-secret-keep`: a Secret whose data a template generates at
//! render time (random functions, keys, `lookup`) without
//! `helm.sh/resource-policy: keep`, in a rendering that keeps state beyond the
//! release. Uninstall deletes the Secret but not the state; a reinstall then
//! generates new values against old data (an app's storage encryption key, say,
//! that its database refuses).

use super::objects::{self, Finding};
use crate::manifest::Object;
use crate::rule::{EVERY, Rule};
use serde_json::Value;

pub const RULE: Rule = Rule::error(
    "policy/generated-secret-keep",
    EVERY,
    "a Secret whose data a template generates at render time (`rand*`, `gen*`, `bcrypt`, `lookup`) without `helm.sh/resource-policy: keep`, while the rendering keeps state beyond the release (a kept or foreign claim, a StatefulSet's claim templates)",
)
.exceptable();

/// Sprig/Helm functions whose result differs from one install to the next, or
/// that read the live cluster (`lookup` sees nothing under `helm template`).
pub const GENERATORS: &[&str] = &[
    "randAlphaNum",
    "randAlpha",
    "randNumeric",
    "randAscii",
    "randBytes",
    "randInt",
    "uuidv4",
    "genPrivateKey",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "bcrypt",
    "htpasswd",
    "lookup",
];

const KEEP: &str = "helm.sh/resource-policy";

fn kept(obj: &Object) -> bool {
    obj.value.pointer("/metadata/annotations").and_then(|a| a.get(KEEP)).and_then(Value::as_str)
        == Some("keep")
}

/// The first generator a template's text calls (whole words only).
pub fn generator(template: &str) -> Option<&'static str> {
    let words: Vec<&str> = template.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    GENERATORS.iter().copied().find(|g| words.contains(g))
}

/// What in a rendering outlives an uninstall, described for the message: a
/// claim helm keeps, a StatefulSet's claims (never deleted by helm), or a claim
/// a pod mounts that the release does not create.
pub fn persisted_state(objects: &[Object]) -> Option<String> {
    if let Some(pvc) = objects.iter().find(|o| o.kind() == "PersistentVolumeClaim" && kept(o)) {
        return Some(format!("{} ({KEEP}: keep)", pvc.id()));
    }
    let own: Vec<&str> =
        objects.iter().filter(|o| o.kind() == "PersistentVolumeClaim").map(Object::name).collect();
    for o in objects {
        if o.kind() == "StatefulSet"
            && o.value
                .pointer("/spec/volumeClaimTemplates")
                .and_then(Value::as_array)
                .is_some_and(|v| !v.is_empty())
        {
            return Some(format!("the claims of {}'s volumeClaimTemplates", o.id()));
        }
        let Some((spec, _)) = objects::pod_spec(o) else { continue };
        for v in spec.get("volumes").and_then(Value::as_array).into_iter().flatten() {
            let claim = v.pointer("/persistentVolumeClaim/claimName").and_then(Value::as_str);
            if let Some(claim) = claim.filter(|c| !own.contains(c)) {
                return Some(format!(
                    "the claim {claim} that {} mounts and the release does not own",
                    o.id()
                ));
            }
        }
    }
    None
}

/// The findings of one rendering: each generated, unkept Secret, when state persists.
/// `template_of` gives the text of the template an object came from.
pub fn findings(
    objects: &[Object],
    template_of: impl Fn(&Object) -> Option<String>,
) -> Vec<(&Object, Finding)> {
    let Some(state) = persisted_state(objects) else { return Vec::new() };
    objects
        .iter()
        .filter(|o| o.kind() == "Secret" && !kept(o))
        .filter_map(|o| {
            let function = generator(&template_of(o)?)?;
            let f = Finding::error(
                RULE,
                "/metadata/annotations",
                format!(
                    "its data is generated at render time (`{function}`) but it is not kept while {state} \
                     outlives the release: an uninstall deletes the Secret, a reinstall generates new values \
                     against the old data"
                ),
            )
            .hint(format!(
                "annotate the Secret `{KEEP}: keep` whenever the data it protects outlives the release \
                 (and tell users to delete both together)"
            ));
            Some((o, f))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest;

    fn objects(yaml: &str) -> Vec<Object> {
        let (objects, errors) = manifest::split(yaml);
        assert!(errors.is_empty(), "{errors:?}");
        objects
    }

    const SECRET: &str = "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: eA==\n";
    const KEPT_SECRET: &str = "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  annotations:\n    \
                               helm.sh/resource-policy: keep\ndata:\n  k: eA==\n";
    const KEPT_PVC: &str = "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  \
                            annotations:\n    helm.sh/resource-policy: keep\n";
    const PVC: &str = "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n";
    const STS: &str = "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n  \
                       volumeClaimTemplates:\n    - metadata:\n        name: data\n";
    const EXISTING: &str = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    \
                            spec:\n      volumes:\n        - name: d\n          persistentVolumeClaim:\n            \
                            claimName: mine\n";

    fn run(yaml: &str, template: &str) -> Vec<String> {
        let objs = objects(yaml);
        findings(&objs, |_| Some(template.to_owned()))
            .into_iter()
            .map(|(o, f)| format!("{}: {}", o.id(), f.message))
            .collect()
    }

    #[test]
    fn a_generated_unkept_secret_beside_persisted_state_is_an_error() {
        let random = "{{ randAlphaNum 32 | b64enc }}";
        for state in [KEPT_PVC, STS, EXISTING] {
            let found = run(&format!("{SECRET}{state}"), random);
            assert_eq!(found.len(), 1, "{state}");
            assert!(
                found[0].starts_with("Secret/s: its data is generated at render time (`randAlphaNum`)"),
                "{found:?}"
            );
        }
        assert!(
            run(&format!("{SECRET}{KEPT_PVC}"), "(lookup \"v1\" \"Secret\" .ns .name)")[0]
                .contains("`lookup`")
        );
    }

    #[test]
    fn kept_or_static_secrets_or_no_persisted_state_are_fine() {
        let random = "{{ randAlphaNum 32 | b64enc }}";
        assert!(run(&format!("{KEPT_SECRET}{KEPT_PVC}"), random).is_empty());
        assert!(run(&format!("{SECRET}{KEPT_PVC}"), "{{ .Values.password | b64enc }}").is_empty());
        // A claim the release deletes with itself, or none at all: the Secret goes with the data.
        assert!(run(&format!("{SECRET}{PVC}"), random).is_empty());
        assert!(run(SECRET, random).is_empty());
        // A word that merely contains a generator's name is not a call.
        assert!(run(&format!("{SECRET}{KEPT_PVC}"), "{{ .Values.lookupTable }}").is_empty());
    }
}
