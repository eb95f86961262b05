//! `NEX_TRACE_READS=<file>`: every file the harness reads is appended to
//! `<file>`, one absolute path a line. Shows what a run reads: a warm lint of
//! one named chart reads that chart, its `file://` dependencies, the settings
//! and the cache (`xtask/tests/warm.rs` holds it to that).

use std::path::Path;

/// The environment variable naming the trace file.
pub const READS: &str = "NEX_TRACE_READS";

/// Notes a read (nothing when [`READS`] is not set).
pub fn read(path: &Path) {
    use std::io::Write;
    static TRACE: std::sync::OnceLock<Option<std::sync::Mutex<std::fs::File>>> = std::sync::OnceLock::new();
    let trace = TRACE.get_or_init(|| {
        let target = std::env::var_os(READS).filter(|v| !v.is_empty())?;
        let file = std::fs::OpenOptions::new().create(true).append(true).open(target).ok()?;
        Some(std::sync::Mutex::new(file))
    });
    if let Some(file) = trace {
        let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(file, "{}", shown.display());
    }
}
