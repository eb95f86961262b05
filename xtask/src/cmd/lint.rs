//! `cargo xtask lint`: the engine's lint command (shared with `nexct lint`); with
//! no chart named, the whole catalog is checked.

use nex_harness::Exit;
use nex_harness::helm::Major;
use nex_harness::lint_cmd::{Cli, LintArgs, Unnamed};

pub type Args = LintArgs;

pub fn run(args: &Args, major: Option<Major>) -> anyhow::Result<Exit> {
    nex_harness::lint_cmd::run(args, major, Cli { name: "cargo xtask lint", unnamed: Unnamed::All })
}
