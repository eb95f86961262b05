//! The one way the harness touches files: a capped reader that reads regular
//! files only, a writer that never writes through a link out of its folder and
//! never leaves half a file, one rule for paths that leave the repository, a
//! lock beside a file, and removals that stay inside their root.
//!
//! Everything that opens, writes, renames or deletes a file goes through here
//! (`tests/layering.rs` scans the sources for any other way). A FIFO would
//! block `open`, `/dev/zero` never ends, a link can lead anywhere: each is
//! refused here once, instead of at every call site.

use crate::paths::kind_of;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

/// How many bytes one read may take, by kind of file. A file over its limit is
/// refused, and the read itself is capped, so a file that grows (or never
/// ends) stops there.
pub mod limit {
    /// One chart source file (Chart.yaml, values, ci, schema, template, README).
    pub const CHART_FILE: u64 = 1024 * 1024;
    /// One settings or side file: ct.yaml, harness.yaml, the lint config, a
    /// Chart.yaml schema, `images.lock.yaml`, a stack file or its values, a hook,
    /// a credentials file, an exported object.
    pub const SETTINGS_FILE: u64 = 1024 * 1024;
    /// A chart repository's `index.yaml` (large public indexes are tens of MB).
    pub const INDEX_FILE: u64 = 64 * 1024 * 1024;
    /// A chart archive (`.tgz`) or a downloaded tool archive, streamed, never held whole.
    pub const ARCHIVE: u64 = 256 * 1024 * 1024;
    /// One Kubernetes JSON schema file (`_definitions.json` is about 2 MB).
    pub const KUBE_SCHEMA: u64 = 16 * 1024 * 1024;
    /// A stamp, checksum or marker file the harness writes for itself.
    pub const STAMP: u64 = 64 * 1024;
    /// One file of the target branch's tree (`diff`, `lint --changed`, `stack
    /// diff`), unpacked from `git archive` as it streams: chart files are at
    /// most [`CHART_FILE`], vendored archives far below this.
    pub const TREE_FILE: u64 = 16 * 1024 * 1024;
}

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("file does not exist")]
    Missing,
    #[error("file is {size} bytes; files of this kind are limited to {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("file is not UTF-8 text (invalid byte at {line}:{column})")]
    NotUtf8 { line: usize, column: usize },
    /// A FIFO, a device, a socket (or a link to one): reading it could block
    /// forever or never end, so it is not read at all.
    #[error("not a regular file but {0}; only regular files are read")]
    NotRegular(&'static str),
    /// Named inside the repository, it resolves outside it (a link to
    /// `/proc/self/environ`, to a key in the home folder): not read.
    #[error("a link to {}, outside the repository; it is not read", .0.display())]
    LeavesRepo(PathBuf),
    #[error("cannot read file: {0}")]
    Io(String),
}

impl From<FileError> for std::io::Error {
    fn from(e: FileError) -> Self {
        match e {
            FileError::Missing => std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string()),
            e => std::io::Error::other(e.to_string()),
        }
    }
}

impl FileError {
    fn from_io(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => FileError::Missing,
            _ => FileError::Io(e.to_string()),
        }
    }
}

/// Opens a regular file of at most `limit` bytes for reading (links followed),
/// returning the handle and its size. Anything else is refused before it is
/// opened, and the handle is checked again after opening, so a file swapped in
/// between is refused too. Read it through `take(limit)` (as [`read_capped`]
/// and [`hash_capped`] do) so growth after the check cannot run past the limit.
pub fn open_capped(path: &Path, limit: u64) -> Result<(std::fs::File, u64), FileError> {
    note_read(path);
    let meta = std::fs::metadata(path).map_err(FileError::from_io)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular(kind_of(meta.file_type())));
    }
    if meta.len() > limit {
        return Err(FileError::TooLarge { size: meta.len(), limit });
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(target_os = "linux")]
    {
        // O_NONBLOCK: should a FIFO be swapped in after the check, `open` returns at once.
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, O_NONBLOCK);
    }
    let file = opts.open(path).map_err(FileError::from_io)?;
    let meta = file.metadata().map_err(FileError::from_io)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular(kind_of(meta.file_type())));
    }
    Ok((file, meta.len()))
}

#[cfg(target_os = "linux")]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(target_os = "linux")]
const O_NOFOLLOW: i32 = 0o400000;

/// Reads at most `limit` bytes of a regular file (see [`open_capped`]).
pub fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let (file, size) = open_capped(path, limit)?;
    let mut bytes = Vec::with_capacity(size.min(limit) as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(FileError::from_io)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge { size: bytes.len() as u64, limit });
    }
    Ok(bytes)
}

/// Reads a text file of at most `limit` bytes, refusing non-regular and non-UTF-8 content.
pub fn read_text(path: &Path, limit: u64) -> Result<String, FileError> {
    let bytes = read_capped(path, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        // Valid prefix, so this cannot fail; the position is where the bad byte sits.
        let prefix = std::str::from_utf8(good).unwrap_or_default();
        let line = prefix.matches('\n').count() + 1;
        let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        FileError::NotUtf8 { line, column }
    })
}

/// A file of the repository, read as text: [`read_text`], except that a path
/// named inside the repository (the working directory, which is the catalog
/// root by the CLI's contract) that resolves outside it is refused
/// ([`FileError::LeavesRepo`]). A path named outside it (a flag, a temp
/// folder) is read as named.
pub fn read_repo_text(path: &Path, limit: u64) -> Result<String, FileError> {
    // A device or FIFO is named as such first, wherever it is.
    if let Ok(m) = std::fs::metadata(path)
        && !m.is_file()
    {
        return Err(FileError::NotRegular(kind_of(m.file_type())));
    }
    if let Some(target) = leaves_repo(path) {
        return Err(FileError::LeavesRepo(target));
    }
    read_text(path, limit)
}

/// Where `path` leads when it is named inside the working directory but resolves outside it.
pub fn leaves_repo(path: &Path) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?.canonicalize().ok()?;
    let named = crate::paths::clean(&cwd.join(path));
    if !named.starts_with(&cwd) {
        return None;
    }
    let real = path.canonicalize().ok()?;
    (!real.starts_with(&cwd)).then_some(real)
}

/// [`read_text`], with a missing file as `None`.
pub fn read_text_optional(path: &Path, limit: u64) -> Result<Option<String>, FileError> {
    match read_text(path, limit) {
        Ok(t) => Ok(Some(t)),
        Err(FileError::Missing) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The sha256 of a regular file of at most `limit` bytes, streamed (never held whole).
pub fn hash_capped(path: &Path, limit: u64) -> Result<[u8; 32], FileError> {
    use sha2::Digest;
    let (file, _) = open_capped(path, limit)?;
    let mut h = sha2::Sha256::new();
    let n = std::io::copy(&mut file.take(limit.saturating_add(1)), &mut h).map_err(FileError::from_io)?;
    if n > limit {
        return Err(FileError::TooLarge { size: n, limit });
    }
    Ok(h.finalize().into())
}

/// Why a path named by an input (a stack's `values:`, an index's `urls`, a
/// setting) is refused: it leaves the repository (or the folder it must stay in).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Outside {
    #[error("{shown} is an absolute path; paths are relative, inside {root}")]
    Absolute { shown: PathBuf, root: PathBuf },
    #[error("{shown} leaves {root} through `..`")]
    Climbs { shown: PathBuf, root: PathBuf },
    #[error("{shown} is a link to {target}, outside {root}")]
    Link { shown: PathBuf, target: PathBuf, root: PathBuf },
}

/// The one rule for a path an input names: `path` (relative to `base`, a
/// folder inside `root`) must stay inside `root` — not absolute, no `..` above
/// it, and, when it exists, every link on the way resolved inside it. Returns
/// the joined path. A path that does not exist yet passes the lexical rule only
/// (the read or write that follows reports it missing).
pub fn confine(root: &Path, base: &Path, path: &Path) -> Result<PathBuf, Outside> {
    if path.has_root() || path.components().any(|c| matches!(c, Component::Prefix(_))) {
        return Err(Outside::Absolute { shown: path.to_owned(), root: root.to_owned() });
    }
    let joined = base.join(path);
    // Both absolute (lexically: `""` is the working directory), so a relative
    // root and an absolute base compare.
    let absolute = |p: &Path| std::path::absolute(or_dot(p)).unwrap_or_else(|_| p.to_path_buf());
    let clean_root = crate::paths::clean(&absolute(root));
    let clean = crate::paths::clean(&absolute(&joined));
    // `clean` keeps a leading `..` it cannot remove: such a path is above the root.
    if !clean.starts_with(&clean_root) || clean.components().any(|c| c == Component::ParentDir) {
        return Err(Outside::Climbs { shown: path.to_owned(), root: root.to_owned() });
    }
    check_links(root, &joined).map_err(|target| Outside::Link {
        shown: path.to_owned(),
        target,
        root: root.to_owned(),
    })?;
    Ok(joined)
}

/// Whether `path` (existing or not) resolves inside `root`, links followed:
/// the deepest existing ancestor of `path` is resolved and must lie in `root`.
/// `Err` carries where it leads.
pub fn check_links(root: &Path, path: &Path) -> Result<(), PathBuf> {
    let Ok(root) = or_dot(root).canonicalize() else { return Ok(()) };
    let mut probe = path;
    loop {
        match or_dot(probe).canonicalize() {
            Ok(real) if real.starts_with(&root) => return Ok(()),
            Ok(real) => return Err(real),
            Err(_) => {
                // A dangling link is judged by where it points.
                if let Ok(target) = std::fs::read_link(probe)
                    && let Ok(from) = or_dot(probe.parent().unwrap_or(Path::new(""))).canonicalize()
                {
                    let lands = crate::paths::clean(&from.join(target));
                    if !lands.starts_with(&root) {
                        return Err(lands);
                    }
                }
                match probe.parent() {
                    Some(p) if !p.as_os_str().is_empty() => probe = p,
                    _ => return Ok(()),
                }
            }
        }
    }
}

/// Whether `path` is inside `root` once both are resolved (false when either is missing).
pub fn resolves_inside(root: &Path, path: &Path) -> bool {
    matches!((or_dot(root).canonicalize(), or_dot(path).canonicalize()), (Ok(r), Ok(p)) if p.starts_with(&r))
}

/// `""` (the working directory, as relative paths are written here) as `"."`, which resolves.
fn or_dot(path: &Path) -> &Path {
    if path.as_os_str().is_empty() { Path::new(".") } else { path }
}

/// What a walk over a chart folder (links followed, as helm follows them) saw.
#[derive(Debug, Default)]
pub struct ChartWalk {
    /// Every entry reached, links followed, `snapshots/` (at the top) left out.
    pub entries: Vec<walkdir::DirEntry>,
    /// Links whose target resolves outside the repository: never followed (a
    /// link to `/usr` is not walked, a link to `/proc/self/environ` not read).
    pub leaving: Vec<(PathBuf, PathBuf)>,
    /// Links that lead back into their own folder (helm would walk them forever).
    pub loops: Vec<PathBuf>,
}

/// Walks a chart folder the way helm reads it (links followed), but never
/// through a link whose target resolves outside `repo` (the chart folder itself
/// when the chart is not inside `repo`; `""` is the working directory).
pub fn walk_chart(dir: &Path, repo: &Path) -> ChartWalk {
    let chart = or_dot(dir).canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let repo =
        or_dot(repo).canonicalize().ok().filter(|r| chart.starts_with(r)).unwrap_or_else(|| chart.clone());
    let mut out = ChartWalk::default();
    let mut leaving = Vec::new();
    let walk = walkdir::WalkDir::new(dir).follow_links(true).into_iter().filter_entry(|e| {
        if e.depth() == 1 && e.file_name() == "snapshots" {
            return false;
        }
        // A link to a device or FIFO is yielded (and named as one); it has nothing to walk.
        if e.path_is_symlink()
            && let Ok(target) = e.path().canonicalize()
            && !target.starts_with(&repo)
            && (e.file_type().is_dir() || e.file_type().is_file())
        {
            leaving.push((e.path().to_path_buf(), target));
            return false;
        }
        true
    });
    for e in walk {
        match e {
            Ok(e) => out.entries.push(e),
            Err(e) => {
                if let Some(path) = e.path().filter(|_| e.loop_ancestor().is_some()) {
                    out.loops.push(path.to_path_buf());
                }
            }
        }
    }
    out.leaving = leaving;
    out
}

/// Why a file could not be written, named.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{path}: the folder is {target}, outside {root}; nothing is written through a link leaving it")]
    FolderOutside { path: PathBuf, target: PathBuf, root: PathBuf },
    #[error("{path} is a link to {target}, outside {root}; nothing is written through it")]
    LinkOutside { path: PathBuf, target: PathBuf, root: PathBuf },
    #[error("{path} is {kind}, not a regular file; it is not replaced")]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl From<WriteError> for std::io::Error {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Io { source, .. } => source,
            e => std::io::Error::new(std::io::ErrorKind::PermissionDenied, e.to_string()),
        }
    }
}

/// Writes `bytes` to `path` atomically (a temp file in the same folder, synced,
/// then renamed over it), confined to `path`'s own folder: an existing link at
/// `path` is written through only when its target is in that folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let dir = parent(path);
    write_within(&dir, path, bytes)
}

/// [`write_atomic`], confined to `root`: the folder of `path` and the target
/// of a link at `path` must resolve inside `root`. A link inside is kept (its
/// target is replaced); a FIFO, device, socket or folder at `path` is refused,
/// never opened. The new file keeps the mode of the one it replaces (0644 when new).
pub fn write_within(root: &Path, path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write(root, path, bytes, true)
}

/// [`write_within`] for a file that can be recomputed (a cache entry): as
/// atomic and as confined, but not synced to disk (a crash may lose it, never
/// leave half of it).
pub fn write_scratch(root: &Path, path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write(root, path, bytes, false)
}

fn write(root: &Path, path: &Path, bytes: &[u8], sync: bool) -> Result<(), WriteError> {
    let dest = destination(root, path)?;
    let io = |source| WriteError::Io { path: path.to_owned(), source };
    let dir = parent(&dest);
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut tmp = tempfile::Builder::new().prefix(&format!(".{name}.")).tempfile_in(&dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    let perms = std::fs::metadata(&dest).ok().filter(|m| m.is_file()).map(|m| m.permissions());
    set_mode(tmp.as_file(), perms).map_err(io)?;
    if sync {
        tmp.as_file().sync_all().map_err(io)?;
    }
    tmp.persist(&dest).map_err(|e| io(e.error))?;
    Ok(())
}

/// A file of the repository, written as [`write_within`] the working directory
/// (the catalog root) when it is named inside it: a link there may lead
/// anywhere inside the repository, never out of it. A path named outside it (a
/// flag, a temp folder) is confined to its own folder.
pub fn write_repo_file(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let named_inside = std::env::current_dir()
        .ok()
        .and_then(|cwd| cwd.canonicalize().ok())
        .is_some_and(|cwd| crate::paths::clean(&cwd.join(path)).starts_with(cwd));
    if named_inside { write_within(Path::new(""), path, bytes) } else { write_atomic(path, bytes) }
}

/// Where a write to `path` lands once checked against `root` (see [`write_within`]).
fn destination(root: &Path, path: &Path) -> Result<PathBuf, WriteError> {
    let io = |source| WriteError::Io { path: path.to_owned(), source };
    let root_real = or_dot(root).canonicalize().map_err(io)?;
    let dir_real = parent(path).canonicalize().map_err(io)?;
    if !dir_real.starts_with(&root_real) {
        return Err(WriteError::FolderOutside {
            path: path.to_owned(),
            target: dir_real,
            root: root.to_owned(),
        });
    }
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(path.to_owned()),
        Err(e) => Err(io(e)),
        Ok(m) if m.file_type().is_symlink() => {
            let target = match path.canonicalize() {
                Ok(t) => t,
                // A dangling link: where it would lead is not checked, so it is not followed.
                Err(_) => {
                    let to = std::fs::read_link(path).unwrap_or_default();
                    return Err(WriteError::LinkOutside {
                        path: path.to_owned(),
                        target: to,
                        root: root.to_owned(),
                    });
                }
            };
            if !target.starts_with(&root_real) {
                return Err(WriteError::LinkOutside { path: path.to_owned(), target, root: root.to_owned() });
            }
            let meta = std::fs::metadata(&target).map_err(io)?;
            if !meta.is_file() {
                return Err(WriteError::NotRegular {
                    path: path.to_owned(),
                    kind: kind_of(meta.file_type()),
                });
            }
            Ok(target)
        }
        Ok(m) if m.is_file() => Ok(path.to_owned()),
        Ok(m) => Err(WriteError::NotRegular { path: path.to_owned(), kind: kind_of(m.file_type()) }),
    }
}

fn parent(path: &Path) -> PathBuf {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
}

#[cfg(unix)]
fn set_mode(file: &std::fs::File, keep: Option<std::fs::Permissions>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // Temp files are private (0600); what the harness writes is meant to be read.
    file.set_permissions(keep.unwrap_or_else(|| std::fs::Permissions::from_mode(0o644)))
}

#[cfg(not(unix))]
fn set_mode(file: &std::fs::File, keep: Option<std::fs::Permissions>) -> std::io::Result<()> {
    keep.map_or(Ok(()), |p| file.set_permissions(p))
}

/// Creates (or truncates) a file for streaming output (a log, an extracted
/// member) that must not exist as anything but a regular file: an existing
/// link or special file is refused, never followed.
pub fn create_output(path: &Path) -> Result<std::fs::File, WriteError> {
    let io = |source| WriteError::Io { path: path.to_owned(), source };
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.is_file() => {
            return Err(WriteError::NotRegular { path: path.to_owned(), kind: link_or_kind(&m) });
        }
        _ => {}
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(target_os = "linux")]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, O_NOFOLLOW | O_NONBLOCK);
    opts.open(path).map_err(io)
}

fn link_or_kind(m: &std::fs::Metadata) -> &'static str {
    if m.file_type().is_symlink() { "a symbolic link" } else { kind_of(m.file_type()) }
}

/// A file being built beside its destination (a download, an archive): a
/// private temp file, deleted unless [`Staged::publish`]ed, which renames it
/// into place under the rules of [`write_within`] (the destination's folder).
#[derive(Debug)]
pub struct Staged(tempfile::NamedTempFile);

impl Staged {
    pub fn new_in(dir: &Path, prefix: &str) -> Result<Self, WriteError> {
        let tmp = tempfile::Builder::new()
            .prefix(prefix)
            .tempfile_in(dir)
            .map_err(|source| WriteError::Io { path: dir.to_owned(), source })?;
        Ok(Self(tmp))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    pub fn file(&mut self) -> &mut std::fs::File {
        self.0.as_file_mut()
    }

    /// Renames the file over `dest` (a link there is replaced only when it leads
    /// inside `dest`'s folder; a special file there is refused).
    pub fn publish(self, dest: &Path) -> Result<(), WriteError> {
        let dest = destination(&parent(dest), dest)?;
        self.0.persist(&dest).map_err(|e| WriteError::Io { path: dest.clone(), source: e.error })?;
        Ok(())
    }
}

/// Unpacks a tar stream (`git archive` of the target branch) into `dest` as it
/// arrives, never holding it whole, under the rules the working tree is read
/// by: regular files of at most `limit` bytes, folders, and links whose target
/// stays inside `dest`. Anything else stops the unpacking with the entry named
/// (a link to `/etc` or `../../..`, a 600 MB file, a device).
pub fn unpack_confined(stream: impl Read, dest: &Path, limit: u64) -> Result<(), String> {
    let mut archive = tar::Archive::new(stream);
    let entries = archive.entries().map_err(|e| e.to_string())?;
    for entry in entries {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let name = entry.path().map_err(|e| e.to_string())?.into_owned();
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous if entry.size() > limit => {
                return Err(format!(
                    "{} is {} bytes; files of the tree are limited to {limit} bytes",
                    name.display(),
                    entry.size()
                ));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::Directory => {}
            tar::EntryType::Symlink => {
                let target = entry.link_name().map_err(|e| e.to_string())?.unwrap_or_default().into_owned();
                let from = name.parent().unwrap_or(Path::new(""));
                let lands = crate::paths::clean(&from.join(&target));
                if target.has_root() || lands.components().next() == Some(Component::ParentDir) {
                    return Err(format!(
                        "{} is a link to {}, outside the tree; it is not followed",
                        name.display(),
                        target.display()
                    ));
                }
            }
            // Headers git writes for long names and the commit id: nothing to unpack.
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => continue,
            other => {
                return Err(format!(
                    "{} is a {other:?} entry; only files, folders and links are unpacked",
                    name.display()
                ));
            }
        }
        // `unpack_in` refuses names that climb out of `dest`.
        entry.unpack_in(dest).map_err(|e| format!("cannot unpack {}: {e}", name.display()))?;
    }
    Ok(())
}

/// Makes a symbolic link (a private cache pointing at the provisioned tools).
#[cfg(unix)]
pub fn symlink(target: &Path, link: &Path) -> Result<(), WriteError> {
    std::os::unix::fs::symlink(target, link)
        .map_err(|source| WriteError::Io { path: link.to_owned(), source })
}

/// Sets a regular file's modification time to now (a link or special file is left alone).
pub fn touch(path: &Path) -> Result<(), WriteError> {
    let io = |source| WriteError::Io { path: path.to_owned(), source };
    let m = std::fs::symlink_metadata(path).map_err(io)?;
    if !m.is_file() {
        return Err(WriteError::NotRegular { path: path.to_owned(), kind: link_or_kind(&m) });
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    #[cfg(target_os = "linux")]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, O_NOFOLLOW | O_NONBLOCK);
    opts.open(path).and_then(|f| f.set_modified(std::time::SystemTime::now())).map_err(io)
}

/// An exclusive lock on the folder holding a file, held until dropped. Two
/// runs that rewrite one file take it in turn, so neither loses the other's
/// update. The folder itself is locked (`flock` on its handle), so no lock file
/// is left in the repository, and a lock file cannot be swapped for a link.
#[derive(Debug)]
pub struct FileLock {
    _dir: std::fs::File,
}

/// Blocks until the lock on the folder holding `path` is held.
pub fn lock_beside(path: &Path) -> Result<FileLock, WriteError> {
    let dir = parent(path);
    let io = |source| WriteError::Io { path: dir.clone(), source };
    let handle = std::fs::File::open(&dir).map_err(io)?;
    if !handle.metadata().map_err(io)?.is_dir() {
        return Err(WriteError::NotRegular { path: dir.clone(), kind: "not a folder" });
    }
    handle.lock().map_err(io)?;
    Ok(FileLock { _dir: handle })
}

/// Removes a file (or a link itself, never its target) when its folder
/// resolves inside `root`. A missing file is not an error.
pub fn remove_file_within(root: &Path, path: &Path) -> Result<(), WriteError> {
    let io = |source| WriteError::Io { path: path.to_owned(), source };
    check_folder(root, path)?;
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(e)),
        Ok(m) if m.is_dir() => Err(WriteError::NotRegular { path: path.to_owned(), kind: "a folder" }),
        Ok(_) => std::fs::remove_file(path).map_err(io),
    }
}

/// Removes a folder and everything in it, when it resolves inside `root`; a
/// link at `path` is removed itself (what it points at is left alone), and the
/// links inside are removed, never followed.
pub fn remove_dir_all_within(root: &Path, path: &Path) -> Result<(), WriteError> {
    let io = |source| WriteError::Io { path: path.to_owned(), source };
    check_folder(root, path)?;
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(e)),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).map_err(io),
        Ok(_) => std::fs::remove_file(path).map_err(io),
    }
}

fn check_folder(root: &Path, path: &Path) -> Result<(), WriteError> {
    let io = |source| WriteError::Io { path: path.to_owned(), source };
    let root_real = or_dot(root).canonicalize().map_err(io)?;
    let dir_real = parent(path).canonicalize().map_err(io)?;
    if dir_real.starts_with(&root_real) {
        Ok(())
    } else {
        Err(WriteError::FolderOutside { path: path.to_owned(), target: dir_real, root: root.to_owned() })
    }
}

/// Renames `from` to `to` inside one folder tree (both under `root`): a
/// publish step for files and folders built beside their destination.
pub fn rename_within(root: &Path, from: &Path, to: &Path) -> Result<(), WriteError> {
    check_folder(root, from)?;
    check_folder(root, to)?;
    if let Ok(m) = std::fs::symlink_metadata(to)
        && !(m.is_file() || m.is_dir())
    {
        return Err(WriteError::NotRegular { path: to.to_owned(), kind: link_or_kind(&m) });
    }
    std::fs::rename(from, to).map_err(|source| WriteError::Io { path: to.to_owned(), source })
}

/// Puts the folder `staged` (built beside `dest`, in the same folder) in the
/// place of `dest` in one step (`renameat2` with `RENAME_EXCHANGE`; two
/// renames where the file system cannot exchange). Afterwards `staged` holds
/// the old folder (or nothing), for its owner to remove. A reader sees the old
/// folder or the new one, never a mix. `dest` must be a folder or missing; a
/// link there is refused (it is not followed, nor replaced).
pub fn swap_dir(staged: &Path, dest: &Path) -> Result<(), WriteError> {
    let io = |source| WriteError::Io { path: dest.to_owned(), source };
    check_folder(&parent(dest), staged)?;
    match std::fs::symlink_metadata(dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Nothing to keep: `staged` becomes `dest`, and an empty folder takes its name back.
            std::fs::rename(staged, dest).map_err(io)?;
            return std::fs::create_dir(staged).map_err(io);
        }
        Err(e) => return Err(io(e)),
        Ok(m) if m.is_dir() => {}
        Ok(m) => return Err(WriteError::NotRegular { path: dest.to_owned(), kind: link_or_kind(&m) }),
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, staged, CWD, dest, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(()),
            Err(e) if exchange_unsupported(e) => {}
            Err(e) => return Err(io(e.into())),
        }
    }
    swap_by_renames(staged, dest)
}

/// Whether `renameat2(RENAME_EXCHANGE)` failed because the file system (or
/// kernel) cannot exchange, rather than for a reason renames would meet too.
#[cfg(target_os = "linux")]
fn exchange_unsupported(e: rustix::io::Errno) -> bool {
    e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS
}

/// [`swap_dir`] where the file system cannot exchange: three renames (a crash
/// between them leaves both folders, side by side, never a mix).
fn swap_by_renames(staged: &Path, dest: &Path) -> Result<(), WriteError> {
    let io = |source| WriteError::Io { path: dest.to_owned(), source };
    let mut aside = staged.as_os_str().to_owned();
    aside.push(".old");
    let aside = PathBuf::from(aside);
    std::fs::rename(dest, &aside).map_err(io)?;
    std::fs::rename(staged, dest).map_err(io)?;
    std::fs::rename(&aside, staged).map_err(io)
}

/// Copies a regular file of at most `limit` bytes to `to`, atomically, inside `to`'s folder.
pub fn copy_capped(from: &Path, to: &Path, limit: u64) -> Result<(), WriteError> {
    let (file, _) = open_capped(from, limit).map_err(|e| WriteError::Io {
        path: from.to_owned(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let io = |source| WriteError::Io { path: to.to_owned(), source };
    let dir = parent(to);
    let dest = destination(&dir, to)?;
    let mut tmp = tempfile::Builder::new().prefix(".copy.").tempfile_in(parent(&dest)).map_err(io)?;
    let n = std::io::copy(&mut file.take(limit.saturating_add(1)), &mut tmp).map_err(io)?;
    if n > limit {
        return Err(io(std::io::Error::other(format!(
            "{} grew over {limit} bytes while copied",
            from.display()
        ))));
    }
    set_mode(tmp.as_file(), None).map_err(io)?;
    tmp.persist(&dest).map_err(|e| io(e.error))?;
    Ok(())
}

/// `NEX_TRACE_READS=<file>`: every file the harness reads is appended to
/// `<file>`, one absolute path a line. Shows what a run reads: a warm lint of
/// one named chart reads that chart, its `file://` dependencies, the settings
/// and the cache (`xtask/tests/warm.rs` holds it to that).
pub const TRACE_READS: &str = "NEX_TRACE_READS";

/// Notes a read in the [`TRACE_READS`] file (nothing when it is not set).
/// Every read here notes itself; a memo that stands for a read notes it too.
pub fn note_read(path: &Path) {
    use std::sync::{Mutex, OnceLock};
    static TRACE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    let trace = TRACE.get_or_init(|| {
        let target = std::env::var_os(TRACE_READS).filter(|v| !v.is_empty())?;
        let file = std::fs::OpenOptions::new().create(true).append(true).open(target).ok()?;
        Some(Mutex::new(file))
    });
    if let Some(file) = trace {
        let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(file, "{}", shown.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fifo(path: &Path) {
        let made = std::process::Command::new("mkfifo").arg(path).status().unwrap();
        assert!(made.success());
    }

    #[test]
    fn only_regular_files_are_read_and_reads_are_capped() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("values.yaml");
        fifo(&f);
        // Would block forever if opened for reading with no writer.
        assert_eq!(read_text(&f, 10), Err(FileError::NotRegular("a named pipe (FIFO)")));
        let zero = tmp.path().join("zero.yaml");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert_eq!(read_capped(&zero, 10), Err(FileError::NotRegular("a character device")));
        assert_eq!(hash_capped(&zero, 10), Err(FileError::NotRegular("a character device")));
        assert_eq!(read_text(tmp.path(), 10), Err(FileError::NotRegular("a folder")));
        let p = tmp.path().join("a.yaml");
        std::fs::write(&p, "0123456789").unwrap();
        assert_eq!(read_capped(&p, 10).unwrap(), b"0123456789");
        assert_eq!(read_capped(&p, 9), Err(FileError::TooLarge { size: 10, limit: 9 }));
        assert_eq!(hash_capped(&p, 9), Err(FileError::TooLarge { size: 10, limit: 9 }));
        assert_eq!(read_capped(&tmp.path().join("none"), 9), Err(FileError::Missing));
        assert_eq!(read_text_optional(&tmp.path().join("none"), 9), Ok(None));
        assert_eq!(read_text_optional(&p, 10), Ok(Some("0123456789".into())));
        assert_eq!(
            crate::cache::hex(&hash_capped(&p, 10).unwrap()),
            "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882"
        );
        // /proc files report size 0 and yet hold bytes: the read is capped all the same.
        assert!(matches!(read_capped(Path::new("/proc/self/status"), 8), Err(FileError::TooLarge { .. })));
        std::fs::write(&p, b"a\nb: caf\xe9").unwrap();
        assert_eq!(read_text(&p, 100), Err(FileError::NotUtf8 { line: 2, column: 7 }));
    }

    #[test]
    fn paths_leaving_the_root_are_refused_by_one_rule() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        std::fs::create_dir_all(root.join("stacks")).unwrap();
        std::fs::create_dir_all(root.join("charts/a")).unwrap();
        std::fs::write(tmp.path().join("secret"), "s").unwrap();
        let stacks = root.join("stacks");
        assert_eq!(confine(&root, &stacks, Path::new("../charts/a")).unwrap(), stacks.join("../charts/a"));
        assert_eq!(confine(&root, &stacks, Path::new("new.yaml")).unwrap(), stacks.join("new.yaml"));
        assert!(matches!(confine(&root, &stacks, Path::new("/etc/passwd")), Err(Outside::Absolute { .. })));
        assert!(matches!(confine(&root, &stacks, Path::new("../../secret")), Err(Outside::Climbs { .. })));
        assert!(confine(&root, &root, Path::new("../repo/x")).is_ok());
        assert!(matches!(confine(&root, &root, Path::new("a/../../x")), Err(Outside::Climbs { .. })));
        std::os::unix::fs::symlink(tmp.path().join("secret"), stacks.join("v.yaml")).unwrap();
        let e = confine(&root, &stacks, Path::new("v.yaml")).unwrap_err();
        assert!(matches!(&e, Outside::Link { target, .. } if target.ends_with("secret")), "{e}");
        // A path under a linked folder leaving the root, even one that does not exist.
        std::os::unix::fs::symlink(tmp.path(), stacks.join("up")).unwrap();
        assert!(matches!(confine(&root, &stacks, Path::new("up/none.yaml")), Err(Outside::Link { .. })));
        // A dangling absolute link pointing outside.
        std::os::unix::fs::symlink("/nonexistent/x", stacks.join("dangling")).unwrap();
        assert!(matches!(confine(&root, &stacks, Path::new("dangling")), Err(Outside::Link { .. })));
        std::os::unix::fs::symlink("../charts/a", stacks.join("in")).unwrap();
        assert!(confine(&root, &stacks, Path::new("in")).is_ok());
        assert!(resolves_inside(&root, &stacks.join("in")));
        assert!(!resolves_inside(&root, &stacks.join("v.yaml")));
        assert!(!resolves_inside(&root, &stacks.join("none")));
    }

    #[test]
    fn writes_are_atomic_and_never_go_through_a_link_out_of_their_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        std::fs::create_dir_all(root.join("docs")).unwrap();
        let outside = tmp.path().join("outside.md");
        std::fs::write(&outside, "keep").unwrap();
        let readme = root.join("README.md");
        write_atomic(&readme, b"one").unwrap();
        assert_eq!(std::fs::read(&readme).unwrap(), b"one");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&readme).unwrap().permissions().mode() & 0o777, 0o644);
        std::fs::set_permissions(&readme, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&readme, b"two").unwrap();
        assert_eq!(std::fs::metadata(&readme).unwrap().permissions().mode() & 0o777, 0o600);
        // A link out of the folder is refused and its target untouched.
        let link = root.join("docs/README.md");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let e = write_within(&root, &link, b"x").unwrap_err();
        assert!(matches!(e, WriteError::LinkOutside { .. }), "{e}");
        assert_eq!(std::fs::read(&outside).unwrap(), b"keep");
        // A link inside the root is kept, and its target replaced.
        std::fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink("../README.md", &link).unwrap();
        write_within(&root, &link, b"three").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&readme).unwrap(), b"three");
        // …but not when confined to its own folder.
        assert!(matches!(write_atomic(&link, b"x"), Err(WriteError::LinkOutside { .. })));
        // A dangling link is not followed.
        let dangling = root.join("dangling");
        std::os::unix::fs::symlink(tmp.path().join("new"), &dangling).unwrap();
        assert!(matches!(write_within(&root, &dangling, b"x"), Err(WriteError::LinkOutside { .. })));
        assert!(!tmp.path().join("new").exists());
        // A FIFO is never opened (that would block), a folder never replaced.
        let f = root.join("fifo");
        fifo(&f);
        assert!(matches!(
            write_atomic(&f, b"x"),
            Err(WriteError::NotRegular { kind: "a named pipe (FIFO)", .. })
        ));
        assert!(matches!(write_atomic(&root.join("docs"), b"x"), Err(WriteError::NotRegular { .. })));
        // A folder reached through a link out of the root.
        std::os::unix::fs::symlink(tmp.path(), root.join("up")).unwrap();
        let e = write_within(&root, &root.join("up/outside.md"), b"x").unwrap_err();
        assert!(matches!(e, WriteError::FolderOutside { .. }), "{e}");
        assert_eq!(std::fs::read(&outside).unwrap(), b"keep");
        // No temp file is left behind.
        let names: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(!names.iter().any(|n| n.to_string_lossy().starts_with('.')), "{names:?}");
        let io: std::io::Error = write_atomic(&f, b"x").unwrap_err().into();
        assert_eq!(io.kind(), std::io::ErrorKind::PermissionDenied);
    }

    #[test]
    fn removals_stay_inside_their_root_and_never_follow_links() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("cache");
        let outside = tmp.path().join("keep");
        std::fs::create_dir_all(root.join("ab")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("precious"), "p").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("cd")).unwrap();
        std::os::unix::fs::symlink(outside.join("precious"), root.join("ab/entry.json")).unwrap();
        remove_file_within(&root, &root.join("ab/entry.json")).unwrap();
        assert!(outside.join("precious").exists());
        remove_dir_all_within(&root, &root.join("cd")).unwrap();
        assert!(outside.join("precious").exists() && !root.join("cd").exists());
        std::os::unix::fs::symlink(&outside, root.join("cd")).unwrap();
        let e = remove_file_within(&root, &root.join("cd/precious")).unwrap_err();
        assert!(matches!(e, WriteError::FolderOutside { .. }), "{e}");
        assert!(matches!(
            remove_dir_all_within(&root, &root.join("cd/x")),
            Err(WriteError::FolderOutside { .. })
        ));
        assert!(matches!(remove_file_within(&root, &root.join("ab")), Err(WriteError::NotRegular { .. })));
        remove_file_within(&root, &root.join("ab/none")).unwrap();
        remove_dir_all_within(&root, &root.join("ab")).unwrap();
        assert!(!root.join("ab").exists() && outside.join("precious").exists());
        // Renames too.
        std::fs::write(root.join("a"), "a").unwrap();
        rename_within(&root, &root.join("a"), &root.join("b")).unwrap();
        assert_eq!(std::fs::read(root.join("b")).unwrap(), b"a");
        assert!(rename_within(&root, &root.join("b"), &root.join("cd/b")).is_err());
        std::os::unix::fs::symlink("b", root.join("l")).unwrap();
        assert!(matches!(
            rename_within(&root, &root.join("b"), &root.join("l")),
            Err(WriteError::NotRegular { .. })
        ));
    }

    #[test]
    fn copies_are_capped_and_logs_refuse_links() {
        let tmp = tempfile::tempdir().unwrap();
        let from = tmp.path().join("a.tgz");
        std::fs::write(&from, "0123").unwrap();
        copy_capped(&from, &tmp.path().join("b.tgz"), 4).unwrap();
        assert_eq!(std::fs::read(tmp.path().join("b.tgz")).unwrap(), b"0123");
        assert!(copy_capped(&from, &tmp.path().join("c.tgz"), 3).is_err());
        assert!(!tmp.path().join("c.tgz").exists());
        let log = tmp.path().join("log");
        std::os::unix::fs::symlink(&from, &log).unwrap();
        assert!(matches!(create_output(&log), Err(WriteError::NotRegular { kind: "a symbolic link", .. })));
        assert_eq!(std::fs::read(&from).unwrap(), b"0123");
        let ok = tmp.path().join("ok.log");
        std::fs::write(&ok, "old").unwrap();
        create_output(&ok).unwrap().write_all(b"new").unwrap();
        assert_eq!(std::fs::read(&ok).unwrap(), b"new");
    }

    #[test]
    fn removals_of_what_is_not_there_succeed_and_links_go_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("missing");
        assert!(remove_dir_all_within(tmp.path(), &missing).is_ok());
        assert!(remove_file_within(tmp.path(), &missing).is_ok());
        // A link to a folder is removed itself; the folder it names stays whole.
        let kept = tmp.path().join("kept");
        std::fs::create_dir(&kept).unwrap();
        std::fs::write(kept.join("f"), "x").unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&kept, &link).unwrap();
        remove_dir_all_within(tmp.path(), &link).unwrap();
        assert!(std::fs::symlink_metadata(&link).is_err() && kept.join("f").is_file());
        // A file is removed as a file; a path through a file is an error, not "missing".
        let file = tmp.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(matches!(remove_dir_all_within(tmp.path(), &file.join("child")), Err(WriteError::Io { .. })));
        assert!(matches!(remove_file_within(tmp.path(), &file.join("child")), Err(WriteError::Io { .. })));
        remove_dir_all_within(tmp.path(), &file).unwrap();
        assert!(!file.exists());
        // A folder is removed with what it holds, never one outside the root.
        remove_dir_all_within(tmp.path(), &kept).unwrap();
        assert!(!kept.exists());
        let other = tempfile::tempdir().unwrap();
        std::fs::create_dir(other.path().join("d")).unwrap();
        assert!(matches!(
            remove_dir_all_within(tmp.path(), &other.path().join("d")),
            Err(WriteError::FolderOutside { .. })
        ));
        assert!(other.path().join("d").is_dir());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn only_an_exchange_the_system_lacks_falls_back_to_renames() {
        use rustix::io::Errno;
        assert!(exchange_unsupported(Errno::INVAL) && exchange_unsupported(Errno::NOSYS));
        assert!(!exchange_unsupported(Errno::NOENT) && !exchange_unsupported(Errno::ACCESS));
    }

    #[test]
    fn folders_are_swapped_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let (dest, staged) = (tmp.path().join("gitops"), tmp.path().join(".gitops.new"));
        let fill = |dir: &Path, name: &str| {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(name), name).unwrap();
        };
        let names = |dir: &Path| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        // No destination yet: the staged folder becomes it, an empty one is left in its place.
        fill(&staged, "a.yaml");
        swap_dir(&staged, &dest).unwrap();
        assert_eq!((names(&dest), names(&staged)), (vec!["a.yaml".to_owned()], vec![]));
        // An existing one is exchanged: the old export is where the staged one was.
        fill(&staged, "b.yaml");
        swap_dir(&staged, &dest).unwrap();
        assert_eq!((names(&dest), names(&staged)), (vec!["b.yaml".to_owned()], vec!["a.yaml".to_owned()]));
        // The same by renames, where exchanging is not supported.
        swap_by_renames(&staged, &dest).unwrap();
        assert_eq!((names(&dest), names(&staged)), (vec!["a.yaml".to_owned()], vec!["b.yaml".to_owned()]));
        assert!(!tmp.path().join(".gitops.new.old").exists());
        // A link or a file in the destination's place is refused, never followed.
        let link = tmp.path().join("linked");
        std::os::unix::fs::symlink(&dest, &link).unwrap();
        assert!(matches!(
            swap_dir(&staged, &link),
            Err(WriteError::NotRegular { kind: "a symbolic link", .. })
        ));
        assert_eq!(names(&dest), ["a.yaml"]);
        // A staged folder outside the destination's folder is refused.
        let other = tempfile::tempdir().unwrap();
        assert!(matches!(swap_dir(other.path(), &dest), Err(WriteError::FolderOutside { .. })));
    }

    #[test]
    fn staged_files_are_published_under_the_writers_rules() {
        let tmp = tempfile::tempdir().unwrap();
        let mut staged = Staged::new_in(tmp.path(), ".fetch-").unwrap();
        staged.file().write_all(b"tool").unwrap();
        let temp = staged.path().to_path_buf();
        assert!(temp.file_name().unwrap().to_string_lossy().starts_with(".fetch-"));
        staged.publish(&tmp.path().join("helm")).unwrap();
        assert_eq!(std::fs::read(tmp.path().join("helm")).unwrap(), b"tool");
        assert!(!temp.exists());
        let f = tmp.path().join("fifo");
        fifo(&f);
        let staged = Staged::new_in(tmp.path(), ".fetch-").unwrap();
        let temp = staged.path().to_path_buf();
        assert!(matches!(staged.publish(&f), Err(WriteError::NotRegular { .. })));
        assert!(!temp.exists(), "an unpublished file is removed");
        assert!(Staged::new_in(&tmp.path().join("none"), "x").is_err());
        // touch: a regular file's time moves; a link is left alone.
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1);
        std::fs::File::options()
            .write(true)
            .open(tmp.path().join("helm"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        touch(&tmp.path().join("helm")).unwrap();
        assert!(std::fs::metadata(tmp.path().join("helm")).unwrap().modified().unwrap() > old);
        symlink(&tmp.path().join("helm"), &tmp.path().join("link")).unwrap();
        assert!(matches!(touch(&tmp.path().join("link")), Err(WriteError::NotRegular { .. })));
        assert!(touch(&tmp.path().join("none")).is_err());
        assert!(symlink(&tmp.path().join("helm"), &tmp.path().join("link")).is_err(), "exists");
    }

    #[test]
    fn trees_are_unpacked_under_the_working_trees_rules() {
        fn tar(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
            let mut b = tar::Builder::new(Vec::new());
            for (path, kind, data, link) in entries {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(*kind);
                h.set_size(data.len() as u64);
                h.set_mode(0o644);
                if let Some(l) = link {
                    h.set_link_name(l).unwrap();
                }
                h.set_path(path).unwrap();
                h.set_cksum();
                b.append(&h, *data).unwrap();
            }
            b.into_inner().unwrap()
        }
        use tar::EntryType::{Directory, Regular, Symlink};
        let tmp = tempfile::tempdir().unwrap();
        let ok = tar(&[
            ("charts/", Directory, b"", None),
            ("charts/a/values.yaml", Regular, b"a: 1\n", None),
            ("charts/a/linked.yaml", Symlink, b"", Some("values.yaml")),
            ("charts/a/up.yaml", Symlink, b"", Some("../../charts/a/values.yaml")),
        ]);
        unpack_confined(ok.as_slice(), tmp.path(), 5).unwrap();
        assert_eq!(std::fs::read_to_string(tmp.path().join("charts/a/linked.yaml")).unwrap(), "a: 1\n");
        let refused = |entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]| {
            let dest = tempfile::tempdir().unwrap();
            let e = unpack_confined(tar(entries).as_slice(), dest.path(), 5).unwrap_err();
            (e, dest)
        };
        let (e, _) = refused(&[("a/t.yaml", Symlink, b"", Some("/etc/passwd"))]);
        assert!(e.contains("a/t.yaml is a link to /etc/passwd, outside the tree"), "{e}");
        let (e, _) = refused(&[("a/t.yaml", Symlink, b"", Some("../../x"))]);
        assert!(e.contains("outside the tree"), "{e}");
        let (e, dest) = refused(&[("a/first", Regular, b"12345", None), ("a/big", Regular, b"123456", None)]);
        assert!(e.contains("a/big is 6 bytes; files of the tree are limited to 5 bytes"), "{e}");
        assert!(dest.path().join("a/first").is_file() && !dest.path().join("a/big").exists());
        let (e, _) = refused(&[("a/fifo", tar::EntryType::Fifo, b"", None)]);
        assert!(e.contains("a/fifo is a Fifo entry"), "{e}");
        assert!(
            unpack_confined(&b"not a tar archive at all, longer than nothing"[..], tmp.path(), 5).is_err()
        );
    }

    #[test]
    fn repository_files_resolving_outside_it_are_not_read() {
        // Named inside the working directory (the crate, under test), leading out of it.
        let here = tempfile::Builder::new().prefix(".fsio-test-").tempdir_in(".").unwrap();
        let name = here.path().file_name().unwrap().to_owned();
        let rel = Path::new(&name);
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), here.path().join("leak")).unwrap();
        std::fs::write(here.path().join("ok"), "fine").unwrap();
        std::os::unix::fs::symlink("ok", here.path().join("in")).unwrap();
        let e = read_repo_text(&rel.join("leak"), 10).unwrap_err();
        assert!(matches!(&e, FileError::LeavesRepo(t) if t.ends_with("secret")), "{e}");
        assert!(e.to_string().contains("outside the repository"), "{e}");
        assert_eq!(leaves_repo(&rel.join("ok")), None);
        assert_eq!(read_repo_text(&rel.join("in"), 10).unwrap(), "fine");
        // Named outside it, a path is read as named.
        assert_eq!(read_repo_text(&outside.path().join("secret"), 10).unwrap(), "s");
        assert_eq!(leaves_repo(&outside.path().join("secret")), None);
        // A device is named as one first.
        std::os::unix::fs::symlink("/dev/zero", here.path().join("zero")).unwrap();
        assert_eq!(read_repo_text(&rel.join("zero"), 10), Err(FileError::NotRegular("a character device")));
        // Writes: inside the repository a link may lead anywhere in it, never out.
        assert!(matches!(write_repo_file(&rel.join("leak"), b"x"), Err(WriteError::LinkOutside { .. })));
        assert_eq!(std::fs::read(outside.path().join("secret")).unwrap(), b"s");
        write_repo_file(&rel.join("in"), b"new").unwrap();
        assert_eq!(std::fs::read(here.path().join("ok")).unwrap(), b"new");
        // Outside it, a write is confined to its own folder.
        std::os::unix::fs::symlink(here.path().join("ok"), outside.path().join("back")).unwrap();
        assert!(matches!(
            write_repo_file(&outside.path().join("back"), b"x"),
            Err(WriteError::LinkOutside { .. })
        ));
        write_repo_file(&outside.path().join("secret"), b"t").unwrap();
        assert_eq!(std::fs::read(outside.path().join("secret")).unwrap(), b"t");
    }

    #[test]
    fn chart_walks_stop_at_links_leaving_the_repository() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        let chart = repo.join("charts/c");
        std::fs::create_dir_all(chart.join("snapshots")).unwrap();
        std::fs::create_dir_all(repo.join("shared")).unwrap();
        std::fs::write(chart.join("snapshots/s.snap"), "s").unwrap();
        std::fs::write(repo.join("shared/t.yaml"), "t").unwrap();
        std::os::unix::fs::symlink(repo.join("shared"), chart.join("templates")).unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), chart.join("up")).unwrap();
        std::os::unix::fs::symlink("/dev/null", chart.join("null")).unwrap();
        std::os::unix::fs::symlink(".", chart.join("loop")).unwrap();
        let walk = walk_chart(&chart, &repo);
        let mut seen: Vec<String> = walk
            .entries
            .iter()
            .map(|e| e.path().strip_prefix(&chart).unwrap().display().to_string())
            .collect();
        seen.sort();
        assert_eq!(seen, ["", "null", "templates", "templates/t.yaml"], "{walk:?}");
        assert_eq!(walk.leaving, [(chart.join("up"), outside.path().canonicalize().unwrap())]);
        assert_eq!(walk.loops, [chart.join("loop")]);
        // The chart folder bounds it when it is not inside the repository given.
        let alone = walk_chart(&chart, &tmp.path().join("elsewhere"));
        assert_eq!(alone.leaving.len(), 2, "{alone:?}");
    }

    #[test]
    fn errors_convert_to_io_errors_of_their_kind() {
        let e: std::io::Error = FileError::Missing.into();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        let e: std::io::Error = FileError::NotRegular("a socket").into();
        assert_eq!(e.kind(), std::io::ErrorKind::Other);
        assert!(e.to_string().contains("a socket"));
        let source = std::io::Error::new(std::io::ErrorKind::StorageFull, "full");
        let e: std::io::Error = WriteError::Io { path: "x".into(), source }.into();
        assert_eq!(e.kind(), std::io::ErrorKind::StorageFull);
    }

    #[test]
    fn the_lock_beside_a_file_is_exclusive_and_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("images.lock.yaml");
        let held = lock_beside(&file).unwrap();
        // Another handle cannot take it while it is held.
        let other = std::fs::File::open(tmp.path()).unwrap();
        assert!(other.try_lock().is_err());
        drop(held);
        assert!(other.try_lock().is_ok());
        other.unlock().unwrap();
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "no lock file is left");
        assert!(lock_beside(Path::new("/nonexistent/x")).is_err());
    }
}
