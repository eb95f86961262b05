//! Chart.lock as helm reads it: the digest `helm dependency build` checks a
//! lock against (`internal/resolver.HashReq` at helm v3.17.2 and v4.1.4: the
//! sha256 of the JSON `[requirements, locked]`, Go's encoding of helm's
//! `Dependency` struct), and the locked entries. Pure text in, values out.

use serde_json::Value;
use sha2::{Digest, Sha256};

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

/// The `dependencies` of a Chart.lock: (name, repository, version) each, in order.
pub fn locked(chart_lock: &str) -> Result<Vec<(String, String, String)>, String> {
    let v: Value =
        serde_saphyr::from_str(chart_lock).map_err(|e| format!("Chart.lock does not parse: {e}"))?;
    let text = |d: &Value, k: &str| d.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(v.get("dependencies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|d| (text(d, "name"), text(d, "repository"), text(d, "version")))
        .collect())
}

/// The locked digest a Chart.lock states.
pub fn stated_digest(chart_lock: &str) -> Option<String> {
    let v: Value = serde_saphyr::from_str(chart_lock).ok()?;
    v.get("digest").and_then(Value::as_str).map(str::to_owned)
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_catalogs_locks_are_read_and_their_digests_recomputed() {
        let chart = "apiVersion: v2\nname: gatus\nversion: 0.1.0\ndependencies:\n  - name: common\n    version: ~0.1.0\n    repository: file://../common\n";
        let lock = "dependencies:\n- name: common\n  repository: file://../common\n  version: 0.1.0\ndigest: sha256:x\ngenerated: \"2026-11-25T07:49:32Z\"\n";
        assert_eq!(locked(lock).unwrap(), [("common".into(), "file://../common".into(), "0.1.0".into())]);
        assert_eq!(stated_digest(lock).as_deref(), Some("sha256:x"));
        let d = lock_digest(chart, lock).unwrap();
        assert!(d.starts_with("sha256:") && d.len() == 71, "{d}");
        assert_ne!(
            d,
            lock_digest(&chart.replace("~0.1.0", "~0.2.0"), lock).unwrap(),
            "the constraint counts"
        );
    }
}
