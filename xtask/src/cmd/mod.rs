//! One module per subcommand: parse arguments, call the library, print.

pub mod bench;
pub mod cache;
pub mod ct;
pub mod diff;
pub mod docs;
pub mod hooks;
pub mod images;
pub mod lint;
pub mod new;
pub mod package;
pub mod publish;
pub mod release;
pub mod render;
pub mod stack;
pub mod tools;

use anyhow::Context;
use nex_harness::config::CtConfig;
use nex_harness::helm::{Helm, Major};
use std::path::PathBuf;

/// The catalog root: the working directory (where `ct.yaml` lives).
pub fn root() -> anyhow::Result<PathBuf> {
    std::env::current_dir().context("cannot read the working directory")
}

pub fn config(root: &std::path::Path) -> anyhow::Result<CtConfig> {
    Ok(CtConfig::load(root)?)
}

/// The settings of a command without flags of its own: ct.yaml and harness.yaml at the root.
pub fn settings(root: &std::path::Path) -> anyhow::Result<nex_harness::settings::RunSettings> {
    Ok(nex_harness::settings::RunSettings::resolve(root, &Default::default())?)
}

pub fn helm(major: Major) -> anyhow::Result<Helm> {
    Ok(Helm::locate(major, &nex_harness::provision::cache_root())?)
}
