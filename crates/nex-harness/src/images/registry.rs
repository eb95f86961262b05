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
use super::reference::{DOCKER_HUB, ImageRef};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

const INDEX_TYPES: &[&str] =
    &["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];
const MANIFEST_TYPES: &[&str] =
    &["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];
/// Manifests and config blobs are small; anything bigger is not one.
const MAX_BODY: u64 = 8 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot reach the registry {host}: {message}")]
    Unreachable { host: String, message: String },
    #[error("{reference}: the registry has no such tag or repository ({message})")]
    NotFound { reference: String, message: String },
    #[error("{reference}: the registry refused access ({message})")]
    Denied { reference: String, message: String },
    #[error("{reference}: unexpected answer from the registry: {message}")]
    Protocol { reference: String, message: String },
}

/// A tag as the registry serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Digest of what the tag points at (the index, for a multi-platform image).
    pub digest: String,
    /// Each platform and its image config's facts, sorted by platform.
    pub platforms: Vec<(String, Facts)>,
}

pub struct Client {
    agent: ureq::Agent,
    /// `HOST:PORT`s spoken to over plain HTTP.
    insecure: Vec<String>,
    auths: HashMap<String, String>,
    /// Bearer tokens by host and scope.
    tokens: HashMap<(String, String), String>,
}

struct Answer {
    status: u16,
    content_type: String,
    challenge: Option<String>,
    body: Vec<u8>,
}

impl Client {
    pub fn new(insecure: &[String]) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(60)))
            .user_agent(concat!("nex-harness/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self { agent, insecure: insecure.to_vec(), auths: docker_auths(), tokens: HashMap::new() }
    }

    pub fn resolve(&mut self, image: &ImageRef) -> Result<Resolved, RegistryError> {
        let reference = image.to_string();
        let tag = image.digest.clone().or_else(|| image.tag.clone()).unwrap_or_else(|| "latest".into());
        let all: Vec<&str> = INDEX_TYPES.iter().chain(MANIFEST_TYPES).copied().collect();
        let top = self.get(image, &format!("manifests/{tag}"), &all.join(", "), &reference)?;
        let digest = sha256(&top.body);
        let doc = json(&top.body, &reference)?;
        let media = doc.get("mediaType").and_then(|m| m.as_str()).unwrap_or(&top.content_type).to_owned();
        let mut platforms = Vec::new();
        if INDEX_TYPES.contains(&media.as_str()) || doc.get("manifests").is_some() {
            for m in doc.get("manifests").and_then(|m| m.as_array()).into_iter().flatten() {
                // Attestations and other non-images are listed with an `unknown` platform.
                let Some(platform) = m.get("platform").and_then(lock::platform_of) else { continue };
                if platform.starts_with("unknown/") {
                    continue;
                }
                let Some(d) = m.get("digest").and_then(|d| d.as_str()) else {
                    return Err(protocol(&reference, "an index entry without a digest"));
                };
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
            return Err(protocol(
                &reference,
                &format!("a manifest of type {media:?} (schema 1 or not an image)"),
            ));
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
        let mut answer = self.send(&url, accept, self.cached_auth(&host, &default_scope))?;
        if answer.status == 401 {
            let challenge = answer.challenge.clone().unwrap_or_default();
            let auth = self.answer_challenge(image, &challenge, &default_scope, reference)?;
            answer = self.send(&url, accept, Some(auth))?;
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

    fn send(&self, url: &str, accept: &str, auth: Option<String>) -> Result<Answer, RegistryError> {
        let mut req = self.agent.get(url).header("Accept", accept);
        if let Some(a) = &auth {
            req = req.header("Authorization", a);
        }
        let mut resp = req.call().map_err(|e| unreachable(url, e))?;
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let content_type = header("content-type").unwrap_or_default();
        let challenge = header("www-authenticate");
        let status = resp.status().as_u16();
        let body =
            resp.body_mut().with_config().limit(MAX_BODY).read_to_vec().map_err(|e| unreachable(url, e))?;
        Ok(Answer { status, content_type, challenge, body })
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
        let basic = self.basic(image);
        let (scheme, params) = parse_challenge(challenge);
        if scheme.eq_ignore_ascii_case("basic") {
            return basic.map(|b| format!("Basic {b}")).ok_or_else(|| RegistryError::Denied {
                reference: reference.to_owned(),
                message: format!("{host} asks for credentials; add them to ~/.docker/config.json (`auths`)"),
            });
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
        let answer = self.send(&url, "application/json", basic.map(|b| format!("Basic {b}")))?;
        if !(200..300).contains(&answer.status) {
            return Err(RegistryError::Denied {
                reference: reference.to_owned(),
                message: format!("the token service {realm} answered {}", brief(&answer.body, answer.status)),
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

fn check_digest(expected: &str, body: &[u8], reference: &str) -> Result<(), RegistryError> {
    // Only sha256 is computed here; other algorithms are taken on trust.
    if expected.starts_with("sha256:") && sha256(body) != expected {
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

fn unreachable(url: &str, e: ureq::Error) -> RegistryError {
    let host = url.split("://").nth(1).and_then(|r| r.split('/').next()).unwrap_or(url).to_owned();
    RegistryError::Unreachable { host, message: e.to_string() }
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
    civil(secs / 86_400)
}

/// Days since 1970-01-01 → `YYYY-MM-DD` (proleptic Gregorian).
fn civil(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
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
    fn a_manifest_that_is_not_an_image_is_a_protocol_error() {
        let port = serve(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\nConnection: close\r\n\r\n{\"schema\": 1}",
        );
        let mut c = Client::new(&[format!("127.0.0.1:{port}")]);
        assert!(matches!(c.resolve(&image(port)), Err(RegistryError::Protocol { .. })));
    }

    #[test]
    fn dates_and_encoding() {
        assert_eq!(civil(0), "1970-01-01");
        assert_eq!(civil(20_420), "2025-11-28");
        assert_eq!(civil(11_016), "2000-02-29");
        assert_eq!(encode("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull");
    }
}
