//! The image contract (`image/*`): each rendered container against what the
//! lock (`images.lock.yaml`) records about its image. Pure: the lock is read by
//! the loader (lint) or built from the registry (`cargo xtask images`).

use super::objects::{self, Finding};
use crate::images::lock::{self, Entry, Lock};
use crate::images::reference::ImageRef;
use crate::manifest::Object;
use crate::rule::{EVERY, Rule};
use crate::yaml::child;
use serde_json::Value;

pub const RULE_LOCK: Rule = Rule::error(
    "image/lock",
    EVERY,
    "an image in a rendering has no entry in `images.lock.yaml`, or its `@sha256:` digest differs from the lock's or is not a sha256/sha512 digest (`md5:0` pins nothing); a malformed lock",
);
pub const RULE_PLATFORM: Rule =
    Rule::error("image/platform", EVERY, "an image (per the lock) lacks `linux/arm64` or `linux/amd64`")
        .exceptable();
pub const RULE_ENTRYPOINT_ARGS: Rule = Rule::error(
    "image/entrypoint-args",
    EVERY,
    "a container sets `args` but not `command` while the image's entrypoint is shell form (the args are ignored), or sets `args` that repeat an exec-form entrypoint",
)
.exceptable();
pub const RULE_USER: Rule = Rule::error(
    "image/user",
    EVERY,
    "`runAsNonRoot: true` without a numeric `runAsUser` while the image's user is non-numeric or root (the kubelet refuses to start it), or a `runAsUser` the image's writable paths do not allow",
)
.exceptable();
pub const RULE_PORT: Rule =
    Rule::warning("image/port", EVERY, "a containerPort the image does not expose (per the lock)")
        .exceptable();
/// `cargo xtask images` only: the registry has no such tag (or refuses it).
pub const RULE_MISSING: Rule =
    Rule::error("image/missing", EVERY, "(`cargo xtask images`) the registry has no such tag, or refuses it");

/// Every image rule (the registry's list).
pub const RULES: &[Rule] =
    &[RULE_LOCK, RULE_PLATFORM, RULE_ENTRYPOINT_ARGS, RULE_USER, RULE_PORT, RULE_MISSING];

/// Platforms every image must offer: the catalog runs on arm64 and amd64 nodes.
pub const REQUIRED_PLATFORMS: &[&str] = &["linux/amd64", "linux/arm64"];

/// Findings of one object. `digests`: whether the rendered digest is compared
/// with the lock's (lint: yes; `cargo xtask images` judges digests itself).
pub fn findings(obj: &Object, lock: &Lock, digests: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some((spec, sp)) = objects::pod_spec(obj) else { return out };
    let pod_sc = spec.get("securityContext").unwrap_or(&Value::Null);
    for c in objects::containers(spec, sp) {
        if c.ephemeral {
            continue;
        }
        let Some(image) = c.value.get("image").and_then(Value::as_str) else { continue };
        // A malformed or untagged reference is policy/image-tag's to report.
        let Ok(r) = ImageRef::parse(image) else { continue };
        let ip = child(&c.path, "image");
        let who = c.label.as_str();
        let Some(entry) = lock.images.get(&r.key()) else {
            out.push(
                Finding::error(
                    RULE_LOCK,
                    ip,
                    format!("{who} image {image} has no entry in {}", lock::FILE_NAME),
                )
                .hint("run `cargo xtask images --update` (online) to record it"),
            );
            continue;
        };
        if digests {
            digest(&r, entry, &ip, who, &mut out);
        }
        platforms(&r, entry, &ip, who, &mut out);
        entrypoint_args(c.value, &c.path, entry, who, &mut out);
        user(c.value, pod_sc, &c.path, entry, who, &mut out);
        ports(c.value, &c.path, entry, who, &mut out);
    }
    out
}

fn digest(r: &ImageRef, entry: &Entry, ip: &str, who: &str, out: &mut Vec<Finding>) {
    if let Some(problem) = r.digest.as_deref().and_then(crate::images::reference::digest_problem) {
        out.push(
            Finding::error(
                RULE_LOCK,
                ip,
                format!("{who} pins {} to {}: {problem}", r.key(), r.digest.as_deref().unwrap_or_default()),
            )
            .hint("run `cargo xtask images --update`: it writes the registry's sha256 digest"),
        );
        return;
    }
    match (&r.digest, &entry.digest) {
        (Some(have), Some(locked)) if have != locked => out.push(
            Finding::error(RULE_LOCK, ip, format!("{who} pins {} to {have}, the lock has {locked}", r.key()))
                .hint("run `cargo xtask images --update`: it rewrites the lock and the values together"),
        ),
        (None, Some(locked)) => out.push(
            Finding::error(
                RULE_LOCK,
                ip,
                format!("{who} image {} is not pinned to the lock's digest {locked}", r.key()),
            )
            .hint("run `cargo xtask images --update` to write the digest into values.yaml"),
        ),
        // A `dockerfile` entry has no digest yet: accepted until an online run confirms it.
        _ => {}
    }
}

fn platforms(r: &ImageRef, entry: &Entry, ip: &str, who: &str, out: &mut Vec<Finding>) {
    let Some(have) = &entry.platforms else { return };
    let missing: Vec<&str> =
        REQUIRED_PLATFORMS.iter().copied().filter(|p| !have.iter().any(|h| satisfies(h, p))).collect();
    if !missing.is_empty() {
        out.push(
            Finding::error(
                RULE_PLATFORM,
                ip,
                format!("{who} image {} lacks {} (it has {})", r.key(), missing.join(" and "), list(have)),
            )
            .hint(
                "use an image built for linux/amd64 and linux/arm64, or declare an exception with the reason",
            ),
        );
    }
}

/// `linux/arm64/v8` is a `linux/arm64` (the variant refines the architecture).
fn satisfies(have: &str, required: &str) -> bool {
    have == required || have.strip_prefix(required).is_some_and(|rest| rest.starts_with('/'))
}

fn entrypoint_args(c: &Value, path: &str, entry: &Entry, who: &str, out: &mut Vec<Finding>) {
    let args = strings(c.get("args"));
    let has_command = c.get("command").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    let Some(entrypoint) = &entry.entrypoint else { return };
    if args.is_empty() || has_command {
        return;
    }
    if lock::shell_form(entrypoint) {
        out.push(
            Finding::error(
                RULE_ENTRYPOINT_ARGS,
                child(path, "args"),
                format!(
                    "{who} sets args but the image's entrypoint is shell form ({}): the shell ignores them",
                    list(entrypoint)
                ),
            )
            .hint("set `command` to the program (with args), so the entrypoint is replaced"),
        );
    } else if let Some(first) = entrypoint.first() {
        let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_owned();
        if base(&args[0]) == base(first) {
            out.push(
                Finding::error(
                    RULE_ENTRYPOINT_ARGS,
                    child(path, "args"),
                    format!(
                        "{who}'s args start with {:?}, which the entrypoint {} already runs: the program gets its own name as an argument",
                        args[0],
                        list(entrypoint)
                    ),
                )
                .hint("drop the program from args (args follow the entrypoint), or set it as `command`"),
            );
        }
    }
}

fn user(c: &Value, pod_sc: &Value, path: &str, entry: &Entry, who: &str, out: &mut Vec<Finding>) {
    let sc = c.get("securityContext").unwrap_or(&Value::Null);
    let field =
        |k: &str| sc.get(k).filter(|v| !v.is_null()).or_else(|| pod_sc.get(k).filter(|v| !v.is_null()));
    let non_root = field("runAsNonRoot").and_then(Value::as_bool) == Some(true);
    let run_as = field("runAsUser").and_then(Value::as_i64);
    let Some(image_user) = &entry.user else { return };
    let uid = image_user.split(':').next().unwrap_or("");
    if non_root && run_as.is_none() {
        let problem = if uid.is_empty() || uid == "root" || uid == "0" {
            Some(format!("the image runs as root ({:?})", image_user))
        } else if uid.parse::<u64>().is_err() {
            Some(format!(
                "the image's user {image_user:?} is a name, which the kubelet cannot check is not root"
            ))
        } else {
            None
        };
        if let Some(p) = problem {
            out.push(
                Finding::error(
                    RULE_USER,
                    child(&child(path, "securityContext"), "runAsUser"),
                    format!("{who} sets runAsNonRoot without a numeric runAsUser and {p}: the kubelet refuses to start it"),
                )
                .hint("set securityContext.runAsUser (and runAsGroup) to a numeric id"),
            );
        }
    }
    // Paths the image's program writes, owned by its user: another uid needs a
    // volume there. A container with its own `command` runs another program.
    let own_command = c.get("command").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    if let (Some(uid), false) = (run_as, own_command) {
        let mounts: Vec<String> = c
            .get("volumeMounts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| {
                m.get("mountPath").and_then(Value::as_str).map(|p| p.trim_end_matches('/').to_owned())
            })
            .collect();
        for w in &entry.writes {
            let owner = w.owner.split(':').next().unwrap_or("");
            if owner == uid.to_string() {
                continue;
            }
            let covered =
                mounts.iter().any(|m| w.path == *m || w.path.starts_with(&format!("{m}/")) || m.is_empty());
            if !covered {
                out.push(
                    Finding::error(
                        RULE_USER,
                        child(&child(path, "securityContext"), "runAsUser"),
                        format!(
                            "{who} runs as uid {uid}, but the image writes {} which belongs to {:?}, and no volume is mounted there",
                            w.path, w.owner
                        ),
                    )
                    .hint(format!("mount a volume (an emptyDir, with fsGroup) at {}", w.path)),
                );
            }
        }
    }
}

fn ports(c: &Value, path: &str, entry: &Entry, who: &str, out: &mut Vec<Finding>) {
    let Some(exposed) = &entry.ports else { return };
    // A port the container's command line names (`--port 8080`, `:8080`) is the
    // application configured to listen there: not the image's default, and no mistake.
    let words: Vec<String> = ["command", "args"].iter().flat_map(|k| strings(c.get(*k))).collect();
    let named = |n: i64| {
        let n = n.to_string();
        words.iter().any(|w| w.split(|ch: char| !ch.is_ascii_digit()).any(|t| t == n))
    };
    for (i, p) in c.get("ports").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let Some(n) = p.get("containerPort").and_then(Value::as_i64) else { continue };
        if named(n) {
            continue;
        }
        let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
        let port = lock::normalize_port(&format!("{n}/{proto}"));
        if !exposed.contains(&port) {
            out.push(
                Finding::warning(
                    RULE_PORT,
                    format!("{path}/ports/{i}/containerPort"),
                    format!(
                        "{who} declares containerPort {port}, which the image does not expose ({})",
                        list(exposed)
                    ),
                )
                .hint("check the port the application listens on (the image may be configured to another)"),
            );
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(|s| s.as_str().unwrap_or("").to_owned()).collect())
        .unwrap_or_default()
}

fn list(items: &[String]) -> String {
    if items.is_empty() { "none".into() } else { format!("[{}]", items.join(", ")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::lock::{Source, Write};
    use serde_json::json;

    fn lock_with(key: &str, entry: Entry) -> Lock {
        let mut l = Lock { version: lock::VERSION, ..Lock::default() };
        l.images.insert(key.into(), entry);
        l
    }

    fn entry() -> Entry {
        Entry {
            digest: Some(AA.into()),
            platforms: Some(vec!["linux/amd64".into(), "linux/arm64".into()]),
            entrypoint: Some(vec!["/app".into()]),
            cmd: Some(vec![]),
            user: Some("65532".into()),
            ports: Some(vec!["8080/tcp".into()]),
            healthcheck: Some(vec![]),
            source: Source::registry("2026-11-28"),
            ..Entry::default()
        }
    }

    fn pod(container: Value) -> Object {
        Object {
            source: None,
            line: 1,
            value: json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nex-a"},
                "spec": {"template": {"spec": {"securityContext": {"runAsNonRoot": true, "runAsUser": 65532},
                "containers": [container]}}}}),
        }
    }

    fn rules(c: Value, e: Entry) -> Vec<&'static str> {
        findings(&pod(c), &lock_with("docker.io/example/app:1", e), true)
            .into_iter()
            .map(|f| f.rule)
            .collect()
    }

    const AA: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    fn ok() -> Value {
        json!({"name": "app", "image": format!("example/app:1@{AA}"), "ports": [{"containerPort": 8080}]})
    }

    #[test]
    fn a_container_matching_its_lock_entry_passes() {
        assert_eq!(rules(ok(), entry()), Vec::<&str>::new());
    }

    #[test]
    fn missing_entries_and_digest_drift() {
        let f = findings(&pod(ok()), &lock_with("docker.io/example/other:1", entry()), true);
        assert_eq!(f.iter().map(|f| f.rule).collect::<Vec<_>>(), [RULE_LOCK]);
        let mut c = ok();
        c["image"] = json!(format!("example/app:1@sha256:{}", "b".repeat(64)));
        assert_eq!(rules(c.clone(), entry()), [RULE_LOCK]);
        // A digest nobody verifies is refused, whatever the lock says.
        for weak in ["md5:0", "sha256:aa", "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709"] {
            c["image"] = json!(format!("example/app:1@{weak}"));
            let f = findings(
                &pod(c.clone()),
                &lock_with("docker.io/example/app:1", Entry { digest: None, ..entry() }),
                true,
            );
            assert_eq!(f.iter().map(|f| f.rule).collect::<Vec<_>>(), [RULE_LOCK], "{weak}");
            assert!(f[0].message.contains(weak), "{}", f[0].message);
            let locked = lock_with("docker.io/example/app:1", Entry { digest: Some(weak.into()), ..entry() });
            assert_eq!(findings(&pod(c.clone()), &locked, true).len(), 1, "{weak}");
        }
        c["image"] = json!("example/app:1");
        assert_eq!(rules(c.clone(), entry()), [RULE_LOCK]);
        // A dockerfile-sourced entry has no digest: accepted.
        assert_eq!(rules(c, Entry { digest: None, ..entry() }), Vec::<&str>::new());
    }

    #[test]
    fn platforms_must_include_amd64_and_arm64_when_known() {
        assert_eq!(
            rules(ok(), Entry { platforms: Some(vec!["linux/amd64".into()]), ..entry() }),
            [RULE_PLATFORM]
        );
        assert_eq!(rules(ok(), Entry { platforms: None, ..entry() }), Vec::<&str>::new());
        let v8 = Entry { platforms: Some(vec!["linux/amd64".into(), "linux/arm64/v8".into()]), ..entry() };
        assert_eq!(rules(ok(), v8), Vec::<&str>::new());
        let arm = Entry { platforms: Some(vec!["linux/amd64".into(), "linux/arm/v7".into()]), ..entry() };
        assert_eq!(rules(ok(), arm), [RULE_PLATFORM]);
    }

    #[test]
    fn args_under_a_shell_form_entrypoint_or_repeating_the_entrypoint() {
        let shell =
            Entry { entrypoint: Some(vec!["/bin/sh".into(), "-c".into(), "yaldap".into()]), ..entry() };
        let mut c = ok();
        c["args"] = json!(["run", "--listen-address", ":10389"]);
        assert_eq!(rules(c.clone(), shell.clone()), [RULE_ENTRYPOINT_ARGS]);
        assert_eq!(rules(c.clone(), entry()), Vec::<&str>::new());
        let mut fixed = c.clone();
        fixed["command"] = json!(["yaldap"]);
        assert_eq!(rules(fixed, shell), Vec::<&str>::new());
        c["args"] = json!(["/app", "--flag"]);
        assert_eq!(rules(c, entry()), [RULE_ENTRYPOINT_ARGS]);
    }

    #[test]
    fn run_as_non_root_needs_a_numeric_user() {
        let mut c = ok();
        c["securityContext"] = json!({"runAsUser": null});
        let mut o = pod(c);
        o.value["spec"]["template"]["spec"]["securityContext"] = json!({"runAsNonRoot": true});
        let l =
            |user: &str| lock_with("docker.io/example/app:1", Entry { user: Some(user.into()), ..entry() });
        let r = |user: &str| findings(&o, &l(user), true).into_iter().map(|f| f.rule).collect::<Vec<_>>();
        assert_eq!(r("yaldap"), [RULE_USER]);
        assert_eq!(r(""), [RULE_USER]);
        assert_eq!(r("0:0"), [RULE_USER]);
        assert_eq!(r("65532:65532"), Vec::<&str>::new());
        // With a numeric runAsUser the image's user does not matter.
        assert_eq!(rules(ok(), Entry { user: Some("yaldap".into()), ..entry() }), Vec::<&str>::new());
    }

    #[test]
    fn a_uid_that_cannot_write_where_the_image_writes() {
        let writes = vec![Write { path: "/opt/app/work".into(), owner: "65534".into() }];
        let e = Entry { writes, ..entry() };
        assert_eq!(rules(ok(), e.clone()), [RULE_USER]);
        let mut c = ok();
        c["volumeMounts"] = json!([{"name": "work", "mountPath": "/opt/app"}]);
        assert_eq!(rules(c, e.clone()), Vec::<&str>::new());
        // Another program (an init container copying files, say) is not judged by the image's writes.
        let mut c = ok();
        c["command"] = json!(["cp", "-a", "/opt/app/work/.", "/seed/"]);
        assert_eq!(rules(c, e), Vec::<&str>::new());
    }

    #[test]
    fn container_ports_the_image_does_not_expose_are_warnings() {
        let mut c = ok();
        c["ports"] = json!([{"containerPort": 8080}, {"containerPort": 53, "protocol": "UDP"}]);
        let f = findings(&pod(c), &lock_with("docker.io/example/app:1", entry()), true);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].rule, f[0].severity), (RULE_PORT.id, crate::diag::Severity::Warning));
        assert!(f[0].message.contains("53/udp"), "{}", f[0].message);
    }
}
