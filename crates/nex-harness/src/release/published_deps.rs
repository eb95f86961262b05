//! Published charts name their library by the published repository.
//!
//! In git a chart depends on `repository: file://../common`, which only means
//! something beside `charts/common`. A pulled archive (`helm pull --untar`)
//! has no such folder, so `helm dependency build` would fail. At package time
//! the archive's Chart.yaml gets the repository's URL instead, and Chart.lock
//! the same URL and the digest Helm computes over both
//! (`internal/resolver.HashReq`: sha256 of the JSON `[requirements, locked]`).
//! Pure text in, text out; the packaging step applies it to archive entries.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Chart.yaml or Chart.lock with every `repository: file://…` value replaced
/// by `repo`; `None` when there is none (the text is then left as it is).
pub fn rewrite_repositories(text: &str, repo: &str) -> Option<String> {
    let mut changed = false;
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let eol = &line[body.len()..];
        let key_at = body.find("repository:");
        let prefix_ok = key_at.is_some_and(|i| body[..i].chars().all(|c| c == ' ' || c == '-'));
        if let (Some(i), true) = (key_at, prefix_ok) {
            let value = body[i + "repository:".len()..].trim();
            let unquoted = value.trim_matches(['"', '\'']);
            if unquoted.starts_with("file://") {
                out.push_str(&body[..i]);
                out.push_str("repository: ");
                out.push_str(repo);
                out.push_str(eol);
                changed = true;
                continue;
            }
        }
        out.push_str(line);
    }
    changed.then_some(out)
}

/// The Chart.lock `digest` Helm expects for these Chart.yaml requirements and
/// locked dependencies, or why it cannot be computed faithfully.
pub fn lock_digest(chart_yaml: &str, chart_lock: &str) -> Result<String, String> {
    let deps = |text: &str, what: &str| -> Result<Vec<Value>, String> {
        let v: Value = serde_saphyr::from_str(text).map_err(|e| format!("{what} does not parse: {e}"))?;
        Ok(v.get("dependencies").and_then(Value::as_array).cloned().unwrap_or_default())
    };
    let req = deps(chart_yaml, "Chart.yaml")?;
    let lock = deps(chart_lock, "Chart.lock")?;
    let mut json = String::from("[[");
    for (i, d) in req.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&go_dependency(d)?);
    }
    json.push_str("],[");
    for (i, d) in lock.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&go_dependency(d)?);
    }
    json.push_str("]]");
    Ok(format!("sha256:{}", crate::cache::hex(&Sha256::digest(json.as_bytes()))))
}

/// Chart.lock with its `digest:` line replaced.
pub fn set_lock_digest(chart_lock: &str, digest: &str) -> Option<String> {
    let mut found = false;
    let out: String = chart_lock
        .split_inclusive('\n')
        .map(|line| {
            if line.starts_with("digest:") {
                found = true;
                let eol = if line.ends_with('\n') { "\n" } else { "" };
                format!("digest: {digest}{eol}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    found.then_some(out)
}

/// One `chart.Dependency` as Go's `encoding/json` writes it: fields in struct
/// order, `omitempty` ones left out when empty. Fields whose Go encoding this
/// does not reproduce (`import-values`) are refused rather than guessed.
fn go_dependency(d: &Value) -> Result<String, String> {
    let text = |k: &str| -> String {
        match d.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }
    };
    if d.get("import-values").is_some_and(|v| !v.is_null()) {
        return Err("a dependency has import-values".into());
    }
    let mut s = format!("{{\"name\":{}", go_string(&text("name")));
    let version = text("version");
    if !version.is_empty() {
        s.push_str(&format!(",\"version\":{}", go_string(&version)));
    }
    s.push_str(&format!(",\"repository\":{}", go_string(&text("repository"))));
    let condition = text("condition");
    if !condition.is_empty() {
        s.push_str(&format!(",\"condition\":{}", go_string(&condition)));
    }
    if let Some(tags) = d.get("tags").and_then(Value::as_array).filter(|t| !t.is_empty()) {
        let tags: Vec<String> = tags.iter().map(|t| go_string(t.as_str().unwrap_or_default())).collect();
        s.push_str(&format!(",\"tags\":[{}]", tags.join(",")));
    }
    if d.get("enabled").and_then(Value::as_bool) == Some(true) {
        s.push_str(",\"enabled\":true");
    }
    let alias = text("alias");
    if !alias.is_empty() {
        s.push_str(&format!(",\"alias\":{}", go_string(&alias)));
    }
    s.push('}');
    Ok(s)
}

/// A JSON string as Go's `encoding/json` escapes it (HTML-safe by default).
fn go_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Rewrites the top-level Chart.yaml and Chart.lock of a chart's files (paths
/// `<chart>/<file>`). Returns whether anything changed. A lock whose digest
/// cannot be recomputed faithfully is dropped: `helm dependency build` then
/// resolves from Chart.yaml, which names the published repository.
pub fn rewrite_entries(entries: &mut Vec<super::archive::Entry>, repo: &str) -> Result<bool, String> {
    let top = |path: &str, file: &str| path.matches('/').count() == 1 && path.ends_with(&format!("/{file}"));
    let Some(ci) = entries.iter().position(|e| top(&e.path, "Chart.yaml")) else {
        return Err("no Chart.yaml in the archive".into());
    };
    let chart_yaml = String::from_utf8_lossy(&entries[ci].data).into_owned();
    let Some(new_chart) = rewrite_repositories(&chart_yaml, repo) else {
        return Ok(false);
    };
    entries[ci].data = new_chart.clone().into_bytes();
    if let Some(li) = entries.iter().position(|e| top(&e.path, "Chart.lock")) {
        let lock = String::from_utf8_lossy(&entries[li].data).into_owned();
        let new_lock = rewrite_repositories(&lock, repo).unwrap_or(lock);
        let relocked = lock_digest(&new_chart, &new_lock).ok().and_then(|d| set_lock_digest(&new_lock, &d));
        match relocked {
            Some(l) => entries[li].data = l.into_bytes(),
            None => {
                entries.remove(li);
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHART: &str = "apiVersion: v2\nname: glance\nversion: 0.1.0\ndependencies:\n  - name: common\n    version: ~0.1.0\n    repository: file://../common\nannotations:\n  a: b\n";
    const LOCK: &str = "dependencies:\n- name: common\n  repository: file://../common\n  version: 0.1.0\ndigest: sha256:fb4fab74c424c887646ce528ecb840971aae3d4bf4d32cc43a28c70d2bd0df0d\ngenerated: \"2026-11-25T07:42:11.054537706Z\"\n";

    #[test]
    fn reproduces_helms_lock_digest() {
        // The digest `helm dependency update` wrote for charts/glance (Helm 4.1.4).
        assert_eq!(
            lock_digest(CHART, LOCK).unwrap(),
            "sha256:fb4fab74c424c887646ce528ecb840971aae3d4bf4d32cc43a28c70d2bd0df0d"
        );
    }

    #[test]
    fn file_repositories_become_the_published_one() {
        let chart = rewrite_repositories(CHART, "https://nex.example/charts").unwrap();
        assert!(chart.contains("    repository: https://nex.example/charts\nannotations:"), "{chart}");
        assert_eq!(chart.lines().count(), CHART.lines().count());
        assert!(rewrite_repositories(&chart, "https://x").is_none(), "nothing left to rewrite");
        let quoted = rewrite_repositories("  - repository: \"file://../c\"\n", "https://r").unwrap();
        assert_eq!(quoted, "  - repository: https://r\n");
        // Not a dependency key: left alone.
        assert!(
            rewrite_repositories("sources:\n  - file://x\nmy-repository: file://y\n", "https://r").is_none()
        );
    }

    #[test]
    fn the_lock_follows_with_a_new_digest() {
        let mut entries = vec![
            super::super::archive::Entry { path: "glance/Chart.yaml".into(), data: CHART.into() },
            super::super::archive::Entry { path: "glance/Chart.lock".into(), data: LOCK.into() },
            super::super::archive::Entry {
                path: "glance/charts/common/Chart.yaml".into(),
                data: b"name: common\n".to_vec(),
            },
        ];
        assert!(rewrite_entries(&mut entries, "https://r").unwrap());
        let lock = String::from_utf8(entries[1].data.clone()).unwrap();
        assert!(
            lock.contains("  repository: https://r\n") && lock.contains("generated: \"2026-11-25"),
            "{lock}"
        );
        let chart = String::from_utf8(entries[0].data.clone()).unwrap();
        let digest = lock_digest(&chart, &lock).unwrap();
        assert!(lock.contains(&format!("digest: {digest}\n")));
        assert_ne!(digest, "sha256:fb4fab74c424c887646ce528ecb840971aae3d4bf4d32cc43a28c70d2bd0df0d");
        // Idempotent.
        assert!(!rewrite_entries(&mut entries, "https://r").unwrap());
    }

    #[test]
    fn go_escapes_like_encoding_json() {
        assert_eq!(go_string("a<b>&\"\\\u{1}"), "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\u0001\"");
        let d: Value = serde_json::json!({"name": "x", "repository": "r", "tags": ["t"], "enabled": true, "alias": "y", "condition": "c.enabled"});
        assert_eq!(
            go_dependency(&d).unwrap(),
            r#"{"name":"x","repository":"r","condition":"c.enabled","tags":["t"],"enabled":true,"alias":"y"}"#
        );
        assert!(go_dependency(&serde_json::json!({"name": "x", "import-values": ["a"]})).is_err());
    }
}
