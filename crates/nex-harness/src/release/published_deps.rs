//! Published charts name their library by the published repository.
//!
//! In git a chart depends on `repository: file://../common`, which only means
//! something beside `charts/common`. A pulled archive (`helm pull --untar`)
//! has no such folder, so `helm dependency build` would fail. At package time
//! the archive's Chart.yaml gets the repository's URL instead, and Chart.lock
//! the same URL and the digest Helm computes over both
//! (`internal/resolver.HashReq`: sha256 of the JSON `[requirements, locked]`).
//! Pure text in, text out; the packaging step applies it to archive entries.

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

pub use crate::chart_lock::lock_digest;

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
}
