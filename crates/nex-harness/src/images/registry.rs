//! Adapter: the OCI distribution API, read-only. Resolves a tag to its digest
//! and reads each platform's image config, without pulling a layer (a manifest
//! and a config blob are small JSON documents).
//!
//! Authentication as registries do it: an anonymous request answered `401` with
//! `WWW-Authenticate: Bearer realm=…,service=…,scope=…` is retried with a token
//! from the realm (ghcr.io, Docker Hub, quay.io, the CNCF distribution server
//! with token auth); `Basic` challenges are answered with credentials. Credentials
//! come from the `auths` of `$DOCKER_CONFIG/config.json` (default
//! `~/.docker/config.json`) when it names the registry; credential helpers are not run.

use super::lock::{self, Facts};
use super::reference::{DOCKER_HUB, DOCKER_HUB_API, ImageRef};
use base64::Engine;
use sha2::{Digest, Sha256, Sha512};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const INDEX_TYPES: &[&str] =
    &["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];
const MANIFEST_TYPES: &[&str] =
    &["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];
/// Manifests and config blobs are small JSON documents; a bigger answer is not one.
pub const MAX_BODY_BYTES: u64 = 8 << 20;
/// Connecting to a registry (or its token service), TLS included.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One read of an answer waiting this long: the connection has stalled.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);
/// One request, answer body included: a reply trickling one byte a second ends here.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Every lookup of one run together; past it, the run cannot conclude.
pub const RUN_DEADLINE: Duration = Duration::from_secs(600);
/// Entries of one image index read: an index is one manifest per platform (and
/// attestations); one of 20 000 entries would mean 40 000 requests.
pub const MAX_INDEX_ENTRIES: usize = 64;
/// Redirects followed for one request (each to another host without credentials).
pub const MAX_REDIRECTS: usize = 5;

/// Token services known to serve a registry from another host, whose
/// credentials they are given: Docker Hub's (its registry's 401 names
/// `https://auth.docker.io/token`: distribution/distribution,
/// `docs/content/spec/auth/token.md`). Any other realm off the registry's
/// server gets an anonymous token request.
const TOKEN_SERVICES: &[(&str, &str)] = &[(DOCKER_HUB_API, "auth.docker.io")];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot reach the registry {host}: {message}")]
    Unreachable { host: String, message: String },
    #[error("{reference}: the registry has no such tag or repository ({message})")]
    NotFound { reference: String, message: String },
    #[error("{reference}: the registry refused access ({message})")]
    Denied { reference: String, message: String },
    /// The tag names something, but not a container image (a schema 1 manifest, an artifact).
    #[error("{reference}: not an image: {message}")]
    NotAnImage { reference: String, message: String },
    /// An answer that cannot be used: not JSON, content that does not match its
    /// digest, a digest nobody verifies, an index too large, a redirect loop.
    #[error("{reference}: unusable answer from the registry: {message}")]
    Protocol { reference: String, message: String },
}

/// A tag as the registry serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Digest of what the tag points at (the index, for a multi-platform image).
    pub digest: String,
    /// Each platform (once) and its image config's facts, sorted by platform.
    pub platforms: Vec<(String, Facts)>,
}

/// The client's bounds ([`Limits::default`] holds the constants above; tests shorten them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub connect: Duration,
    pub read: Duration,
    pub request: Duration,
    pub run: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { connect: CONNECT_TIMEOUT, read: READ_TIMEOUT, request: REQUEST_TIMEOUT, run: RUN_DEADLINE }
    }
}

pub struct Client {
    agent: ureq::Agent,
    /// `HOST:PORT`s spoken to over plain HTTP.
    insecure: Vec<String>,
    auths: HashMap<String, String>,
    /// Bearer tokens by host and scope.
    tokens: HashMap<(String, String), String>,
    limits: Limits,
    deadline: Instant,
    /// Requests sent (redirects and token requests included).
    pub requests: usize,
}

struct Answer {
    status: u16,
    content_type: String,
    challenge: Option<String>,
    body: Vec<u8>,
}

/// A URL's scheme, host (lower-case, no brackets) and port (the scheme's default when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    fn of(url: &str) -> Option<Self> {
        let uri: ureq::http::Uri = url.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let host = uri.host()?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let port = uri.port_u16().or(match scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        })?;
        Some(Self { scheme, host, port })
    }

    fn loopback(&self) -> bool {
        self.host == "localhost" || self.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    fn same_server(&self, other: &Origin) -> bool {
        self.host == other.host && self.port == other.port
    }
}

/// Whether the Docker config's password for the registry at `registry` may go
/// to `to`: only to the registry itself or its known token service, and in
/// clear (plain HTTP) only to a loopback address.
fn may_carry_password(registry: &Origin, to: &Origin) -> bool {
    let trusted = registry.same_server(to)
        || TOKEN_SERVICES.iter().any(|(r, t)| registry.host == *r && to.host == *t && to.scheme == "https");
    trusted && (to.scheme == "https" || to.loopback())
}

impl Client {
    pub fn new(insecure: &[String]) -> Self {
        Self::with_limits(insecure, Limits::default())
    }

    pub fn with_limits(insecure: &[String], limits: Limits) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Redirects are followed here, so credentials never follow one to another host.
            .max_redirects(0)
            .timeout_connect(Some(limits.connect))
            .timeout_per_read(Some(limits.read))
            .timeout_global(Some(limits.request))
            .user_agent(concat!("nex-harness/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self {
            agent,
            insecure: insecure.to_vec(),
            auths: docker_auths(),
            tokens: HashMap::new(),
            limits,
            deadline: Instant::now() + limits.run,
            requests: 0,
        }
    }

    /// A client with no credentials: what an anonymous `helm pull` or `docker pull` sees.
    pub fn anonymous(insecure: &[String]) -> Self {
        Self { auths: HashMap::new(), ..Self::new(insecure) }
    }

    /// The repository's tags (`GET /v2/<name>/tags/list`): readable means it can be pulled.
    pub fn tags(&mut self, image: &ImageRef) -> Result<Vec<String>, RegistryError> {
        let reference = format!("{}/{}", image.registry, image.repository);
        let answer = self.get(image, "tags/list", "application/json", &reference)?;
        let doc = json(&answer.body, &reference)?;
        Ok(doc
            .get("tags")
            .and_then(|t| t.as_array())
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect())
    }

    pub fn resolve(&mut self, image: &ImageRef) -> Result<Resolved, RegistryError> {
        let reference = image.to_string();
        let tag = image.digest.clone().or_else(|| image.tag.clone()).unwrap_or_else(|| "latest".into());
        let all: Vec<&str> = INDEX_TYPES.iter().chain(MANIFEST_TYPES).copied().collect();
        let top = self.get(image, &format!("manifests/{tag}"), &all.join(", "), &reference)?;
        if let Some(d) = &image.digest {
            check_digest(d, &top.body, &reference)?;
        }
        let digest = sha256(&top.body);
        let doc = json(&top.body, &reference)?;
        let media = doc.get("mediaType").and_then(|m| m.as_str()).unwrap_or(&top.content_type).to_owned();
        let mut platforms = Vec::new();
        if INDEX_TYPES.contains(&media.as_str()) || doc.get("manifests").is_some() {
            let entries = doc.get("manifests").and_then(|m| m.as_array()).map(Vec::as_slice).unwrap_or(&[]);
            if entries.len() > MAX_INDEX_ENTRIES {
                return Err(protocol(
                    &reference,
                    &format!("an index of {} entries; at most {MAX_INDEX_ENTRIES} are read", entries.len()),
                ));
            }
            let mut seen = BTreeSet::new();
            for m in entries {
                // Attestations and other non-images are listed with an `unknown` platform.
                let Some(platform) = m.get("platform").and_then(lock::platform_of) else { continue };
                if platform.starts_with("unknown/") || !seen.insert(platform.clone()) {
                    continue;
                }
                let Some(d) = m.get("digest").and_then(|d| d.as_str()) else {
                    return Err(protocol(&reference, "an index entry without a digest"));
                };
                verifiable(d, &reference)?;
                let manifest =
                    self.get(image, &format!("manifests/{d}"), &MANIFEST_TYPES.join(", "), &reference)?;
                check_digest(d, &manifest.body, &reference)?;
                let (_, facts) = self.config(image, &json(&manifest.body, &reference)?, &reference)?;
                platforms.push((platform, facts));
            }
        } else if MANIFEST_TYPES.contains(&media.as_str()) || doc.get("config").is_some() {
            let (config, facts) = self.config(image, &doc, &reference)?;
            let platform = lock::platform_of(&config).unwrap_or_else(|| "unknown".into());
            platforms.push((platform, facts));
        } else {
            return Err(RegistryError::NotAnImage {
                reference,
                message: format!("a manifest of type {media:?} (schema 1 or not an image)"),
            });
        }
        platforms.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Resolved { digest, platforms })
    }

    /// A manifest's config blob, parsed, and its facts.
    fn config(
        &mut self,
        image: &ImageRef,
        manifest: &serde_json::Value,
        reference: &str,
    ) -> Result<(serde_json::Value, Facts), RegistryError> {
        let Some(d) = manifest.pointer("/config/digest").and_then(|d| d.as_str()) else {
            return Err(protocol(reference, "a manifest without a config digest"));
        };
        verifiable(d, reference)?;
        let blob = self.get(image, &format!("blobs/{d}"), "*/*", reference)?;
        check_digest(d, &blob.body, reference)?;
        let config = json(&blob.body, reference)?;
        let facts = lock::facts_of_config(&config);
        Ok((config, facts))
    }

    fn base(&self, image: &ImageRef) -> String {
        let host = image.api_host();
        let scheme = if self.insecure.iter().any(|h| h == host) { "http" } else { "https" };
        format!("{scheme}://{host}/v2/{}/", image.repository)
    }

    /// GET below `/v2/<repository>/`, authenticating when challenged.
    fn get(
        &mut self,
        image: &ImageRef,
        path: &str,
        accept: &str,
        reference: &str,
    ) -> Result<Answer, RegistryError> {
        let url = format!("{}{path}", self.base(image));
        let host = image.api_host().to_owned();
        let default_scope = format!("repository:{}:pull", image.repository);
        let cached = self.cached_auth(&host, &default_scope);
        let mut answer = self.send(&url, accept, cached, reference)?;
        if answer.status == 401 {
            let challenge = answer.challenge.clone().unwrap_or_default();
            let auth = self.answer_challenge(image, &challenge, &default_scope, reference)?;
            answer = self.send(&url, accept, Some(auth), reference)?;
        }
        match answer.status {
            200..=299 => Ok(answer),
            404 => Err(RegistryError::NotFound {
                reference: reference.to_owned(),
                message: brief(&answer.body, 404),
            }),
            // Rate limits and server errors say nothing about the image: like a
            // registry that is down, the run cannot conclude.
            429 | 500..=599 => {
                Err(RegistryError::Unreachable { host, message: brief(&answer.body, answer.status) })
            }
            401 | 403 => Err(RegistryError::Denied {
                reference: reference.to_owned(),
                message: brief(&answer.body, answer.status),
            }),
            s => Err(protocol(reference, &format!("{url}: {}", brief(&answer.body, s)))),
        }
    }

    fn cached_auth(&self, host: &str, scope: &str) -> Option<String> {
        self.tokens.get(&(host.to_owned(), scope.to_owned())).map(|t| format!("Bearer {t}"))
    }

    /// One GET, redirects followed here: to another server (or from HTTPS to
    /// HTTP) without the `Authorization` header. Every request is bounded by
    /// [`Limits::request`] and by what is left of the run's deadline.
    fn send(
        &mut self,
        url: &str,
        accept: &str,
        auth: Option<String>,
        reference: &str,
    ) -> Result<Answer, RegistryError> {
        let mut url = url.to_owned();
        let mut auth = auth;
        for _ in 0..=MAX_REDIRECTS {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RegistryError::Unreachable {
                    host: host_of(&url),
                    message: format!(
                        "the registry lookups of this run took longer than {} s and were stopped",
                        self.limits.run.as_secs()
                    ),
                });
            }
            self.requests += 1;
            let mut req = self
                .agent
                .get(&url)
                .config()
                .timeout_global(Some(self.limits.request.min(left)))
                .build()
                .header("Accept", accept);
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            let mut resp = req.call().map_err(|e| failure(&url, reference, e, &self.limits))?;
            let header =
                |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let status = resp.status().as_u16();
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                let Some(location) = header("location") else {
                    return Err(protocol(
                        reference,
                        &format!("{url}: a redirect ({status}) without a location"),
                    ));
                };
                let next = join(&url, &location)
                    .ok_or_else(|| protocol(reference, &format!("{url}: a redirect to {location:?}")))?;
                let (from, to) = (Origin::of(&url), Origin::of(&next));
                let same = matches!((&from, &to), (Some(f), Some(t)) if f.same_server(t) && (f.scheme == t.scheme || t.scheme == "https"));
                if !same {
                    auth = None;
                }
                url = next;
                continue;
            }
            let content_type = header("content-type").unwrap_or_default();
            let challenge = header("www-authenticate");
            let body = resp
                .body_mut()
                .with_config()
                .limit(MAX_BODY_BYTES)
                .read_to_vec()
                .map_err(|e| failure(&url, reference, e, &self.limits))?;
            return Ok(Answer { status, content_type, challenge, body });
        }
        Err(protocol(reference, &format!("more than {MAX_REDIRECTS} redirects, the last to {url}")))
    }

    /// The `Authorization` value a `401` challenge asks for.
    fn answer_challenge(
        &mut self,
        image: &ImageRef,
        challenge: &str,
        default_scope: &str,
        reference: &str,
    ) -> Result<String, RegistryError> {
        let host = image.api_host().to_owned();
        let registry = Origin::of(&self.base(image));
        let basic = self.basic(image);
        let (scheme, params) = parse_challenge(challenge);
        if scheme.eq_ignore_ascii_case("basic") {
            let Some(b) = basic else {
                return Err(RegistryError::Denied {
                    reference: reference.to_owned(),
                    message: format!(
                        "{host} asks for credentials; add them to ~/.docker/config.json (`auths`)"
                    ),
                });
            };
            return match &registry {
                Some(r) if may_carry_password(r, r) => Ok(format!("Basic {b}")),
                _ => Err(RegistryError::Denied {
                    reference: reference.to_owned(),
                    message: format!(
                        "{host} asks for the password over plain HTTP; it is sent in clear only to a loopback address"
                    ),
                }),
            };
        }
        let Some(realm) = params.get("realm").filter(|_| scheme.eq_ignore_ascii_case("bearer")) else {
            return Err(protocol(reference, &format!("401 with an unusable challenge {challenge:?}")));
        };
        let scope = params.get("scope").cloned().unwrap_or_else(|| default_scope.to_owned());
        let mut query = vec![format!("scope={}", encode(&scope))];
        if let Some(service) = params.get("service") {
            query.insert(0, format!("service={}", encode(service)));
        }
        let sep = if realm.contains('?') { '&' } else { '?' };
        let url = format!("{realm}{sep}{}", query.join("&"));
        // The password goes to the realm only when it is the registry's own server
        // (or its known token service), and in clear only to a loopback address.
        let to = Origin::of(&url).ok_or_else(|| protocol(reference, &format!("a token realm {realm:?}")))?;
        let withheld = basic.is_some() && !registry.as_ref().is_some_and(|r| may_carry_password(r, &to));
        let credentials = basic.filter(|_| !withheld).map(|b| format!("Basic {b}"));
        let answer = self.send(&url, "application/json", credentials, reference)?;
        if !(200..300).contains(&answer.status) {
            let why = if withheld {
                format!(
                    "; the Docker config's password for {host} was not sent to it (another host, or plain HTTP to a non-loopback host)"
                )
            } else {
                String::new()
            };
            return Err(RegistryError::Denied {
                reference: reference.to_owned(),
                message: format!(
                    "the token service {realm} answered {}{why}",
                    brief(&answer.body, answer.status)
                ),
            });
        }
        let doc = json(&answer.body, reference)?;
        let token = doc
            .get("token")
            .or_else(|| doc.get("access_token"))
            .and_then(|t| t.as_str())
            .ok_or_else(|| protocol(reference, &format!("the token service {realm} gave no token")))?
            .to_owned();
        self.tokens.insert((host.clone(), default_scope.to_owned()), token.clone());
        Ok(format!("Bearer {token}"))
    }

    /// base64 `user:password` for the image's registry, from the Docker config.
    fn basic(&self, image: &ImageRef) -> Option<String> {
        let host = image.registry.as_str();
        let mut keys = vec![host.to_owned(), format!("https://{host}"), format!("http://{host}")];
        if host == DOCKER_HUB {
            keys.extend(
                ["https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io"].map(String::from),
            );
        }
        keys.iter().find_map(|k| self.auths.get(k).cloned())
    }
}

/// `location` read against `base` (absolute, or a path on the same server).
fn join(base: &str, location: &str) -> Option<String> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return Some(location.to_owned());
    }
    let o = Origin::of(base)?;
    let host = if o.host.contains(':') { format!("[{}]", o.host) } else { o.host.clone() };
    if location.starts_with("//") {
        return Some(format!("{}:{location}", o.scheme));
    }
    if location.starts_with('/') {
        return Some(format!("{}://{host}:{}{location}", o.scheme, o.port));
    }
    None
}

/// `auths` of the Docker config: registry → base64 `user:password`.
fn docker_auths() -> HashMap<String, String> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")));
    let Some(text) = dir
        .and_then(|d| crate::fsio::read_text(&d.join("config.json"), crate::fsio::limit::SETTINGS_FILE).ok())
    else {
        return HashMap::new();
    };
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else { return HashMap::new() };
    let mut out = HashMap::new();
    for (k, v) in doc.get("auths").and_then(|a| a.as_object()).into_iter().flatten() {
        let auth = v.get("auth").and_then(|a| a.as_str()).map(str::to_owned).or_else(|| {
            let u = v.get("username")?.as_str()?;
            let p = v.get("password")?.as_str()?;
            Some(base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}")))
        });
        if let Some(a) = auth.filter(|a| !a.is_empty()) {
            out.insert(k.trim_end_matches('/').to_owned(), a.clone());
            out.insert(k.clone(), a);
        }
    }
    out
}

/// `Bearer realm="…",service="…"` → ("Bearer", {realm, service}).
pub fn parse_challenge(header: &str) -> (String, HashMap<String, String>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        params.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    (scheme.to_owned(), params)
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// A digest the registry names is requested only when its content can be
/// verified: a registered algorithm, in its form (never a path, nor `md5:0`).
fn verifiable(digest: &str, reference: &str) -> Result<(), RegistryError> {
    match super::reference::digest_problem(digest) {
        Some(why) => Err(protocol(reference, &format!("digest {digest:?}: {why}"))),
        None => Ok(()),
    }
}

/// The content matches its digest; nothing is taken on trust.
fn check_digest(expected: &str, body: &[u8], reference: &str) -> Result<(), RegistryError> {
    verifiable(expected, reference)?;
    let actual = match expected.split_once(':') {
        Some(("sha512", _)) => format!("sha512:{:x}", Sha512::digest(body)),
        _ => sha256(body),
    };
    if actual != expected {
        return Err(protocol(
            reference,
            &format!("the content served for {expected} does not match its digest"),
        ));
    }
    Ok(())
}

fn json(body: &[u8], reference: &str) -> Result<serde_json::Value, RegistryError> {
    serde_json::from_slice(body).map_err(|e| protocol(reference, &format!("not JSON: {e}")))
}

fn protocol(reference: &str, message: &str) -> RegistryError {
    RegistryError::Protocol { reference: reference.to_owned(), message: message.to_owned() }
}

fn host_of(url: &str) -> String {
    url.split("://").nth(1).and_then(|r| r.split('/').next()).unwrap_or(url).to_owned()
}

/// A failed exchange: an answer too big is unusable; anything else (refused,
/// timed out, cut) means the registry could not be heard.
fn failure(url: &str, reference: &str, e: ureq::Error, limits: &Limits) -> RegistryError {
    match e {
        ureq::Error::BodyExceedsLimit(_) => {
            protocol(reference, &format!("{url}: an answer over {MAX_BODY_BYTES} bytes"))
        }
        ureq::Error::Timeout(kind) => RegistryError::Unreachable {
            host: host_of(url),
            message: format!(
                "no complete answer in time ({kind:?}; a request may take {} s, a read may wait {} s)",
                limits.request.as_secs(),
                limits.read.as_secs()
            ),
        },
        e => RegistryError::Unreachable { host: host_of(url), message: e.to_string() },
    }
}

/// The status and the start of an error body (registries explain in JSON).
fn brief(body: &[u8], status: u16) -> String {
    let text = String::from_utf8_lossy(body);
    let text: String = text.trim().chars().take(200).collect();
    if text.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {text}") }
}

/// Today (UTC) as `YYYY-MM-DD`, for `registry` sources.
pub fn today() -> String {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    crate::dates::civil(secs / 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_as_registries_send_them() {
        let (s, p) = parse_challenge(
            r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(s, "Bearer");
        assert_eq!(p["realm"], "https://ghcr.io/token");
        assert_eq!(p["service"], "ghcr.io");
        assert_eq!(p["scope"], "repository:a/b:pull,push");
        let (s, p) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!((s.as_str(), p["realm"].as_str()), ("Basic", "Registry Realm"));
    }

    /// Serves each connection one canned HTTP answer.
    fn serve(answer: &'static str) -> u16 {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(answer.as_bytes());
            }
        });
        port
    }

    fn image(port: u16) -> ImageRef {
        ImageRef::parse(&format!("127.0.0.1:{port}/team/app:1")).unwrap()
    }

    #[test]
    fn rate_limits_and_server_errors_are_unreachable_not_findings() {
        let port = serve("HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        let mut c = Client::new(&[format!("127.0.0.1:{port}")]);
        let e = c.resolve(&image(port)).unwrap_err();
        assert!(matches!(&e, RegistryError::Unreachable { message, .. } if message.contains("429")), "{e}");
        let port = serve("HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        let mut c = Client::new(&[format!("127.0.0.1:{port}")]);
        assert!(matches!(c.resolve(&image(port)), Err(RegistryError::NotFound { .. })));
    }

    #[test]
    fn a_manifest_that_is_not_an_image_is_named_so_and_garbage_is_unusable() {
        let port = serve(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\nConnection: close\r\n\r\n{\"schema\": 1}",
        );
        let mut c = Client::new(&[format!("127.0.0.1:{port}")]);
        assert!(matches!(c.resolve(&image(port)), Err(RegistryError::NotAnImage { .. })));
        let port = serve(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 15\r\nConnection: close\r\n\r\n<html>hi</html>",
        );
        let mut c = Client::new(&[format!("127.0.0.1:{port}")]);
        let e = c.resolve(&image(port)).unwrap_err();
        assert!(matches!(&e, RegistryError::Protocol { message, .. } if message.contains("not JSON")), "{e}");
    }

    // ---------------------------------------------------------------- bounds

    type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, Option<String>)>>>;

    /// A loopback server on `ip`: records each request's target and
    /// `Authorization`, and answers it with `reply(target, its own port)`.
    fn server(ip: &str, reply: impl Fn(&str, u16) -> Vec<u8> + Send + Sync + 'static) -> (u16, Seen) {
        use std::io::{BufRead, Write};
        let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Seen = Default::default();
        let (log, reply) = (seen.clone(), std::sync::Arc::new(reply));
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                let mut reader = std::io::BufReader::new(s.try_clone().unwrap());
                let mut head = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push(line.trim_end().to_owned());
                }
                let target = head.first().and_then(|l| l.split(' ').nth(1)).unwrap_or("/").to_owned();
                let auth = head.iter().find_map(|h| {
                    h.split_once(':')
                        .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                        .map(|(_, v)| v.trim().to_owned())
                });
                log.lock().unwrap().push((target.clone(), auth));
                let _ = s.write_all(&reply(&target, port));
            }
        });
        (port, seen)
    }

    fn ok(content_type: &str, body: &[u8]) -> Vec<u8> {
        let mut r = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    }

    fn status(line: &str, headers: &str) -> Vec<u8> {
        format!("HTTP/1.1 {line}\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n").into_bytes()
    }

    /// An image's documents: (index, every manifest and config by digest).
    fn documents(platforms: &[&str]) -> (Vec<u8>, HashMap<String, Vec<u8>>) {
        let mut blobs = HashMap::new();
        let mut entries = Vec::new();
        for p in platforms {
            let (os, arch) = p.split_once('/').unwrap();
            let config =
                serde_json::json!({"os": os, "architecture": arch, "config": {"User": "65532"}}).to_string();
            let config_digest = sha256(config.as_bytes());
            blobs.insert(config_digest.clone(), config.into_bytes());
            let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": MANIFEST_TYPES[0],
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": 1},
                "layers": []})
            .to_string();
            let digest = sha256(manifest.as_bytes());
            blobs.insert(digest.clone(), manifest.into_bytes());
            entries.push(serde_json::json!({"mediaType": MANIFEST_TYPES[0], "digest": digest, "size": 1,
                "platform": {"os": os, "architecture": arch}}));
        }
        let index =
            serde_json::json!({"schemaVersion": 2, "mediaType": INDEX_TYPES[0], "manifests": entries});
        (index.to_string().into_bytes(), blobs)
    }

    /// A registry serving `index` for tag 1 and `blobs` by digest, anonymously.
    fn registry(index: Vec<u8>, blobs: HashMap<String, Vec<u8>>) -> (u16, Seen) {
        server("127.0.0.1", move |target, _| {
            let key = target.rsplit('/').next().unwrap_or("");
            if target.ends_with("/manifests/1") {
                ok(INDEX_TYPES[0], &index)
            } else if let Some(b) = blobs.get(key) {
                ok("application/json", b)
            } else {
                status("404 Not Found", "")
            }
        })
    }

    fn quick() -> Limits {
        Limits {
            connect: Duration::from_secs(5),
            read: Duration::from_secs(5),
            request: Duration::from_secs(2),
            run: Duration::from_secs(120),
        }
    }

    #[test]
    fn an_index_is_read_once_per_platform_and_within_the_entry_cap() {
        let (index, blobs) = documents(&["linux/amd64", "linux/arm64"]);
        let (port, seen) = registry(index.clone(), blobs.clone());
        let mut c = Client::with_limits(&[format!("127.0.0.1:{port}")], quick());
        let r = c.resolve(&image(port)).unwrap();
        assert_eq!(
            r.platforms.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
            ["linux/amd64", "linux/arm64"]
        );
        assert_eq!(seen.lock().unwrap().len(), 5, "index, 2 manifests, 2 configs");

        // The same platform listed twice is recorded (and fetched) once.
        let mut doc: serde_json::Value = serde_json::from_slice(&index).unwrap();
        let first = doc["manifests"][0].clone();
        doc["manifests"].as_array_mut().unwrap().push(first);
        let (port, seen) = registry(doc.to_string().into_bytes(), blobs.clone());
        let mut c = Client::with_limits(&[format!("127.0.0.1:{port}")], quick());
        let r = c.resolve(&image(port)).unwrap();
        assert_eq!(r.platforms.len(), 2, "{:?}", r.platforms);
        assert_eq!(seen.lock().unwrap().len(), 5);

        // 20 000 entries: refused before any of them is requested.
        let entry = doc["manifests"][0].clone();
        doc["manifests"] = serde_json::Value::Array(vec![entry; 20_000]);
        let (port, seen) = registry(doc.to_string().into_bytes(), blobs);
        let mut c = Client::with_limits(&[format!("127.0.0.1:{port}")], quick());
        let e = c.resolve(&image(port)).unwrap_err();
        assert!(
            matches!(&e, RegistryError::Protocol { message, .. } if message.contains(&format!("at most {MAX_INDEX_ENTRIES}"))),
            "{e}"
        );
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert_eq!(c.requests, 1);
    }

    #[test]
    fn digests_are_verified_or_never_requested() {
        let (index, mut blobs) = documents(&["linux/amd64"]);
        // A manifest named by a digest nobody verifies (or a path) is not requested.
        for bad in ["md5:0", "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha256:../../../v2/_catalog"] {
            let mut doc: serde_json::Value = serde_json::from_slice(&index).unwrap();
            doc["manifests"][0]["digest"] = serde_json::json!(bad);
            let (port, seen) = registry(doc.to_string().into_bytes(), blobs.clone());
            let mut c = Client::with_limits(&[format!("127.0.0.1:{port}")], quick());
            let e = c.resolve(&image(port)).unwrap_err();
            assert!(matches!(&e, RegistryError::Protocol { .. }), "{bad}: {e}");
            assert_eq!(seen.lock().unwrap().len(), 1, "{bad}");
        }
        // sha512 is verified too: a matching one passes, a wrong one does not.
        let doc: serde_json::Value = serde_json::from_slice(&index).unwrap();
        let sha = doc["manifests"][0]["digest"].as_str().unwrap().to_owned();
        let manifest = blobs[&sha].clone();
        let sha512 = format!("sha512:{:x}", Sha512::digest(&manifest));
        blobs.insert(sha512.clone(), manifest);
        let mut doc2 = doc.clone();
        doc2["manifests"][0]["digest"] = serde_json::json!(sha512);
        let (port, _) = registry(doc2.to_string().into_bytes(), blobs.clone());
        let mut c = Client::with_limits(&[format!("127.0.0.1:{port}")], quick());
        assert_eq!(c.resolve(&image(port)).unwrap().platforms.len(), 1);
        let wrong = format!("sha512:{}", "0".repeat(128));
        blobs.insert(wrong.clone(), blobs[&sha].clone());
        doc2["manifests"][0]["digest"] = serde_json::json!(wrong);
        let (port, _) = registry(doc2.to_string().into_bytes(), blobs);
        let mut c = Client::with_limits(&[format!("127.0.0.1:{port}")], quick());
        let e = c.resolve(&image(port)).unwrap_err();
        assert!(
            matches!(&e, RegistryError::Protocol { message, .. } if message.contains("does not match")),
            "{e}"
        );
    }

    /// Answers with headers, then one byte of body a second.
    fn trickle(headers_then_stall: bool) -> u16 {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    let _ = std::io::Read::read(&mut s, &mut buf);
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n");
                    for _ in 0..600 {
                        if !headers_then_stall && s.write_all(b" ").is_err() {
                            return;
                        }
                        std::thread::sleep(Duration::from_secs(1));
                    }
                });
            }
        });
        port
    }

    #[test]
    fn a_reply_of_one_byte_a_second_and_a_stalled_one_end_at_their_bounds() {
        let port = trickle(false);
        let mut c = Client::with_limits(&[format!("127.0.0.1:{port}")], quick());
        let e = c.resolve(&image(port)).unwrap_err();
        assert!(
            matches!(&e, RegistryError::Unreachable { message, .. } if message.contains("in time")),
            "{e}"
        );
        let port = trickle(true);
        let limits = Limits { read: Duration::from_secs(1), request: Duration::from_secs(60), ..quick() };
        let mut c = Client::with_limits(&[format!("127.0.0.1:{port}")], limits);
        let e = c.resolve(&image(port)).unwrap_err();
        assert!(
            matches!(&e, RegistryError::Unreachable { message, .. } if message.contains("PerRead")),
            "{e}"
        );
    }

    #[test]
    fn the_run_deadline_stops_every_lookup_after_it() {
        let (index, blobs) = documents(&["linux/amd64"]);
        let (port, seen) = registry(index, blobs);
        let limits = Limits { run: Duration::ZERO, ..quick() };
        let mut c = Client::with_limits(&[format!("127.0.0.1:{port}")], limits);
        let e = c.resolve(&image(port)).unwrap_err();
        assert!(
            matches!(&e, RegistryError::Unreachable { message, .. } if message.contains("longer than 0 s")),
            "{e}"
        );
        assert!(seen.lock().unwrap().is_empty());
    }

    #[test]
    fn the_password_goes_only_to_the_registry_or_its_known_token_service() {
        let o = |u: &str| Origin::of(u).unwrap();
        let local = o("http://127.0.0.1:5000/v2/");
        assert!(may_carry_password(&local, &o("http://127.0.0.1:5000/token")));
        assert!(!may_carry_password(&local, &o("http://127.0.0.2:5000/token")), "another host");
        assert!(!may_carry_password(&local, &o("http://127.0.0.1:5001/token")), "another port");
        assert!(!may_carry_password(&local, &o("http://localhost:5000/token")), "another name");
        let remote = o("https://registry.example.org/v2/");
        assert!(may_carry_password(&remote, &o("https://registry.example.org:443/token")));
        assert!(!may_carry_password(&remote, &o("http://registry.example.org:443/token")), "in clear");
        let plain = o("http://registry.example.org:5000/v2/");
        assert!(!may_carry_password(&plain, &plain), "in clear to a non-loopback host");
        let hub = o("https://registry-1.docker.io/v2/");
        assert!(may_carry_password(&hub, &o("https://auth.docker.io/token")));
        assert!(!may_carry_password(&hub, &o("http://auth.docker.io/token")));
        assert!(!may_carry_password(&hub, &o("https://auth.docker.io.example.org/token")));
        // A user-info prefix does not fool the comparison.
        assert_eq!(Origin::of("http://127.0.0.1:5000@127.0.0.2:5000/x").unwrap().host, "127.0.0.2");
        assert!(o("http://[::1]:5000/").loopback() && o("http://localhost/").loopback());
        assert!(!o("http://10.0.0.1/").loopback());
    }

    #[test]
    fn redirects_keep_credentials_only_on_the_same_server() {
        let (index, blobs) = documents(&["linux/amd64"]);
        let digest = blobs.keys().next().unwrap().clone();
        let (cdn, cdn_seen) =
            server("127.0.0.2", move |target, _| match blobs.get(target.trim_start_matches('/')) {
                Some(b) => ok("application/json", b),
                None => status("404 Not Found", ""),
            });
        // A registry that moves the tag within itself and sends blobs to a CDN on another host.
        let (port, seen) = server("127.0.0.1", move |target, _| {
            if target.ends_with("/manifests/1") {
                status("307 Temporary Redirect", "Location: /v2/team/app/moved/1\r\n")
            } else if target.ends_with("/moved/1") {
                ok(INDEX_TYPES[0], &index)
            } else {
                let digest = target.rsplit('/').next().unwrap_or("");
                status("307 Temporary Redirect", &format!("Location: http://127.0.0.2:{cdn}/{digest}\r\n"))
            }
        });
        let password = "Basic dXNlcjpzM2NyZXQ=";
        let mut c = Client::with_limits(&[format!("127.0.0.1:{port}")], quick());
        let base = format!("http://127.0.0.1:{port}/v2/team/app");
        let tag = c.send(&format!("{base}/manifests/1"), "*/*", Some(password.into()), "r").unwrap();
        assert_eq!(tag.status, 200);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(
            seen.iter().all(|(_, a)| a.as_deref() == Some(password)),
            "the same server keeps them: {seen:?}"
        );
        let blob = c.send(&format!("{base}/blobs/{digest}"), "*/*", Some(password.into()), "r").unwrap();
        assert_eq!(blob.status, 200, "the redirect is followed");
        let cdn_seen = cdn_seen.lock().unwrap().clone();
        assert_eq!(
            cdn_seen,
            [(format!("/{digest}"), None)],
            "credentials followed a redirect to another host"
        );
    }

    #[test]
    fn a_redirect_loop_ends() {
        let (port, seen) = server("127.0.0.1", |_, own| {
            status("302 Found", &format!("Location: http://127.0.0.1:{own}/again\r\n"))
        });
        let mut c = Client::with_limits(&[format!("127.0.0.1:{port}")], quick());
        let e = c.resolve(&image(port)).unwrap_err();
        assert!(
            matches!(&e, RegistryError::Protocol { message, .. } if message.contains("redirects")),
            "{e}"
        );
        assert_eq!(seen.lock().unwrap().len(), MAX_REDIRECTS + 1);
    }

    #[test]
    fn scopes_are_percent_encoded() {
        assert_eq!(encode("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull");
    }
}
