//! Image references as a container runtime reads them: `[REGISTRY/]REPOSITORY[:TAG][@DIGEST]`,
//! with Docker Hub's defaults (`docker.io`, `library/` for one-word names). Pure.

use std::fmt;

/// Docker Hub's name in references, and the host its distribution API is served from.
pub const DOCKER_HUB: &str = "docker.io";
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    /// `docker.io`, `ghcr.io`, `127.0.0.1:5000` (lower-cased, Hub aliases folded).
    pub registry: String,
    /// `library/busybox`, `authelia/authelia`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:…`
    pub digest: Option<String>,
}

/// The digest algorithms the OCI image spec registers, with the length of
/// their lowercase hex (image-spec v1.1.1, `descriptor.md`, "Registered
/// algorithms"): the only ones content is verified against, here or by a
/// registry. Anything else (`md5:0`) pins nothing anyone checks.
pub const VERIFIED_DIGESTS: &[(&str, usize)] = &[("sha256", 64), ("sha512", 128)];

/// Why a digest cannot pin an image, if it cannot: an algorithm nobody
/// verifies, or hex of the wrong length or case.
pub fn digest_problem(digest: &str) -> Option<String> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Some(format!("{digest:?} is not ALGORITHM:HEX"));
    };
    match VERIFIED_DIGESTS.iter().find(|(a, _)| *a == algorithm) {
        None => Some(format!(
            "{algorithm:?} digests are verified by nobody (the OCI image spec registers sha256 and sha512)"
        )),
        Some((_, len))
            if hex.len() != *len || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Some(format!("a {algorithm} digest is {len} lowercase hex digits, not {:?}", hex))
        }
        Some(_) => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reference:?} is not an image reference: {why}")]
pub struct RefError {
    pub reference: String,
    pub why: &'static str,
}

impl ImageRef {
    pub fn parse(reference: &str) -> Result<Self, RefError> {
        let err = |why| RefError { reference: reference.to_owned(), why };
        let s = reference.trim();
        if s.is_empty() || s.contains(char::is_whitespace) {
            return Err(err("empty or holding spaces"));
        }
        let (name, digest) = match s.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (s, None),
        };
        if let Some(d) = digest {
            let ok = d.split_once(':').is_some_and(|(alg, hex)| {
                !alg.is_empty() && !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit())
            });
            if !ok {
                return Err(err("the digest is not ALGORITHM:HEX"));
            }
        }
        // The tag is after the last ':' of the last path component (a registry port has a '/' after it).
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (path, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
            None => (name, None),
        };
        if tag.is_some_and(str::is_empty) {
            return Err(err("the tag after ':' is empty"));
        }
        let (registry, repository) = match path.split_once('/') {
            // Like docker: a first component with a dot or a port, or `localhost`, is a registry.
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_ascii_lowercase(), rest.to_owned())
            }
            _ => (DOCKER_HUB.to_owned(), path.to_owned()),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => DOCKER_HUB.to_owned(),
            _ => registry,
        };
        if repository.is_empty()
            || repository.split('/').any(str::is_empty)
            || !repository
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b))
        {
            return Err(err("the repository must be lower-case path components"));
        }
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        Ok(Self { registry, repository, tag: tag.map(str::to_owned), digest: digest.map(str::to_owned) })
    }

    /// The lock key: `registry/repository:tag` in full (no digest), so two spellings
    /// of one image (`busybox:1.37.0`, `docker.io/library/busybox:1.37.0`) share an entry.
    pub fn key(&self) -> String {
        match &self.tag {
            Some(t) => format!("{}/{}:{t}", self.registry, self.repository),
            None => format!("{}/{}", self.registry, self.repository),
        }
    }

    /// Host of the distribution API (`docker.io` is served from `registry-1.docker.io`).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB { DOCKER_HUB_API } else { &self.registry }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.key())?;
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        ImageRef::parse(s).unwrap().key()
    }

    #[test]
    fn docker_hub_defaults_and_aliases() {
        assert_eq!(key("busybox:1.37.0"), "docker.io/library/busybox:1.37.0");
        assert_eq!(key("docker.io/library/busybox:1.37.0"), "docker.io/library/busybox:1.37.0");
        assert_eq!(key("index.docker.io/busybox:1.37.0"), "docker.io/library/busybox:1.37.0");
        assert_eq!(key("traefik/whoami:v1.11.0@sha256:2006"), "docker.io/traefik/whoami:v1.11.0");
        assert_eq!(ImageRef::parse("busybox:1").unwrap().api_host(), "registry-1.docker.io");
    }

    #[test]
    fn registries_ports_tags_and_digests() {
        let r = ImageRef::parse("127.0.0.1:5000/team/app:1.0@sha256:abcd").unwrap();
        assert_eq!((r.registry.as_str(), r.repository.as_str()), ("127.0.0.1:5000", "team/app"));
        assert_eq!((r.tag.as_deref(), r.digest.as_deref()), (Some("1.0"), Some("sha256:abcd")));
        assert_eq!(r.api_host(), "127.0.0.1:5000");
        let r = ImageRef::parse("localhost/app").unwrap();
        assert_eq!((r.registry.as_str(), r.tag.as_deref()), ("localhost", None));
        assert_eq!(key("ghcr.io/authelia/authelia:4.39.20"), "ghcr.io/authelia/authelia:4.39.20");
        assert_eq!(key("oci.chezmoi.sh/security/yaldap:v0.2.0"), "oci.chezmoi.sh/security/yaldap:v0.2.0");
    }

    #[test]
    fn only_registered_digests_of_the_right_length_pin() {
        assert_eq!(digest_problem(&format!("sha256:{}", "0a".repeat(32))), None);
        assert_eq!(digest_problem(&format!("sha512:{}", "f".repeat(128))), None);
        for (bad, why) in [
            ("md5:0", "verified by nobody"),
            ("sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709", "verified by nobody"),
            ("sha256:0", "64 lowercase hex digits"),
            (&format!("sha256:{}", "A".repeat(64)), "64 lowercase hex digits"),
            (&format!("sha512:{}", "0".repeat(64)), "128 lowercase hex digits"),
            ("sha256", "not ALGORITHM:HEX"),
        ] {
            let problem = digest_problem(bad).unwrap_or_default();
            assert!(problem.contains(why), "{bad}: {problem}");
        }
    }

    #[test]
    fn malformed_references_are_refused() {
        for bad in ["", "a b", "app:", "Upper/app:1", "app@sha256", "app@sha256:xyz", "ghcr.io//app:1"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
    }
}
