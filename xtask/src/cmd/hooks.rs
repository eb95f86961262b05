use nex_harness::Exit;
use nex_harness::helm::Major;
use nex_harness::release::hooks::{self, Installed};

/// Manage the git hooks of this clone
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Write .git/hooks/pre-commit, which runs `cargo xtask lint --changed`
    #[command(after_help = "A pre-commit hook that another tool wrote is kept unless --force is given. \
pre-commit users: .pre-commit-config.yaml has the same check as a local hook.")]
    Install {
        /// Replace a pre-commit hook the harness did not write
        #[arg(long)]
        force: bool,
    },
}

pub fn run(args: &Args, _major: Major) -> anyhow::Result<Exit> {
    let Action::Install { force } = args.action;
    let dir = hooks::hooks_dir(&super::root()?)?;
    match hooks::install(&dir, force) {
        Ok(Installed::Written(path)) => println!("wrote {}", path.display()),
        Ok(Installed::Unchanged(path)) => println!("{} is up to date", path.display()),
        Err(e @ hooks::HookError::Foreign(_)) => {
            eprintln!("error: {e}");
            return Ok(Exit::Failure);
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Exit::Clean)
}
