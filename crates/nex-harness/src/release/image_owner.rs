//! The owner of the images this repository builds, applied at package time.
//!
//! An image under `images/<name>/` is built and pushed by the release workflow
//! as `ghcr.io/<owner>/<name>` (`.github/scripts/publish-catalog-image`), where
//! `<owner>` is the GitHub owner the workflow runs under. In git a chart names
//! it under [`SOURCE_OWNER`]; `cargo xtask package --image-owner OWNER` writes
//! OWNER instead into the archive's values.yaml (`repository: <owner>/<name>`),
//! Chart.yaml (`artifacthub.io/images`) and README.md, as `--url` writes the
//! repository over `file://` dependencies. A digest pinned for the source
//! owner's image names bytes another owner's registry does not hold (each
//! build carries its own provenance), so a chart that pins one is refused for
//! any other owner rather than shipped with a digest that cannot be pulled.
//! Pure text in, text out; the packaging step applies it to archive entries.

use serde_json::Value;

/// The owner the charts name in git (this repository's GitHub organisation).
pub const SOURCE_OWNER: &str = "nex-charts";

/// The registry the release workflow pushes the catalog's images to.
pub const REGISTRY: &str = "ghcr.io";

/// Where the images this repository builds live, under the repository root (`images/<name>/Dockerfile`).
pub const IMAGES_DIR: &str = "images";

/// An owner to write and the image names it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageOwner {
    pub owner: String,
    pub images: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OwnerError {
    #[error(
        "image owner `{0}` is not a GitHub owner name as ghcr.io takes it: 1 to 39 lower-case letters, digits and single hyphens, not starting or ending with one"
    )]
    Invalid(String),
    #[error(
        "{file} pins digest {digest} for {REGISTRY}/{SOURCE_OWNER}/{image}; the image built under {REGISTRY}/{owner}/{image} has its own digest. Clear the digest (the tag is immutable in the release) or pin the one of {owner}'s image"
    )]
    PinnedDigest { file: String, image: String, digest: String, owner: String },
}

/// Checks an owner name (GitHub's rules, lower case as ghcr.io requires).
pub fn validate(owner: &str) -> Result<(), OwnerError> {
    let ok = !owner.is_empty()
        && owner.len() <= 39
        && owner.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !owner.starts_with('-')
        && !owner.ends_with('-')
        && !owner.contains("--");
    if ok { Ok(()) } else { Err(OwnerError::Invalid(owner.to_owned())) }
}

/// The image names under `<root>/images/` (each a folder with a Dockerfile), sorted.
pub fn catalog_images(root: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root.join(IMAGES_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("Dockerfile").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

impl ImageOwner {
    fn applies(&self) -> bool {
        self.owner != SOURCE_OWNER && !self.images.is_empty()
    }

    /// `ghcr.io/nex-charts/<name>` → `ghcr.io/<owner>/<name>` for each image, in any text.
    fn references(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for name in &self.images {
            out = replace_whole(
                &out,
                &format!("{REGISTRY}/{SOURCE_OWNER}/{name}"),
                &format!("{REGISTRY}/{}/{name}", self.owner),
            );
        }
        out
    }

    /// Chart.yaml with the owner written into image references, or `None` when unchanged.
    pub fn chart_yaml(&self, text: &str) -> Result<Option<String>, OwnerError> {
        if !self.applies() {
            return Ok(None);
        }
        for name in &self.images {
            let pinned = format!("{REGISTRY}/{SOURCE_OWNER}/{name}:");
            for line in text.lines().filter(|l| l.contains(&pinned)) {
                if let Some(at) = line.find("@sha256:") {
                    return Err(self.pinned(
                        "Chart.yaml (artifacthub.io/images)",
                        name,
                        line[at + 1..].trim(),
                    ));
                }
            }
        }
        let out = self.references(text);
        Ok((out != text).then_some(out))
    }

    /// README.md with the owner written into image references and values-table defaults.
    pub fn readme(&self, text: &str) -> Option<String> {
        if !self.applies() {
            return None;
        }
        let mut out = self.references(text);
        for name in &self.images {
            out = replace_whole(
                &out,
                &format!("\"{SOURCE_OWNER}/{name}\""),
                &format!("\"{}/{name}\"", self.owner),
            );
        }
        (out != text).then_some(out)
    }

    /// values.yaml with `repository: nex-charts/<name>` lines given the owner, or
    /// `None` when there is none. A digest pinned beside such a repository is refused.
    pub fn values_yaml(&self, text: &str) -> Result<Option<String>, OwnerError> {
        if !self.applies() {
            return Ok(None);
        }
        if let Ok(values) = serde_saphyr::from_str::<Value>(text) {
            let mut problem = None;
            walk(&values, &mut |map| {
                let repo = map.get("repository").and_then(Value::as_str).unwrap_or("");
                let Some(name) = repo.strip_prefix(&format!("{SOURCE_OWNER}/")) else { return };
                let registry = map.get("registry").and_then(Value::as_str).unwrap_or(REGISTRY);
                let digest = map.get("digest").and_then(Value::as_str).unwrap_or("");
                if problem.is_none()
                    && registry == REGISTRY
                    && self.images.iter().any(|i| i == name)
                    && !digest.is_empty()
                {
                    problem = Some(self.pinned("values.yaml", name, digest));
                }
            });
            if let Some(p) = problem {
                return Err(p);
            }
        }
        let mut changed = false;
        let mut out = String::with_capacity(text.len() + 32);
        for line in text.split_inclusive('\n') {
            let body = line.trim_end_matches(['\n', '\r']);
            let eol = &line[body.len()..];
            let indent = body.len() - body.trim_start().len();
            let rest = &body[indent..];
            let value = rest.strip_prefix("repository:").map(|v| v.trim());
            let name = value.and_then(|v| {
                let unquoted = v.trim_matches(['"', '\'']);
                let name = unquoted.strip_prefix(&format!("{SOURCE_OWNER}/"))?;
                self.images.iter().any(|i| i == name).then_some(name)
            });
            match name {
                Some(name) => {
                    out.push_str(&body[..indent]);
                    out.push_str(&format!("repository: {}/{name}", self.owner));
                    out.push_str(eol);
                    changed = true;
                }
                None => out.push_str(line),
            }
        }
        Ok(changed.then_some(out))
    }

    fn pinned(&self, file: &str, image: &str, digest: &str) -> OwnerError {
        OwnerError::PinnedDigest {
            file: file.to_owned(),
            image: image.to_owned(),
            digest: digest.trim_matches(['"', '\'']).to_owned(),
            owner: self.owner.clone(),
        }
    }
}

/// Writes the owner into the chart's own Chart.yaml, values.yaml and README.md
/// entries (not its subcharts'). Returns whether anything changed.
pub fn rewrite_entries(
    entries: &mut [super::archive::Entry],
    owner: &ImageOwner,
) -> Result<bool, OwnerError> {
    let mut changed = false;
    for e in entries.iter_mut().filter(|e| e.path.matches('/').count() == 1) {
        let file = e.path.rsplit('/').next().unwrap_or("");
        let text = String::from_utf8_lossy(&e.data).into_owned();
        let new = match file {
            "Chart.yaml" => owner.chart_yaml(&text)?,
            "values.yaml" => owner.values_yaml(&text)?,
            "README.md" => owner.readme(&text),
            _ => None,
        };
        if let Some(new) = new {
            e.data = new.into_bytes();
            changed = true;
        }
    }
    Ok(changed)
}

/// Every map in a JSON tree.
fn walk(v: &Value, f: &mut dyn FnMut(&serde_json::Map<String, Value>)) {
    match v {
        Value::Object(m) => {
            f(m);
            m.values().for_each(|x| walk(x, f));
        }
        Value::Array(items) => items.iter().for_each(|x| walk(x, f)),
        _ => {}
    }
}

/// `from` replaced where it is not part of a longer name (`…/yaldap-extra` stays).
fn replace_whole(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(from) {
        let after = rest[i + from.len()..].chars().next();
        let before = rest[..i].chars().next_back();
        let name_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
        let whole = after.is_none_or(|c| !name_char(c)) && before.is_none_or(|c| !name_char(c) && c != '/');
        out.push_str(&rest[..i]);
        out.push_str(if whole { to } else { from });
        rest = &rest[i + from.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(o: &str) -> ImageOwner {
        ImageOwner { owner: o.into(), images: vec!["yaldap".into()] }
    }

    #[test]
    fn owners_are_validated() {
        for ok in ["acme", "a", "my-org", "x1-2y"] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
        for bad in ["", "Acme", "-acme", "acme-", "a--b", "a/b", "a.b", &"a".repeat(40)] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_repository_lines_take_the_owner_and_nothing_else() {
        let text = "image:\n  registry: ghcr.io\n  # the catalog's nex-charts/yaldap\n  repository: nex-charts/yaldap\n  tag: \"v0.2.0\"\n  digest: \"\"\ntests:\n  image:\n    repository: busybox\nother:\n  repository: \"nex-charts/yaldap-other\"\n";
        let out = owner("acme").values_yaml(text).unwrap().expect("changed");
        assert!(out.contains("  repository: acme/yaldap\n"), "{out}");
        assert!(out.contains("# the catalog's nex-charts/yaldap"), "comments stay: {out}");
        assert!(out.contains("repository: \"nex-charts/yaldap-other\""), "another image stays: {out}");
        assert_eq!(owner(SOURCE_OWNER).values_yaml(text).unwrap(), None);
        assert_eq!(owner("acme").values_yaml("image:\n  repository: busybox\n").unwrap(), None);
    }

    #[test]
    fn a_pinned_digest_of_the_source_owner_is_refused_for_another() {
        let text = "image:\n  registry: ghcr.io\n  repository: nex-charts/yaldap\n  tag: v0.2.0\n  digest: \"sha256:abc\"\n";
        let err = owner("acme").values_yaml(text).unwrap_err().to_string();
        assert!(err.contains("sha256:abc") && err.contains("ghcr.io/acme/yaldap"), "{err}");
        assert_eq!(owner(SOURCE_OWNER).values_yaml(text).unwrap(), None);
        let chart = "annotations:\n  artifacthub.io/images: |\n    - name: yaldap\n      image: ghcr.io/nex-charts/yaldap:v0.2.0@sha256:abc\n";
        assert!(owner("acme").chart_yaml(chart).is_err());
    }

    #[test]
    fn references_and_readme_defaults_take_the_owner() {
        let chart = "# renovate: image=ghcr.io/nex-charts/yaldap\nannotations:\n  artifacthub.io/images: |\n    - name: yaldap\n      image: ghcr.io/nex-charts/yaldap:v0.2.0\n";
        let out = owner("acme").chart_yaml(chart).unwrap().unwrap();
        assert!(out.contains("image: ghcr.io/acme/yaldap:v0.2.0") && !out.contains("nex-charts"), "{out}");
        let readme = "helm install yaldap nex-charts/yaldap\n| `image.repository` | string | `\"nex-charts/yaldap\"` |\n`ghcr.io/nex-charts/yaldap:v0.2.0`, github.com/nex-charts/nex-charts\n";
        let out = owner("acme").readme(readme).unwrap();
        assert!(out.contains("helm install yaldap nex-charts/yaldap\n"), "the repository alias stays: {out}");
        assert!(out.contains("`\"acme/yaldap\"`") && out.contains("`ghcr.io/acme/yaldap:v0.2.0`"), "{out}");
        assert!(out.contains("github.com/nex-charts/nex-charts"), "{out}");
    }
}
