//! A closed standard output (`cargo xtask lint | head`, `nexct lint | head`) ends a
//! run quietly with the status a shell reports for a writer killed by SIGPIPE,
//! for every binary over the engine. Rust ignores SIGPIPE, so a write to a closed
//! stdout is an error, and `print!` panics on it.

/// 128 + SIGPIPE (13), what `cat` or `grep` end with in the same place.
pub const STATUS: u8 = 141;

/// Makes `print!`'s panic on a closed stdout exit with [`STATUS`]; any other panic
/// still reports itself. Call first thing in `main`.
pub fn stop_quietly() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied());
        if message.is_some_and(|m| m.starts_with("failed printing to stdout") && m.contains("Broken pipe")) {
            std::process::exit(i32::from(STATUS));
        }
        default(info);
    }));
}

/// Whether a command's error is a write to a closed pipe.
pub fn is_closed(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
