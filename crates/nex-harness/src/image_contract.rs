//! `cargo xtask images`: every image the catalog renders, resolved with its
//! registry and compared with `images.lock.yaml`, the values' digests and the
//! `artifacthub.io/images` annotations; `--update` rewrites them. Orchestration
//! only: the model, the registry adapter and the edits are in [`crate::images`].

use crate::cache::Cache;
use crate::catalog::Chart;
use crate::checks::image as rules;
use crate::checks::objects;
use crate::diag::{Diagnostic, Location, Severity};
use crate::helm::Helm;
use crate::images::lock::{self, Entry, Lock, Source};
use crate::images::reference::ImageRef;
use crate::images::registry::{self, Client, RegistryError, Resolved};
use crate::images::update;
use crate::render::{self, RenderInputs};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub struct Options<'a> {
    pub root: &'a Path,
    pub charts: &'a [Chart],
    /// The whole catalog is checked: lock entries no chart renders are stale.
    pub whole: bool,
    pub helm: &'a Helm,
    pub cache: &'a Cache,
    /// `HOST:PORT`s spoken to over plain HTTP.
    pub insecure: Vec<String>,
    pub update: bool,
    /// Images this repository builds (`registry/repository:tag`) whose tag a change may
    /// introduce before it is published: absent from the registry, they are a warning.
    pub unpublished: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImagesError {
    #[error(
        "{} registry lookup(s) failed, nothing was checked or rewritten:\n  {}\n(the registry must be reachable; a plain-HTTP registry needs --insecure-registry HOST:PORT)",
        .0.len(), .0.join("\n  ")
    )]
    Unreachable(Vec<String>),
    /// A registry answered something no image lookup can use (not JSON, content
    /// that does not match its digest, a digest nobody verifies, an index too
    /// large): the registry's fault, not the chart's, and nothing can be concluded.
    #[error(
        "{} registry answer(s) cannot be used, nothing was checked or rewritten:\n  {}",
        .0.len(), .0.join("\n  ")
    )]
    Unusable(Vec<String>),
    #[error("{chart}: cannot render scenario {scenario}: {message}")]
    Render { chart: String, scenario: String, message: String },
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub diagnostics: Vec<Diagnostic>,
    /// Files `--update` rewrote.
    pub written: Vec<PathBuf>,
    /// Images looked up.
    pub images: usize,
}

/// One container image in one rendering.
#[derive(Debug, Clone)]
struct Use {
    chart: usize,
    scenario: String,
    image: ImageRef,
}

pub fn run(opts: &Options<'_>) -> Result<Outcome, ImagesError> {
    let lock_path = opts.root.join(lock::FILE_NAME);
    // Two `--update`s at once take turns: the second reads what the first wrote.
    let _turn = match opts.update {
        true => Some(
            crate::fsio::lock_beside(&lock_path)
                .map_err(|e| ImagesError::Write { path: lock_path.clone(), source: e.into() })?,
        ),
        false => None,
    };
    let (renders, uses) = render_uses(opts)?;
    let old = Lock::read(opts.root)?.unwrap_or(Lock { version: lock::VERSION, ..Lock::default() });

    // Resolve each image once (by tag; the rendered digest is what is judged).
    let keys: BTreeMap<String, ImageRef> = uses
        .iter()
        .filter(|u| u.image.tag.is_some())
        .map(|u| (u.image.key(), ImageRef { digest: None, ..u.image.clone() }))
        .collect();
    let mut client = Client::new(&opts.insecure);
    let results: BTreeMap<String, Result<Resolved, RegistryError>> =
        keys.iter().map(|(k, r)| (k.clone(), client.resolve(r))).collect();
    let unreachable: Vec<String> = results
        .values()
        .filter_map(|r| match r {
            Err(e @ RegistryError::Unreachable { .. }) => Some(e.to_string()),
            _ => None,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !unreachable.is_empty() {
        return Err(ImagesError::Unreachable(unreachable));
    }
    let unusable: Vec<String> = results
        .values()
        .filter_map(|r| match r {
            Err(e @ RegistryError::Protocol { .. }) => Some(e.to_string()),
            _ => None,
        })
        .collect();
    if !unusable.is_empty() {
        return Err(ImagesError::Unusable(unusable));
    }

    let mut out = Outcome { images: keys.len(), ..Outcome::default() };
    let today = registry::today();
    let mut fresh = old.clone();
    for (key, result) in &results {
        match result {
            Ok(resolved) => {
                let entry = entry_of(resolved, old.images.get(key), &today);
                let previous = old.images.get(key);
                if !opts.update {
                    out.diagnostics.extend(compare(key, previous, &entry, &lock_path));
                }
                fresh.images.insert(key.clone(), entry);
            }
            Err(RegistryError::NotFound { .. } | RegistryError::Denied { .. })
                if opts.unpublished.iter().any(|u| ImageRef::parse(u).is_ok_and(|r| &r.key() == key)) =>
            {
                // Built and pushed once the change is merged (the release workflow); the lock
                // keeps what it says about the tag until a registry can confirm it.
                for u in uses.iter().filter(|u| &u.image.key() == key) {
                    let chart = &opts.charts[u.chart];
                    out.diagnostics.push(
                        Diagnostic::warning(
                            rules::RULE_MISSING,
                            &chart.name,
                            format!("{key} is not in the registry yet: this repository builds it and publishes it when the change is merged"),
                        )
                        .at(Location::file(chart.dir.join("values.yaml")))
                        .scenario(&u.scenario),
                    );
                }
            }
            Err(e) => {
                for u in uses.iter().filter(|u| &u.image.key() == key) {
                    let chart = &opts.charts[u.chart];
                    out.diagnostics.push(
                        Diagnostic::error(rules::RULE_MISSING, &chart.name, e.to_string())
                            .at(Location::file(chart.dir.join("values.yaml")))
                            .scenario(&u.scenario)
                            .hint("check the repository and tag (and credentials for a private image)"),
                    );
                }
                fresh.images.remove(key);
            }
        }
    }
    if opts.whole {
        let stale: Vec<String> = fresh.images.keys().filter(|k| !keys.contains_key(*k)).cloned().collect();
        for k in stale {
            if !opts.update {
                out.diagnostics.push(
                    Diagnostic::error(
                        rules::RULE_LOCK,
                        "",
                        format!("{k} is in the lock but no chart renders it"),
                    )
                    .at(Location::file(&lock_path))
                    .hint("run `cargo xtask images --update` to drop it"),
                );
            }
            fresh.images.remove(&k);
        }
    }

    // The digests the charts carry (values and annotations) against the registry's.
    let mut edits: Vec<(PathBuf, String)> = Vec::new();
    for chart in opts.charts {
        let values_path = chart.dir.join("values.yaml");
        if let Ok(text) = crate::files::read_text(&values_path) {
            for (block, _) in update::image_blocks(&text) {
                let Some(want) = fresh.images.get(&block.key).and_then(|e| e.digest.clone()) else {
                    continue;
                };
                let have = block.digest.clone().unwrap_or_default();
                if block.digest.is_none() || (!opts.update && have != want) {
                    // An empty digest pins nothing (the image runs by tag): a warning to pin
                    // it, never taken for a pin; a digest that is not the registry's is an error.
                    let (what, unpinned) = if block.digest.is_none() {
                        (format!("{} has no `digest` key to pin {want} in", block.key), false)
                    } else if have.is_empty() {
                        (
                            format!(
                                "{} is not pinned (its digest is empty); the registry has {want}",
                                block.key
                            ),
                            true,
                        )
                    } else {
                        (format!("{} is pinned to {have}; the registry has {want}", block.key), false)
                    };
                    let d = if unpinned {
                        Diagnostic::warning(rules::RULE_LOCK, &chart.name, what)
                    } else {
                        Diagnostic::error(rules::RULE_LOCK, &chart.name, what)
                    };
                    out.diagnostics
                        .push(d.at(Location::at(&values_path, block.line, 1)).hint(
                            "run `cargo xtask images --update` (the image lock refresh workflow does)",
                        ));
                }
            }
            let (pinned, _) = update::pin_values(&text, &fresh);
            edits.push((values_path, pinned));
        }
        let chart_path = chart.dir.join("Chart.yaml");
        if let Ok(text) = crate::files::read_text(&chart_path) {
            if !opts.update {
                for (key, have) in update::annotation_images(&text) {
                    let Some(want) = fresh.images.get(&key).and_then(|e| e.digest.clone()) else { continue };
                    if have.as_deref() != Some(want.as_str()) {
                        // Like values: no digest is unpinned (a warning), another digest is wrong.
                        let severity = if have.is_none() { Severity::Warning } else { Severity::Error };
                        out.diagnostics.push(
                            Diagnostic::new(
                                rules::RULE_LOCK,
                                severity,
                                &chart.name,
                                format!(
                                    "artifacthub.io/images names {key}{}; the registry has {want}",
                                    have.map(|h| format!("@{h}"))
                                        .unwrap_or_else(|| " without a digest".into())
                                ),
                            )
                            .at(Location::file(&chart_path))
                            .hint("run `cargo xtask images --update`"),
                        );
                    }
                }
            }
            edits.push((chart_path, update::pin_annotations(&text, &fresh)));
        }
    }

    // The rules, judged on the registry's facts (digests were compared above).
    for (chart, rendered) in opts.charts.iter().zip(&renders) {
        let Some((meta, root, renderings)) = rendered else { continue };
        let (exceptions, bad) = crate::checks::policy::exceptions::parse_meta(chart, meta, root.as_ref());
        out.diagnostics.extend(bad);
        for (scenario, objs) in renderings {
            for obj in objs {
                for f in rules::findings(obj, &fresh, false) {
                    let mut d = Diagnostic::new(
                        f.rule,
                        f.severity,
                        &chart.name,
                        format!("{}: {}", obj.id(), f.message),
                    )
                    .scenario(scenario);
                    if let Some(h) = &f.hint {
                        d = d.hint(h.clone());
                    }
                    d.allowed = exceptions.allow(f.rule, obj, scenario);
                    out.diagnostics.push(d);
                }
            }
        }
    }

    let all_resolved = results.values().all(Result::is_ok);
    if opts.update && all_resolved {
        edits.insert(0, (lock_path, fresh.to_yaml()));
        for (path, text) in edits {
            if update::write_if_changed(&path, &text)
                .map_err(|source| ImagesError::Write { path: path.clone(), source })?
            {
                out.written.push(path);
            }
        }
    }
    out.diagnostics = crate::diag::normalize(out.diagnostics);
    Ok(out)
}

type Rendered =
    Option<(crate::model::ChartMeta, Option<crate::yaml::Node>, Vec<(String, Vec<crate::manifest::Object>)>)>;

/// Every chart's renderings (each scenario, at the newest Kubernetes of its
/// matrix: images do not depend on the version) and the images in them.
fn render_uses(opts: &Options<'_>) -> Result<(Vec<Rendered>, Vec<Use>), ImagesError> {
    let mut renders = Vec::new();
    let mut uses = Vec::new();
    for (i, chart) in opts.charts.iter().enumerate() {
        let (files, meta) = crate::load::read_files_and_meta(chart);
        let root = files.chart_yaml.content.as_ref().ok().and_then(|f| f.root()).cloned();
        if meta.is_library() {
            renders.push(None);
            continue;
        }
        crate::deps::ensure(chart, &meta, opts.helm).map_err(|message| ImagesError::Render {
            chart: chart.name.clone(),
            scenario: "default".into(),
            message,
        })?;
        let versions = crate::kube::versions::matrix(meta.kube_version.as_deref()).unwrap_or_default();
        let newest: Vec<String> = versions.last().cloned().into_iter().collect();
        let fingerprint = crate::cache::chart_fingerprint(&chart.dir);
        let inputs = RenderInputs {
            chart_dir: &chart.dir,
            meta: &meta,
            fingerprint: &fingerprint,
            helm: opts.helm,
            cache: opts.cache,
        };
        let mut by_scenario = Vec::new();
        for r in render::render_all(&inputs, &chart.scenarios, &newest, None) {
            if !r.succeeded() {
                let message = match &r.output {
                    Ok(o) => o.stderr.trim().to_owned(),
                    Err(e) => e.clone(),
                };
                return Err(ImagesError::Render {
                    chart: chart.name.clone(),
                    scenario: r.scenario.name.clone(),
                    message,
                });
            }
            for obj in &r.objects {
                let Some((spec, sp)) = objects::pod_spec(obj) else { continue };
                for c in objects::containers(spec, sp) {
                    let Some(image) = c.value.get("image").and_then(|v| v.as_str()) else { continue };
                    if let Ok(image) = ImageRef::parse(image) {
                        uses.push(Use { chart: i, scenario: r.scenario.name.clone(), image });
                    }
                }
            }
            by_scenario.push((r.scenario.name.clone(), r.objects));
        }
        renders.push(Some((meta, root, by_scenario)));
    }
    Ok((renders, uses))
}

/// The lock entry for what the registry served. Facts are linux/amd64's (the
/// first platform's when there is none); platforms whose config says otherwise
/// are named in the note. `writes` (a Dockerfile fact the registry cannot tell)
/// is kept from the previous entry.
fn entry_of(resolved: &Resolved, previous: Option<&Entry>, today: &str) -> Entry {
    let main = resolved
        .platforms
        .iter()
        .find(|(p, _)| p == "linux/amd64")
        .or_else(|| resolved.platforms.first())
        .map(|(_, f)| f.clone())
        .unwrap_or_default();
    let differing: Vec<&str> =
        resolved.platforms.iter().filter(|(_, f)| *f != main).map(|(p, _)| p.as_str()).collect();
    let mut entry = Entry {
        digest: Some(resolved.digest.clone()),
        platforms: Some(resolved.platforms.iter().map(|(p, _)| p.clone()).collect()),
        source: Source::registry(today),
        note: (!differing.is_empty()).then(|| {
            format!("the image config of {} differs from the one recorded here", differing.join(", "))
        }),
        ..Entry::default()
    };
    entry.set_facts(main);
    if let Some(p) = previous {
        entry.writes = p.writes.clone();
        let source = p.sources.get("writes").unwrap_or(&p.source);
        if !entry.writes.is_empty() {
            entry.sources.insert("writes".into(), source.clone());
        }
    }
    entry
}

/// The facts an unconfirmed entry states (not `null`) that the registry contradicts.
fn contradicted(locked: &Entry, registry: &Entry) -> Vec<&'static str> {
    fn differs<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
        a.is_some() && b.is_some() && a != b
    }
    let (a, b) = (locked.facts(), registry.facts());
    [
        ("platforms", differs(&locked.platforms, &registry.platforms)),
        ("entrypoint", differs(&a.entrypoint, &b.entrypoint)),
        ("cmd", differs(&a.cmd, &b.cmd)),
        ("user", differs(&a.user, &b.user)),
        ("ports", differs(&a.ports, &b.ports)),
        ("healthcheck", differs(&a.healthcheck, &b.healthcheck)),
    ]
    .into_iter()
    .filter(|(_, d)| *d)
    .map(|(n, _)| n)
    .collect()
}

/// What differs between the lock's entry and the registry's (dates aside).
fn compare(key: &str, locked: Option<&Entry>, registry: &Entry, lock_path: &Path) -> Vec<Diagnostic> {
    let finding = |msg: String| {
        Diagnostic::error(rules::RULE_LOCK, "", msg)
            .at(Location::file(lock_path))
            .hint("run `cargo xtask images --update` and review the change")
    };
    let Some(locked) = locked else {
        return vec![finding(format!("{key} has no entry in {}", lock::FILE_NAME))];
    };
    let mut out = Vec::new();
    if locked.unconfirmed() {
        // Read from upstream source (the catalog's state before any online run): only a
        // fact the lock states and the registry contradicts is a mismatch. The digest
        // is unknown to such an entry; confirming it is the refresh's job, not a pull
        // request's (a new repository's first one would otherwise fail on every image).
        let from = locked.source.repository.as_deref().unwrap_or("?");
        let differ = contradicted(locked, registry);
        if differ.is_empty() {
            out.push(
                Diagnostic::warning(
                    rules::RULE_LOCK,
                    "",
                    format!(
                        "{key}: read from upstream source ({from}) and not yet confirmed; the registry agrees with every fact the lock states (digest {})",
                        registry.digest.as_deref().unwrap_or("?")
                    ),
                )
                .at(Location::file(lock_path))
                .hint("the image lock refresh workflow (or `cargo xtask images --update`) confirms it"),
            );
        } else {
            out.push(finding(format!(
                "{key}: the lock's {} (read from upstream source, {from}) differ from the registry's",
                differ.join(", ")
            )));
        }
        return out;
    }
    if locked.digest != registry.digest {
        out.push(finding(format!(
            "{key}: the lock has digest {}, the registry {}",
            locked.digest.as_deref().unwrap_or("none"),
            registry.digest.as_deref().unwrap_or("none")
        )));
    }
    let mut fields = Vec::new();
    let (a, b) = (locked.facts(), registry.facts());
    for (name, same) in [
        ("platforms", locked.platforms == registry.platforms),
        ("entrypoint", a.entrypoint == b.entrypoint),
        ("cmd", a.cmd == b.cmd),
        ("user", a.user == b.user),
        ("ports", a.ports == b.ports),
        ("healthcheck", a.healthcheck == b.healthcheck),
    ] {
        if !same {
            fields.push(name);
        }
    }
    if !fields.is_empty() {
        out.push(finding(format!("{key}: the lock's {} differ from the registry's", fields.join(", "))));
    }
    out
}
