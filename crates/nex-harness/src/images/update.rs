//! `--update`'s edits: the digests of `values.yaml` image blocks and of the
//! `artifacthub.io/images` annotation, as text edits that keep everything else
//! (comments, quoting, order) byte for byte. Pure functions on texts, plus the
//! atomic write.

use super::lock::Lock;
use super::reference::ImageRef;
use crate::yaml::{self, Node, Value};
use std::path::Path;

/// An image block of a values file (`registry`, `repository`, `tag`, `digest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageBlock {
    /// The lock key it renders to.
    pub key: String,
    /// 1-based line of the block's `repository`.
    pub line: usize,
    /// The digest written there (`""` when empty); `None` when the block has no `digest` key.
    pub digest: Option<String>,
}

/// Every `{registry?, repository, tag, digest?}` mapping of a values file.
pub fn image_blocks(text: &str) -> Vec<(ImageBlock, Option<(usize, usize)>)> {
    let Ok(doc) = yaml::parse(text) else { return Vec::new() };
    let Some(root) = doc.root() else { return Vec::new() };
    let mut out = Vec::new();
    root.walk(&mut |_, node: &Node, _| {
        let (Some(repo), Some(tag)) = (node.get("repository"), node.get("tag")) else { return };
        let (Some(repo), Some(tag)) = (repo.as_str(), scalar(tag)) else { return };
        let registry = node.get("registry").and_then(Node::as_str).unwrap_or("");
        let name = if registry.is_empty() { repo.to_owned() } else { format!("{registry}/{repo}") };
        let Ok(r) = ImageRef::parse(&format!("{name}:{tag}")) else { return };
        let digest_node = node.get("digest");
        let digest = digest_node.map(|d| d.as_str().unwrap_or("").to_owned());
        let line = node.entry("repository").map(|e| e.key_span.start.line).unwrap_or(0);
        let at = digest_node.map(|d| (d.span.start.line, d.span.start.column));
        out.push((ImageBlock { key: r.key(), line, digest }, at));
    });
    out
}

fn scalar(n: &Node) -> Option<String> {
    match &n.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(_) => match &n.style {
            yaml::Style::Plain(t) => Some(t.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// values.yaml with every image block's digest set to the lock's. Returns the
/// new text and the keys of blocks that have no `digest` key to write to.
pub fn pin_values(text: &str, lock: &Lock) -> (String, Vec<ImageBlock>) {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    let mut unpinnable = Vec::new();
    for (block, at) in image_blocks(text) {
        let Some(want) = lock.images.get(&block.key).and_then(|e| e.digest.clone()) else { continue };
        match (&block.digest, at) {
            (Some(have), _) if *have == want => {}
            (Some(_), Some((line, column))) => {
                if let Some(l) = lines.get_mut(line - 1) {
                    *l = replace_scalar(l, column, &want);
                }
            }
            _ => unpinnable.push(block),
        }
    }
    (lines.concat(), unpinnable)
}

/// A line with the scalar starting at `column` (1-based, characters) replaced by `"value"`.
fn replace_scalar(line: &str, column: usize, value: &str) -> String {
    let mut start: usize = line.char_indices().nth(column - 1).map(|(i, _)| i).unwrap_or(line.len());
    // The parser places an empty (null) value at the key's colon.
    if line[start..].starts_with(':') {
        start += 1;
    }
    let rest = &line[start..];
    let body_end = rest.find(['\r', '\n']).unwrap_or(rest.len());
    let len = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => rest[1..].find(q).map(|i| i + 2).unwrap_or(body_end),
        _ => rest[..body_end].find(" #").unwrap_or(body_end),
    };
    // A null (`digest:` with nothing) starts at the line end: put a space before the value.
    let lead = if start > 0 && !line[..start].ends_with(' ') { " " } else { "" };
    format!("{}{lead}\"{value}\"{}", &line[..start], &line[start + len..])
}

/// Chart.yaml with the digests of its `artifacthub.io/images` entries set to the lock's.
pub fn pin_annotations(chart_yaml: &str, lock: &Lock) -> String {
    let mut out = String::with_capacity(chart_yaml.len());
    let mut block_indent: Option<usize> = None;
    for line in chart_yaml.split_inclusive('\n') {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if block_indent.is_some_and(|bi| !trimmed.is_empty() && indent <= bi) {
            block_indent = None;
        }
        if block_indent.is_none() && trimmed.starts_with("artifacthub.io/images:") {
            block_indent = Some(indent);
            out.push_str(line);
            continue;
        }
        if let Some(new) = block_indent.and_then(|_| pin_annotation_line(line, lock)) {
            out.push_str(&new);
            continue;
        }
        out.push_str(line);
    }
    out
}

fn pin_annotation_line(line: &str, lock: &Lock) -> Option<String> {
    let body = line.trim_end_matches(['\n', '\r']);
    let ending = &line[body.len()..];
    let pos = body.find("image:")?;
    let before = &body[..pos];
    if !before.trim().is_empty() && before.trim() != "-" {
        return None;
    }
    let value = body[pos + "image:".len()..].trim();
    let r = ImageRef::parse(value).ok()?;
    let want = lock.images.get(&r.key())?.digest.as_ref()?;
    if r.digest.as_ref() == Some(want) {
        return None;
    }
    let name = value.split('@').next().unwrap_or(value);
    Some(format!("{before}image: {name}@{want}{ending}"))
}

/// The digests an `artifacthub.io/images` annotation names: (lock key, digest or none).
pub fn annotation_images(chart_yaml: &str) -> Vec<(String, Option<String>)> {
    let Ok(doc) = yaml::parse(chart_yaml) else { return Vec::new() };
    let text = doc
        .root()
        .and_then(|r| r.get("annotations"))
        .and_then(|a| a.get("artifacthub.io/images"))
        .and_then(Node::as_str)
        .map(str::to_owned)
        .unwrap_or_default();
    let Ok(list) = yaml::parse(&text) else { return Vec::new() };
    let mut out = Vec::new();
    if let Some(Value::Seq(items)) = list.root().map(|r| &r.value) {
        for i in items {
            if let Some(r) = i.get("image").and_then(Node::as_str).and_then(|s| ImageRef::parse(s).ok()) {
                out.push((r.key(), r.digest.clone()));
            }
        }
    }
    out
}

/// Writes `text` to `path` through a temp file in the same folder and a rename,
/// only when it differs from what is there. Returns whether it wrote.
pub fn write_if_changed(path: &Path, text: &str) -> std::io::Result<bool> {
    if crate::fsio::read_text(path, crate::fsio::limit::SETTINGS_FILE).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    // Keeps the file's permissions; never writes through a link out of its folder.
    crate::fsio::write_atomic(path, text.as_bytes())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::lock::{Entry, Source};

    fn lock(key: &str, digest: &str) -> Lock {
        let mut l = Lock { version: 1, ..Lock::default() };
        l.images.insert(
            key.into(),
            Entry { digest: Some(digest.into()), source: Source::registry("2026-11-28"), ..Entry::default() },
        );
        l
    }

    const VALUES: &str = "image:\n  # -- Registry.\n  registry: \"\"\n  repository: busybox\n  tag: \"1.37.0\"\n  # -- Digest.\n  digest: \"\"  # pinned by --update\n  pullPolicy: IfNotPresent\ntests:\n  image:\n    registry: ghcr.io\n    repository: a/b\n    tag: v1\n    digest: sha256:old\n";

    #[test]
    fn values_digests_are_rewritten_in_place() {
        let mut l = lock("docker.io/library/busybox:1.37.0", "sha256:new1");
        l.images.extend(lock("ghcr.io/a/b:v1", "sha256:new2").images);
        let (text, unpinnable) = pin_values(VALUES, &l);
        assert!(unpinnable.is_empty());
        let want = VALUES
            .replace("digest: \"\"  # pinned", "digest: \"sha256:new1\"  # pinned")
            .replace("digest: sha256:old", "digest: \"sha256:new2\"");
        assert_eq!(text, want);
        // Already pinned: nothing changes.
        assert_eq!(pin_values(&text, &l).0, text);
        // Unknown images are left alone.
        assert_eq!(pin_values(VALUES, &lock("docker.io/library/other:1", "sha256:x")).0, VALUES);
    }

    #[test]
    fn blocks_without_a_digest_key_are_reported_and_null_digests_written() {
        let l = lock("docker.io/library/busybox:1", "sha256:d");
        let (text, unpinnable) = pin_values("image:\n  repository: busybox\n  tag: \"1\"\n", &l);
        assert_eq!(unpinnable.len(), 1);
        assert_eq!(text, "image:\n  repository: busybox\n  tag: \"1\"\n");
        let (text, _) = pin_values("image:\n  repository: busybox\n  tag: \"1\"\n  digest:\n", &l);
        assert_eq!(text, "image:\n  repository: busybox\n  tag: \"1\"\n  digest: \"sha256:d\"\n");
    }

    #[test]
    fn annotation_digests_are_rewritten_in_place() {
        let chart = "name: x\nannotations:\n  artifacthub.io/images: |\n    - name: bb\n      image: busybox:1.37.0\n    - name: c\n      image: ghcr.io/a/b:v1@sha256:0d\n  other: |\n    image: busybox:1.37.0\n";
        let mut l = lock("docker.io/library/busybox:1.37.0", "sha256:a1");
        l.images.extend(lock("ghcr.io/a/b:v1", "sha256:a2").images);
        let text = pin_annotations(chart, &l);
        assert_eq!(
            text,
            chart
                .replacen("image: busybox:1.37.0\n", "image: busybox:1.37.0@sha256:a1\n", 1)
                .replace("v1@sha256:0d", "v1@sha256:a2")
        );
        assert_eq!(
            annotation_images(&text),
            [
                ("docker.io/library/busybox:1.37.0".to_owned(), Some("sha256:a1".to_owned())),
                ("ghcr.io/a/b:v1".to_owned(), Some("sha256:a2".to_owned()))
            ]
        );
    }

    #[test]
    fn every_image_block_of_the_catalog_is_in_the_lock_and_pins_in_place() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let text = std::fs::read_to_string(root.join(crate::images::lock::FILE_NAME)).unwrap();
        let mut lock = Lock::parse(Path::new("images.lock.yaml"), &text).unwrap();
        // As an online --update would: every entry gets a digest.
        for (i, e) in lock.images.values_mut().enumerate() {
            e.digest = Some(format!("sha256:{i:064x}"));
        }
        let mut blocks = 0;
        for entry in std::fs::read_dir(root.join("charts")).unwrap() {
            let values = entry.unwrap().path().join("values.yaml");
            let Ok(text) = std::fs::read_to_string(&values) else { continue };
            for (block, _) in image_blocks(&text) {
                blocks += 1;
                assert!(
                    lock.images.contains_key(&block.key),
                    "{}: {} is not in the lock",
                    values.display(),
                    block.key
                );
            }
            let (pinned, unpinnable) = pin_values(&text, &lock);
            assert!(unpinnable.is_empty(), "{}: {unpinnable:?}", values.display());
            let changed: Vec<(&str, &str)> =
                text.lines().zip(pinned.lines()).filter(|(a, b)| a != b).collect();
            assert_eq!(text.lines().count(), pinned.lines().count());
            for (old, new) in changed {
                assert!(
                    old.trim_start().starts_with("digest:") && new.contains("\"sha256:0000"),
                    "{old} -> {new}"
                );
            }
        }
        assert!(blocks >= 14, "the charts' image blocks were not found ({blocks})");
    }

    #[test]
    fn writes_only_changes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.yaml");
        assert!(write_if_changed(&p, "a\n").unwrap());
        assert!(!write_if_changed(&p, "a\n").unwrap());
        assert!(write_if_changed(&p, "b\n").unwrap());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "b\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file is left behind");
    }
}
