//! A content-addressed cache for helm runs and validation results.
//!
//! An entry's key is a sha256 over everything its result depends on (the
//! chart's files, its vendored dependencies, the values file, helm's version,
//! the flags, the Kubernetes version), so a stale entry can never be served:
//! changing an input changes the key. Entries are written to a temp file and
//! renamed, so a reader never sees half an entry, even with concurrent runs.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bump when the meaning of a cached value changes, to orphan old entries.
const FORMAT: &str = "nex-cache-v1";

/// The results cache is kept under this size: after a run the least recently
/// used entries are removed until it fits (`cargo xtask cache prune` does the
/// same on demand, with any bound).
pub const MAX_CACHE_BYTES: u64 = 1024 * 1024 * 1024;
/// A single result bigger than this (a huge render) is not stored: it would
/// crowd out hundreds of ordinary entries, and recomputing it costs one helm run.
pub const MAX_ENTRY_BYTES: u64 = 16 * 1024 * 1024;

/// What a prune did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub entries: usize,
    pub bytes_before: u64,
    pub bytes_removed: u64,
}

#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    /// `NEX_NO_CACHE=1` reads nothing (results are still written).
    read: bool,
    /// Bytes this process stored (shared by clones): what [`Cache::settle`] accounts.
    written: Arc<AtomicU64>,
}

/// The file beside `results/` holding its size as last accounted (bytes, as text).
const USAGE: &str = "results.usage";

/// Lower-case hex of bytes (digests).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A finished cache key (hex sha256).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(pub String);

/// Builds a key from labelled parts; each part is length-prefixed so that
/// `("ab", "c")` and `("a", "bc")` differ.
pub struct KeyBuilder(Sha256);

impl KeyBuilder {
    pub fn new(kind: &str) -> Self {
        let mut h = Sha256::new();
        h.update(FORMAT.as_bytes());
        let mut k = Self(h);
        k = k.part(kind.as_bytes());
        k
    }

    pub fn part(mut self, bytes: &[u8]) -> Self {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    pub fn str(self, s: &str) -> Self {
        self.part(s.as_bytes())
    }

    pub fn opt(self, s: Option<&str>) -> Self {
        match s {
            Some(s) => self.str("some").str(s),
            None => self.str("none"),
        }
    }

    /// A file's content (or a marker when it cannot be read, so the key still
    /// differs). Links are followed, so the key follows what a link points at;
    /// only regular files are read (a FIFO or `/dev/zero` gives its kind).
    pub fn file(self, path: &Path) -> Self {
        use crate::fsio::FileError;
        match crate::fsio::hash_capped(path, crate::fsio::limit::ARCHIVE) {
            Ok(digest) => self.str("file").part(&digest),
            Err(FileError::NotRegular(kind)) => self.str("special").str(kind),
            Err(e) => self.str("unreadable").str(&e.to_string()),
        }
    }

    pub fn finish(self) -> Key {
        Key(hex(&self.0.finalize()))
    }
}

/// A fingerprint of every file of a chart folder (paths and contents), vendored
/// dependency archives in `charts/` included. Symbolic links are followed, as
/// helm follows them: a link's key is what it points at, so editing the target
/// of a linked ci file or `templates/` folder changes the fingerprint.
/// `snapshots/` is left out: it records renders, it does not shape them.
/// A link leaving the repository is keyed by where it points, never followed
/// (a chart linked to `/usr` is not hashed whole; the link is a finding).
/// [`Cache::fingerprint`] gives the same value without reading unchanged files.
pub fn chart_fingerprint(dir: &Path) -> String {
    chart_fingerprint_in(dir, Path::new(""))
}

/// [`chart_fingerprint`] with the repository root given (`""`: the working directory).
pub fn chart_fingerprint_in(dir: &Path, repo: &Path) -> String {
    content_fingerprint(dir, &tree_files(dir, Walk::Chart(repo)))
}

/// Which files a fingerprint covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk<'a> {
    /// A chart folder in a repository (see [`crate::fsio::walk_chart`]): links
    /// followed inside the repository, the top-level `snapshots/` left out.
    Chart(&'a Path),
    /// Any other folder (CRDs): every file, links followed.
    All,
}

/// The files of a walk, sorted, and the links it did not follow out of the repository (sorted).
#[derive(Debug, Default)]
struct Tree {
    files: Vec<PathBuf>,
    leaving: Vec<(PathBuf, PathBuf)>,
}

/// The files under `dir` (links followed), sorted; nothing when it is missing.
fn tree_files(dir: &Path, walk: Walk<'_>) -> Tree {
    let mut tree = match walk {
        Walk::Chart(repo) => {
            let w = crate::fsio::walk_chart(dir, repo);
            Tree {
                files: w
                    .entries
                    .into_iter()
                    .filter(|e| !e.file_type().is_dir())
                    .map(|e| e.into_path())
                    .collect(),
                leaving: w.leaving,
            }
        }
        Walk::All => Tree {
            files: walkdir::WalkDir::new(dir)
                .follow_links(true)
                .into_iter()
                .flatten()
                .filter(|e| !e.file_type().is_dir())
                .map(|e| e.into_path())
                .collect(),
            leaving: Vec::new(),
        },
    };
    tree.files.sort();
    tree.leaving.sort();
    tree
}

fn content_fingerprint(dir: &Path, tree: &Tree) -> String {
    let mut k = KeyBuilder::new("chart");
    for f in &tree.files {
        let rel = f.strip_prefix(dir).unwrap_or(f);
        k = k.str(&rel.to_string_lossy()).file(f);
    }
    for (link, target) in &tree.leaving {
        let rel = link.strip_prefix(dir).unwrap_or(link);
        k = k.str(&rel.to_string_lossy()).str("leaves the repository").str(&target.to_string_lossy());
    }
    k.finish().0
}

/// What `stat` tells of a file (links followed) without reading it: device,
/// inode, type, size, and the modification and change times to the
/// nanosecond. Any write changes the change time, which no program can set
/// back, so equal stamps mean equal content, unless the write fell in the same
/// clock tick as the stamp was taken: [`SETTLE_SECONDS`] rules that out.
/// Returns the stamp's bytes and the file's last change (seconds).
fn stamp(path: &Path) -> Option<(Vec<u8>, i64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    let fields: [i64; 9] = [
        m.dev() as i64,
        m.ino() as i64,
        m.mode() as i64,
        m.len() as i64,
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
        m.nlink() as i64,
    ];
    Some((fields.iter().flat_map(|f| f.to_le_bytes()).collect(), m.mtime().max(m.ctime())))
}

/// A file's stamp when it stands for its content (the file last changed
/// [`SETTLE_SECONDS`] ago or earlier), for memos held within one run.
pub(crate) fn settled_stamp(path: &Path) -> Option<Vec<u8>> {
    let (stamp, changed) = stamp(path)?;
    (changed + SETTLE_SECONDS < now_seconds()).then_some(stamp)
}

/// How long ago a file must have last changed for its stamp to stand for its
/// content: coarser than any file system's time stamps (FAT's are 2 s).
const SETTLE_SECONDS: i64 = 3;

fn now_seconds() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl Cache {
    /// The cache lives in `<root>/results`.
    pub fn new(root: &Path) -> Self {
        let read = std::env::var_os("NEX_NO_CACHE").is_none_or(|v| v.is_empty() || v == "0");
        Self { dir: root.join("results"), read, written: Arc::default() }
    }

    /// [`chart_fingerprint`] of a chart folder, reading no file whose stamp
    /// (see [`stamp`]) is the same as when the folder was last fingerprinted:
    /// the stamps of its files key a memo of the content fingerprint, so an
    /// unchanged chart costs a warm run a directory walk and one cache read.
    pub fn fingerprint(&self, dir: &Path) -> String {
        self.memo_fingerprint(dir, Walk::Chart(Path::new("")))
    }

    /// The same for any folder (every file counts): the catalog's CRDs.
    pub fn tree_fingerprint(&self, dir: &Path) -> String {
        self.memo_fingerprint(dir, Walk::All)
    }

    fn memo_fingerprint(&self, dir: &Path, walk: Walk<'_>) -> String {
        self.memo_fingerprint_at(dir, walk, now_seconds())
    }

    /// [`Cache::memo_fingerprint`] as of `now` (seconds): the memo is only
    /// written when every file last changed [`SETTLE_SECONDS`] before (see [`stamp`]).
    fn memo_fingerprint_at(&self, dir: &Path, walk: Walk<'_>, now: i64) -> String {
        let tree = tree_files(dir, walk);
        let mut k = KeyBuilder::new("fingerprint memo").str(&format!("{walk:?}")).str(&dir.to_string_lossy());
        for (link, target) in &tree.leaving {
            k = k.str(&link.to_string_lossy()).str(&target.to_string_lossy());
        }
        let mut newest = i64::MIN;
        let mut stamped = true;
        for f in &tree.files {
            k = k.str(&f.strip_prefix(dir).unwrap_or(f).to_string_lossy());
            match stamp(f) {
                Some((bytes, changed)) => {
                    newest = newest.max(changed);
                    k = k.part(&bytes);
                }
                None => stamped = false,
            }
        }
        let key = k.finish();
        if stamped && let Some(hit) = self.get::<String>(&key) {
            return hit;
        }
        let print = content_fingerprint(dir, &tree);
        if stamped && newest + SETTLE_SECONDS < now {
            self.put(&key, &print);
        }
        print
    }

    fn path(&self, key: &Key) -> PathBuf {
        self.path_with(key, "json")
    }

    fn path_with(&self, key: &Key, ext: &str) -> PathBuf {
        let (a, b) = key.0.split_at(2);
        self.dir.join(a).join(format!("{b}.{ext}"))
    }

    /// Bytes stored as they are (large texts that JSON would only escape).
    pub fn get_raw(&self, key: &Key) -> Option<Vec<u8>> {
        if !self.read {
            return None;
        }
        let path = self.path_with(key, "raw");
        let bytes = crate::fsio::read_capped(&path, MAX_ENTRY_BYTES).ok()?;
        let _ = crate::fsio::touch(&path);
        Some(bytes)
    }

    /// Stores bytes as they are; failures are ignored (the cache only saves work).
    pub fn put_raw(&self, key: &Key, bytes: &[u8]) {
        self.write(self.path_with(key, "raw"), bytes);
    }

    pub fn get<T: DeserializeOwned>(&self, key: &Key) -> Option<T> {
        if !self.read {
            return None;
        }
        let path = self.path(key);
        // A FIFO or an oversized file in its place is a miss, never a hang.
        let bytes = crate::fsio::read_capped(&path, MAX_ENTRY_BYTES).ok()?;
        // A corrupt entry is a miss; the next put replaces it.
        let value = serde_json::from_slice(&bytes).ok()?;
        // Used now: the modification time orders entries for eviction (best effort).
        let _ = crate::fsio::touch(&path);
        Some(value)
    }

    /// Removes the least recently used entries until the results take at most
    /// `max_bytes`; stray temp files of interrupted writes go first.
    pub fn prune(&self, max_bytes: u64) -> Pruned {
        let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = walkdir::WalkDir::new(&self.dir)
            .min_depth(2)
            .max_depth(2)
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                // A temp file sorts as oldest: it is never read.
                let name = e.file_name().to_string_lossy();
                let stray = !name.ends_with(".json") && !name.ends_with(".raw");
                let used = if stray { std::time::UNIX_EPOCH } else { meta.modified().ok()? };
                Some((used, meta.len(), e.into_path()))
            })
            .collect();
        let total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        let mut out = Pruned { bytes_before: total, ..Pruned::default() };
        if total <= max_bytes {
            self.record_usage(total);
            return out;
        }
        entries.sort();
        let mut left = total;
        for (_, len, path) in entries {
            if left <= max_bytes {
                break;
            }
            // Never through a link: only what lies inside the cache is removed.
            if crate::fsio::remove_file_within(&self.dir, &path).is_ok() {
                left -= len;
                out.entries += 1;
                out.bytes_removed += len;
            }
        }
        self.record_usage(left);
        out
    }

    /// Stores a value; failures are ignored (the cache only saves work).
    pub fn put<T: Serialize>(&self, key: &Key, value: &T) {
        let Ok(bytes) = serde_json::to_vec(value) else { return };
        self.write(self.path(key), &bytes);
    }

    fn write(&self, path: PathBuf, bytes: &[u8]) {
        if bytes.len() as u64 > MAX_ENTRY_BYTES {
            return;
        }
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        if crate::fsio::write_scratch(&self.dir, &path, bytes).is_ok() {
            self.written.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
    }

    /// Keeps the results within `max_bytes` at the end of a run without walking
    /// the cache each time: `results.usage` beside it holds its size as last counted plus
    /// what runs stored since; only when that estimate passes the bound (or is
    /// missing) are the entries walked, counted and pruned ([`Cache::prune`]).
    /// A run that stored nothing (a warm one) touches nothing. The estimate
    /// only errs high (a rewritten entry counts twice), except that two runs
    /// ending at the same moment may both add to the same old figure; the next
    /// walk counts afresh.
    pub fn settle(&self, max_bytes: u64) -> Option<Pruned> {
        let written = self.written.swap(0, Ordering::Relaxed);
        if written == 0 {
            return None;
        }
        let known =
            crate::fsio::read_text(&self.usage_file(), 64).ok().and_then(|t| t.trim().parse::<u64>().ok());
        match known.map(|k| k.saturating_add(written)) {
            Some(estimate) if estimate <= max_bytes => {
                self.record_usage(estimate);
                None
            }
            _ => Some(self.prune(max_bytes)),
        }
    }

    fn usage_file(&self) -> PathBuf {
        self.dir.with_file_name(USAGE)
    }

    /// Writes the accounted size (best effort: a lost write only means an early walk).
    fn record_usage(&self, bytes: u64) {
        let file = self.usage_file();
        let Some(dir) = file.parent() else { return };
        let _ = crate::fsio::write_scratch(dir, &file, bytes.to_string().as_bytes());
    }

    /// The cached value for `key`, or `compute()`'s result, stored when `keep` says so.
    pub fn get_or<T, F, K>(&self, key: &Key, compute: F, keep: K) -> T
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> T,
        K: FnOnce(&T) -> bool,
    {
        if let Some(v) = self.get(key) {
            return v;
        }
        let v = compute();
        if keep(&v) {
            self.put(key, &v);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_every_part_and_its_boundaries() {
        let a = KeyBuilder::new("x").str("ab").str("c").finish();
        let b = KeyBuilder::new("x").str("a").str("bc").finish();
        let c = KeyBuilder::new("y").str("ab").str("c").finish();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, KeyBuilder::new("x").str("ab").str("c").finish());
    }

    #[test]
    fn put_then_get_round_trips_and_corrupt_entries_miss() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache { dir: tmp.path().join("results"), read: true, written: Arc::default() };
        let key = KeyBuilder::new("t").str("1").finish();
        assert_eq!(cache.get::<Vec<u32>>(&key), None);
        cache.put(&key, &vec![1u32, 2]);
        assert_eq!(cache.get::<Vec<u32>>(&key), Some(vec![1, 2]));
        std::fs::write(cache.path(&key), b"{not json").unwrap();
        assert_eq!(cache.get::<Vec<u32>>(&key), None);
    }

    #[test]
    fn prune_evicts_the_least_recently_used_first() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache { dir: tmp.path().join("results"), read: true, written: Arc::default() };
        let keys: Vec<Key> = (0..4).map(|i| KeyBuilder::new("t").str(&i.to_string()).finish()).collect();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for (i, k) in keys.iter().enumerate() {
            cache.put(k, &"x".repeat(1000));
            // Written an hour ago, a second apart, in order.
            let f = std::fs::File::options().write(true).open(cache.path(k)).unwrap();
            f.set_modified(old + std::time::Duration::from_secs(i as u64)).unwrap();
        }
        // Reading the oldest makes it the most recently used.
        assert!(cache.get::<String>(&keys[0]).is_some());
        let entry = std::fs::metadata(cache.path(&keys[0])).unwrap().len();
        let p = cache.prune(entry * 2);
        assert_eq!(p.entries, 2, "{p:?}");
        assert_eq!(p.bytes_before, entry * 4);
        let kept: Vec<bool> = keys.iter().map(|k| cache.path(k).exists()).collect();
        assert_eq!(kept, [true, false, false, true]);
        assert_eq!(cache.prune(u64::MAX).entries, 0);
    }

    #[test]
    fn settling_walks_the_cache_only_when_its_estimate_passes_the_bound() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache { dir: tmp.path().join("results"), read: true, written: Arc::default() };
        // A run that stored nothing touches nothing.
        assert_eq!(cache.settle(1000), None);
        assert!(!tmp.path().join(USAGE).exists());
        let put = |i: usize| cache.put(&KeyBuilder::new("t").str(&i.to_string()).finish(), &"x".repeat(100));
        put(0);
        // No size known yet: counted once, by a walk.
        let first = cache.settle(1000).expect("a first walk");
        assert_eq!((first.entries, first.bytes_before), (0, 102));
        put(1);
        // Within the bound: the estimate grows, nothing is walked.
        assert_eq!(cache.settle(1000), None);
        assert_eq!(std::fs::read_to_string(tmp.path().join(USAGE)).unwrap(), "204");
        for i in 2..12 {
            put(i);
        }
        // Past it: walked, and pruned to fit.
        let p = cache.settle(1000).expect("a walk past the bound");
        assert_eq!(p.bytes_before, 12 * 102);
        assert!(p.bytes_before - p.bytes_removed <= 1000, "{p:?}");
        let left: u64 = std::fs::read_to_string(tmp.path().join(USAGE)).unwrap().parse().unwrap();
        assert_eq!(left, p.bytes_before - p.bytes_removed);
    }

    #[test]
    fn fingerprint_memo_reads_no_settled_file_and_notices_every_change() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache { dir: tmp.path().join("cache"), read: true, written: Arc::default() };
        let chart = tmp.path().join("chart");
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        std::fs::write(chart.join("templates/a.yaml"), "a").unwrap();
        let later = now_seconds() + 60;
        let print = cache.memo_fingerprint_at(&chart, Walk::Chart(Path::new("")), later);
        assert_eq!(print, chart_fingerprint(&chart));
        // The memo is kept once, then stands for the content (nothing new is
        // stored; `tests/warm.rs` shows no chart file is read).
        let kept = cache.written.load(Ordering::Relaxed);
        assert!(kept > 0);
        let a = chart.join("templates/a.yaml");
        let memo_hit = |c: &Cache| c.memo_fingerprint_at(&chart, Walk::Chart(Path::new("")), later);
        assert_eq!(memo_hit(&cache), print);
        assert_eq!(cache.written.load(Ordering::Relaxed), kept);
        // Any edit changes the stamps: same size, same modification time, new content.
        let mtime = std::fs::metadata(&a).unwrap().modified().unwrap();
        std::fs::write(&a, "b").unwrap();
        std::fs::File::options().write(true).open(&a).unwrap().set_modified(mtime).unwrap();
        let edited = memo_hit(&cache);
        assert_ne!(edited, print);
        assert_eq!(edited, chart_fingerprint(&chart));
        std::fs::write(chart.join("templates/b.yaml"), "b").unwrap();
        assert_eq!(memo_hit(&cache), chart_fingerprint(&chart), "a new file");
        std::fs::remove_file(chart.join("templates/b.yaml")).unwrap();
        assert_eq!(memo_hit(&cache), edited, "a removed one");
        // A file that changed just now is hashed, and no memo is kept for it.
        let fresh = Cache { dir: tmp.path().join("fresh"), read: true, written: Arc::default() };
        fresh.memo_fingerprint_at(&chart, Walk::Chart(Path::new("")), now_seconds());
        assert_eq!(fresh.written.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn oversized_entries_are_not_stored() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache { dir: tmp.path().join("results"), read: true, written: Arc::default() };
        let key = KeyBuilder::new("t").finish();
        cache.put(&key, &"x".repeat(MAX_ENTRY_BYTES as usize + 1));
        assert!(!cache.path(&key).exists());
    }

    #[test]
    fn chart_fingerprint_follows_content_but_not_snapshots() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join("templates")).unwrap();
        std::fs::create_dir_all(d.join("snapshots")).unwrap();
        std::fs::write(d.join("templates/a.yaml"), "a").unwrap();
        let f1 = chart_fingerprint(d);
        std::fs::write(d.join("snapshots/default.snap"), "s").unwrap();
        assert_eq!(f1, chart_fingerprint(d));
        std::fs::write(d.join("templates/a.yaml"), "b").unwrap();
        assert_ne!(f1, chart_fingerprint(d));
    }

    #[test]
    fn chart_fingerprint_follows_links_to_their_targets() {
        let tmp = tempfile::tempdir().unwrap();
        let (chart, outside) = (tmp.path().join("c"), tmp.path().join("out"));
        std::fs::create_dir_all(chart.join("ci")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("x-values.yaml"), "a: 1\n").unwrap();
        std::fs::write(outside.join("t.yaml"), "kind: A\n").unwrap();
        std::os::unix::fs::symlink(outside.join("x-values.yaml"), chart.join("ci/x-values.yaml")).unwrap();
        std::os::unix::fs::symlink(&outside, chart.join("templates")).unwrap();
        let repo = tmp.path();
        let f1 = chart_fingerprint_in(&chart, repo);
        std::fs::write(outside.join("x-values.yaml"), "a: 2\n").unwrap();
        let f2 = chart_fingerprint_in(&chart, repo);
        assert_ne!(f1, f2, "a linked file's edit");
        std::fs::write(outside.join("t.yaml"), "kind: B\n").unwrap();
        let f3 = chart_fingerprint_in(&chart, repo);
        assert_ne!(f2, f3, "an edit inside a linked folder");
        // Out of the repository, a link is keyed by where it points, never followed.
        let inner = tmp.path().join("c");
        assert_eq!(chart_fingerprint_in(&chart, &inner), chart_fingerprint_in(&chart, &inner));
        std::fs::write(outside.join("t.yaml"), "kind: C\n").unwrap();
        let g = chart_fingerprint_in(&chart, &inner);
        std::fs::write(outside.join("t.yaml"), "kind: D\n").unwrap();
        assert_eq!(g, chart_fingerprint_in(&chart, &inner), "not followed out of the repository");
        assert_ne!(g, chart_fingerprint_in(&chart, repo));
        // A FIFO is named, never opened (opening it would block).
        let fifo = chart.join("values.yaml");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        assert_ne!(chart_fingerprint_in(&chart, repo), chart_fingerprint_in(&outside, repo));
    }

    #[test]
    fn a_chart_linked_to_a_big_folder_outside_the_repository_is_not_walked() {
        let tmp = tempfile::tempdir().unwrap();
        let chart = tmp.path().join("c");
        std::fs::create_dir_all(&chart).unwrap();
        std::os::unix::fs::symlink("/usr", chart.join("templates")).unwrap();
        let walk = crate::fsio::walk_chart(&chart, tmp.path());
        assert_eq!(walk.entries.len(), 1, "only the chart folder itself");
        assert_eq!(walk.leaving, [(chart.join("templates"), PathBuf::from("/usr"))]);
    }
}
