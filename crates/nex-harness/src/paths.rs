//! Path handling that needs no file system.

use std::path::{Component, Path, PathBuf};

/// Removes `..` lexically (`charts/a/../common` → `charts/common`), so paths read well.
pub fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}
