//! Pod Security Standards, "restricted" profile (which includes "baseline"):
//! every control, on every pod a rendered object would run. Rule ids `pss/*`.

use super::objects::{self, Container, Finding};
use crate::manifest::Object;
use crate::rule::{CATALOG, Rule};
use crate::yaml::child;
use serde_json::Value;

pub const RULE_PRIVILEGED: Rule =
    Rule::error("pss/privileged", CATALOG, "Pod Security \"restricted\": a privileged container")
        .exceptable();
pub const RULE_HOST_NAMESPACES: Rule =
    Rule::error("pss/host-namespaces", CATALOG, "`hostNetwork`, `hostPID` or `hostIPC`").exceptable();
pub const RULE_HOST_PATH: Rule = Rule::error("pss/host-path", CATALOG, "a `hostPath` volume").exceptable();
pub const RULE_HOST_PORTS: Rule =
    Rule::error("pss/host-ports", CATALOG, "a container `hostPort`").exceptable();
pub const RULE_CAPABILITIES: Rule = Rule::error(
    "pss/capabilities",
    CATALOG,
    "capabilities not dropping `ALL`, or adding anything but `NET_BIND_SERVICE`",
)
.exceptable();
pub const RULE_RUN_AS_NON_ROOT: Rule = Rule::error(
    "pss/run-as-non-root",
    CATALOG,
    "neither the pod nor the container sets `runAsNonRoot: true`, or a container sets it false",
)
.exceptable();
pub const RULE_RUN_AS_USER: Rule = Rule::error("pss/run-as-user", CATALOG, "`runAsUser: 0`").exceptable();
pub const RULE_PRIVILEGE_ESCALATION: Rule =
    Rule::error("pss/privilege-escalation", CATALOG, "a container without `allowPrivilegeEscalation: false`")
        .exceptable();
pub const RULE_SECCOMP: Rule = Rule::error(
    "pss/seccomp",
    CATALOG,
    "no seccomp profile (pod or container), or one other than `RuntimeDefault`/`Localhost`",
)
.exceptable();
pub const RULE_VOLUME_TYPES: Rule = Rule::error("pss/volume-types", CATALOG, "a volume other than configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret").exceptable();
pub const RULE_SYSCTLS: Rule =
    Rule::error("pss/sysctls", CATALOG, "a sysctl outside the safe set").exceptable();
pub const RULE_PROC_MOUNT: Rule =
    Rule::error("pss/proc-mount", CATALOG, "`procMount` other than `Default`").exceptable();
pub const RULE_APPARMOR: Rule = Rule::error(
    "pss/apparmor",
    CATALOG,
    "an AppArmor profile (field or annotation) other than runtime default or localhost",
)
.exceptable();
pub const RULE_SELINUX: Rule = Rule::error("pss/selinux", CATALOG, "a custom SELinux user or role, or a type outside `container_t`, `container_init_t`, `container_kvm_t`, `container_engine_t`").exceptable();
pub const RULES: &[Rule] = &[
    RULE_PRIVILEGED,
    RULE_HOST_NAMESPACES,
    RULE_HOST_PATH,
    RULE_HOST_PORTS,
    RULE_CAPABILITIES,
    RULE_RUN_AS_NON_ROOT,
    RULE_RUN_AS_USER,
    RULE_PRIVILEGE_ESCALATION,
    RULE_SECCOMP,
    RULE_VOLUME_TYPES,
    RULE_SYSCTLS,
    RULE_PROC_MOUNT,
    RULE_APPARMOR,
    RULE_SELINUX,
];

/// Sysctls the baseline profile allows (the union over the versions it lists).
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

/// Volume sources the restricted profile allows.
const ALLOWED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

const SELINUX_TYPES: &[&str] = &["container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

pub fn findings(obj: &Object) -> Vec<Finding> {
    let Some((spec, sp)) = objects::pod_spec(obj) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let psc = spec.get("securityContext").unwrap_or(&Value::Null);
    let psc_path = child(sp, "securityContext");
    let containers = objects::containers(spec, sp);

    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec.get(field).and_then(Value::as_bool) == Some(true) {
            out.push(
                Finding::error(RULE_HOST_NAMESPACES, child(sp, field), format!("{field} is true"))
                    .hint("pods must not share the host's network, PID or IPC namespace"),
            );
        }
    }

    for (i, v) in spec.get("volumes").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let vp = format!("{sp}/volumes/{i}");
        let name = v.get("name").and_then(Value::as_str).unwrap_or("?");
        let Some(obj) = v.as_object() else { continue };
        for source in obj.keys().filter(|k| k.as_str() != "name") {
            if source == "hostPath" {
                out.push(Finding::error(
                    RULE_HOST_PATH,
                    child(&vp, source),
                    format!("volume \"{name}\" mounts a hostPath"),
                ));
            } else if !ALLOWED_VOLUMES.contains(&source.as_str()) {
                out.push(
                    Finding::error(
                        RULE_VOLUME_TYPES,
                        child(&vp, source),
                        format!("volume \"{name}\" is of type {source}"),
                    )
                    .hint(format!("the restricted profile allows only {}", ALLOWED_VOLUMES.join(", "))),
                );
            }
        }
    }

    for (i, s) in psc.get("sysctls").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let name = s.get("name").and_then(Value::as_str).unwrap_or("");
        if !SAFE_SYSCTLS.contains(&name) {
            out.push(Finding::error(
                RULE_SYSCTLS,
                format!("{psc_path}/sysctls/{i}/name"),
                format!("sysctl {name} is not in the safe set"),
            ));
        }
    }

    // Pod-level settings containers inherit.
    let pod_non_root = psc.get("runAsNonRoot").and_then(Value::as_bool);
    let pod_seccomp = psc.pointer("/seccompProfile/type").and_then(Value::as_str);
    check_seccomp_value(pod_seccomp, &child(&psc_path, "seccompProfile"), "the pod", &mut out);
    check_user(psc, &psc_path, "the pod", &mut out);
    check_selinux(psc, &psc_path, "the pod", &mut out);
    check_apparmor_profile(psc, &psc_path, "the pod", &mut out);
    let (meta, meta_path) = objects::pod_metadata(obj);
    if let Some(annotations) = meta.and_then(|m| m.get("annotations")).and_then(Value::as_object) {
        for (k, v) in annotations {
            if k.starts_with("container.apparmor.security.beta.kubernetes.io/") {
                let v = v.as_str().unwrap_or("");
                if v != "runtime/default" && !v.starts_with("localhost/") {
                    out.push(Finding::error(
                        RULE_APPARMOR,
                        child(&child(meta_path, "annotations"), k),
                        format!("AppArmor annotation {k} is {v:?}"),
                    ));
                }
            }
        }
    }

    for c in &containers {
        container_findings(c, pod_non_root, pod_seccomp, &mut out);
    }
    out
}

fn container_findings(
    c: &Container<'_>,
    pod_non_root: Option<bool>,
    pod_seccomp: Option<&str>,
    out: &mut Vec<Finding>,
) {
    let sc = c.value.get("securityContext").unwrap_or(&Value::Null);
    let scp = child(&c.path, "securityContext");
    let who = c.label.as_str();

    if sc.get("privileged").and_then(Value::as_bool) == Some(true) {
        out.push(Finding::error(RULE_PRIVILEGED, child(&scp, "privileged"), format!("{who} is privileged")));
    }
    for (i, p) in c.value.get("ports").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if p.get("hostPort").and_then(Value::as_i64).is_some_and(|h| h != 0) {
            out.push(Finding::error(
                RULE_HOST_PORTS,
                format!("{}/ports/{i}/hostPort", c.path),
                format!("{who} binds a hostPort"),
            ));
        }
    }

    let caps = sc.get("capabilities").unwrap_or(&Value::Null);
    let drops_all = caps
        .get("drop")
        .and_then(Value::as_array)
        .is_some_and(|d| d.iter().any(|x| x.as_str() == Some("ALL")));
    if !drops_all {
        out.push(
            Finding::error(
                RULE_CAPABILITIES,
                child(&scp, "capabilities"),
                format!("{who} does not drop ALL capabilities"),
            )
            .hint("set securityContext.capabilities.drop: [ALL]"),
        );
    }
    for (i, add) in caps.get("add").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let name = add.as_str().unwrap_or("");
        if name != "NET_BIND_SERVICE" {
            out.push(
                Finding::error(
                    RULE_CAPABILITIES,
                    format!("{scp}/capabilities/add/{i}"),
                    format!("{who} adds capability {name}"),
                )
                .hint("only NET_BIND_SERVICE may be added back"),
            );
        }
    }

    if sc.get("allowPrivilegeEscalation").and_then(Value::as_bool) != Some(false) {
        out.push(Finding::error(
            RULE_PRIVILEGE_ESCALATION,
            child(&scp, "allowPrivilegeEscalation"),
            format!("{who} does not set allowPrivilegeEscalation: false"),
        ));
    }

    match sc.get("runAsNonRoot").and_then(Value::as_bool) {
        Some(false) => out.push(Finding::error(
            RULE_RUN_AS_NON_ROOT,
            child(&scp, "runAsNonRoot"),
            format!("{who} sets runAsNonRoot: false"),
        )),
        Some(true) => {}
        None if pod_non_root == Some(true) => {}
        None => out.push(
            Finding::error(
                RULE_RUN_AS_NON_ROOT,
                child(&scp, "runAsNonRoot"),
                format!("{who} may run as root"),
            )
            .hint("set runAsNonRoot: true on the pod or on every container"),
        ),
    }
    check_user(sc, &scp, who, out);
    check_selinux(sc, &scp, who, out);
    check_apparmor_profile(sc, &scp, who, out);

    let own = sc.pointer("/seccompProfile/type").and_then(Value::as_str);
    match own {
        Some(_) => check_seccomp_value(own, &child(&scp, "seccompProfile"), who, out),
        None if pod_seccomp.is_some() => {}
        None => out.push(
            Finding::error(
                RULE_SECCOMP,
                child(&scp, "seccompProfile"),
                format!("{who} has no seccomp profile"),
            )
            .hint("set seccompProfile.type: RuntimeDefault on the pod or on every container"),
        ),
    }

    if let Some(pm) = sc.get("procMount").and_then(Value::as_str)
        && pm != "Default"
    {
        out.push(Finding::error(
            RULE_PROC_MOUNT,
            child(&scp, "procMount"),
            format!("{who} sets procMount {pm}"),
        ));
    }
}

fn check_seccomp_value(t: Option<&str>, path: &str, who: &str, out: &mut Vec<Finding>) {
    if let Some(t) = t
        && t != "RuntimeDefault"
        && t != "Localhost"
    {
        out.push(Finding::error(
            RULE_SECCOMP,
            format!("{path}/type"),
            format!("{who} uses seccomp profile {t}"),
        ));
    }
}

fn check_user(sc: &Value, path: &str, who: &str, out: &mut Vec<Finding>) {
    if sc.get("runAsUser").and_then(Value::as_i64) == Some(0) {
        out.push(Finding::error(
            RULE_RUN_AS_USER,
            child(path, "runAsUser"),
            format!("{who} sets runAsUser: 0"),
        ));
    }
}

fn check_selinux(sc: &Value, path: &str, who: &str, out: &mut Vec<Finding>) {
    let Some(se) = sc.get("seLinuxOptions") else { return };
    let sp = child(path, "seLinuxOptions");
    if let Some(t) = se.get("type").and_then(Value::as_str)
        && !t.is_empty()
        && !SELINUX_TYPES.contains(&t)
    {
        out.push(Finding::error(RULE_SELINUX, child(&sp, "type"), format!("{who} sets SELinux type {t}")));
    }
    for f in ["user", "role"] {
        if se.get(f).and_then(Value::as_str).is_some_and(|v| !v.is_empty()) {
            out.push(Finding::error(RULE_SELINUX, child(&sp, f), format!("{who} sets a custom SELinux {f}")));
        }
    }
}

fn check_apparmor_profile(sc: &Value, path: &str, who: &str, out: &mut Vec<Finding>) {
    if let Some(t) = sc.pointer("/appArmorProfile/type").and_then(Value::as_str)
        && t != "RuntimeDefault"
        && t != "Localhost"
    {
        out.push(Finding::error(
            RULE_APPARMOR,
            format!("{path}/appArmorProfile/type"),
            format!("{who} uses AppArmor profile {t}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(pod: Value) -> Object {
        Object {
            source: None,
            line: 1,
            value: json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
                "spec": {"template": {"metadata": {}, "spec": pod}}}),
        }
    }

    fn rules(pod: Value) -> Vec<&'static str> {
        let mut r: Vec<_> = findings(&deployment(pod)).into_iter().map(|f| f.rule).collect();
        r.sort();
        r.dedup();
        r
    }

    fn restricted_container() -> Value {
        json!({"name": "c", "image": "i:1", "securityContext": {
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}})
    }

    #[test]
    fn a_restricted_pod_passes() {
        assert!(rules(json!({"containers": [restricted_container()]})).is_empty());
        // Pod-level runAsNonRoot and seccomp cover the containers.
        let mut c = restricted_container();
        c["securityContext"].as_object_mut().unwrap().remove("runAsNonRoot");
        c["securityContext"].as_object_mut().unwrap().remove("seccompProfile");
        let pod = json!({"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [c], "volumes": [{"name": "d", "emptyDir": {}}]});
        assert!(rules(pod).is_empty());
    }

    #[test]
    fn every_control_is_caught() {
        let mut c = restricted_container();
        let sc = c["securityContext"].as_object_mut().unwrap();
        sc.insert("privileged".into(), json!(true));
        sc.insert("allowPrivilegeEscalation".into(), json!(true));
        sc.insert("capabilities".into(), json!({"drop": ["ALL"], "add": ["NET_ADMIN", "NET_BIND_SERVICE"]}));
        sc.insert("runAsUser".into(), json!(0));
        sc.insert("runAsNonRoot".into(), json!(false));
        sc.insert("seccompProfile".into(), json!({"type": "Unconfined"}));
        sc.insert("procMount".into(), json!("Unmasked"));
        sc.insert("seLinuxOptions".into(), json!({"type": "spc_t"}));
        sc.insert("appArmorProfile".into(), json!({"type": "Unconfined"}));
        c["ports"] = json!([{"containerPort": 80, "hostPort": 80}]);
        let pod = json!({"hostNetwork": true, "containers": [c],
            "securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]},
            "volumes": [{"name": "h", "hostPath": {"path": "/"}}, {"name": "n", "nfs": {"server": "s", "path": "/"}}]});
        assert_eq!(rules(pod), {
            let mut all: Vec<&str> = RULES.iter().map(|r| r.id).collect();
            all.sort();
            all
        });
    }

    #[test]
    fn missing_settings_are_findings_with_paths() {
        let f = findings(&deployment(json!({"containers": [{"name": "c", "image": "i:1"}]})));
        let caps = f.iter().find(|f| f.rule == "pss/capabilities").unwrap();
        assert_eq!(caps.path, "/spec/template/spec/containers/0/securityContext/capabilities");
        assert!(caps.message.contains("container \"c\""));
        for r in ["pss/privilege-escalation", "pss/run-as-non-root", "pss/seccomp"] {
            assert!(f.iter().any(|x| x.rule == r), "{r}");
        }
    }

    /// Every finding as (rule, path): which input fired, not just which rules.
    fn fired(pod: Value) -> Vec<(&'static str, String)> {
        let mut f: Vec<_> = findings(&deployment(pod)).into_iter().map(|f| (f.rule, f.path)).collect();
        f.sort();
        f
    }

    const C0: &str = "/spec/template/spec/containers/0/securityContext";

    #[test]
    fn each_violation_is_reported_at_its_own_input() {
        let mut c = restricted_container();
        c["securityContext"]["runAsUser"] = json!(0);
        c["securityContext"]["seLinuxOptions"] = json!({"user": "u", "role": "r"});
        let pod = json!({"hostPID": true, "hostIPC": true, "securityContext": {"runAsUser": 0,
            "sysctls": [{"name": "net.ipv4.tcp_syncookies"}, {"name": "kernel.msgmax"}]},
            "containers": [restricted_container(), c]});
        let c1 = "/spec/template/spec/containers/1/securityContext";
        assert_eq!(
            fired(pod),
            [
                ("pss/host-namespaces", "/spec/template/spec/hostIPC".to_owned()),
                ("pss/host-namespaces", "/spec/template/spec/hostPID".to_owned()),
                ("pss/run-as-user", format!("{c1}/runAsUser")),
                ("pss/run-as-user", "/spec/template/spec/securityContext/runAsUser".to_owned()),
                ("pss/selinux", format!("{c1}/seLinuxOptions/role")),
                ("pss/selinux", format!("{c1}/seLinuxOptions/user")),
                ("pss/sysctls", "/spec/template/spec/securityContext/sysctls/1/name".to_owned()),
            ]
        );
    }

    #[test]
    fn allowed_values_pass() {
        // A false positive on any of these would fail a compliant chart.
        for t in SELINUX_TYPES.iter().copied().chain([""]) {
            let mut c = restricted_container();
            c["securityContext"]["seLinuxOptions"] =
                json!({"type": t, "user": "", "role": "", "level": "s0:c1"});
            let pod = json!({"securityContext": {"seLinuxOptions": {"type": t}}, "containers": [c]});
            assert_eq!(fired(pod), [], "SELinux type {t:?}");
        }
        for t in ["RuntimeDefault", "Localhost"] {
            let mut c = restricted_container();
            c["securityContext"]["appArmorProfile"] = json!({"type": t, "localhostProfile": "p"});
            c["securityContext"]["seccompProfile"] = json!({"type": t, "localhostProfile": "p"});
            let pod = json!({"securityContext": {"appArmorProfile": {"type": t}, "seccompProfile": {"type": t}},
                "containers": [c]});
            assert_eq!(fired(pod), [], "profile type {t}");
        }
        let mut c = restricted_container();
        c["securityContext"]["capabilities"]["add"] = json!(["NET_BIND_SERVICE"]);
        c["securityContext"]["procMount"] = json!("Default");
        c["securityContext"]["runAsUser"] = json!(1000);
        c["ports"] = json!([{"containerPort": 80, "hostPort": 0}]);
        let sysctls: Vec<Value> = SAFE_SYSCTLS.iter().map(|n| json!({"name": n, "value": "1"})).collect();
        let volumes: Vec<Value> = ALLOWED_VOLUMES
            .iter()
            .enumerate()
            .map(|(i, v)| json!({"name": format!("v{i}"), (*v): {}}))
            .collect();
        let pod = json!({"hostNetwork": false, "securityContext": {"sysctls": sysctls, "runAsUser": 1000},
            "containers": [c], "volumes": volumes});
        assert_eq!(fired(pod), []);
    }

    #[test]
    fn the_legacy_apparmor_annotation_is_checked() {
        let with = |v: &str| {
            let mut o = deployment(json!({"containers": [restricted_container()]}));
            o.value["spec"]["template"]["metadata"]["annotations"] =
                json!({"container.apparmor.security.beta.kubernetes.io/c": v, "other/x": "unconfined"});
            let mut f: Vec<_> = findings(&o).into_iter().map(|f| (f.rule, f.path)).collect();
            f.sort();
            f
        };
        assert_eq!(
            with("unconfined"),
            [(
                "pss/apparmor",
                "/spec/template/metadata/annotations/container.apparmor.security.beta.kubernetes.io~1c"
                    .to_owned()
            )]
        );
        assert_eq!(with("runtime/default"), []);
        assert_eq!(with("localhost/my-profile"), []);
    }

    #[test]
    fn container_settings_override_the_pods() {
        // The container's own false wins over the pod's true; its own profile is judged.
        let mut c = restricted_container();
        c["securityContext"]["runAsNonRoot"] = json!(false);
        c["securityContext"]["seccompProfile"] = json!({"type": "Unconfined"});
        let pod = json!({"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [c]});
        assert_eq!(
            fired(pod),
            [
                ("pss/run-as-non-root", format!("{C0}/runAsNonRoot")),
                ("pss/seccomp", format!("{C0}/seccompProfile/type")),
            ]
        );
    }
}
