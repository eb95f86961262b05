//! Running a child process with a deadline, so a hung tool (a helm waiting on a
//! lock or a network) becomes an error instead of a hung harness.

use serde::{Deserialize, Serialize};
use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A finished process, reduced to what checks read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
    /// The signal that killed the process (a crash), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
}

/// A tool's error output is quoted in findings; past these bounds (a Go
/// goroutine dump runs to hundreds of lines) the rest is cut and counted.
pub const MAX_TOOL_MESSAGE_LINES: usize = 20;
pub const MAX_TOOL_MESSAGE_BYTES: usize = 4096;

/// `text` cut to [`MAX_TOOL_MESSAGE_LINES`] lines and about [`MAX_TOOL_MESSAGE_BYTES`]
/// bytes (on a character boundary), with a note saying how much was cut.
pub fn cut_tool_output(text: &str) -> String {
    let lines = text.lines().count();
    let mut out = String::new();
    for (kept, line) in text.lines().enumerate() {
        if kept == MAX_TOOL_MESSAGE_LINES || out.len() + line.len() > MAX_TOOL_MESSAGE_BYTES {
            if kept == 0 {
                // One huge line: keep its head.
                let mut end = MAX_TOOL_MESSAGE_BYTES;
                while !line.is_char_boundary(end) {
                    end -= 1;
                }
                out.push_str(&line[..end]);
                out.push('\n');
            }
            let dropped = lines - kept.max(1);
            let bytes = text.len() - out.len();
            out.push_str(&format!("[{dropped} more lines ({bytes} bytes) of tool output cut]\n"));
            return out;
        }
        out.push_str(line);
        out.push('\n');
    }
    text.to_owned()
}

impl From<std::process::Output> for ProcOutput {
    fn from(o: std::process::Output) -> Self {
        let mut stderr = cut_tool_output(&String::from_utf8_lossy(&o.stderr));
        #[cfg(unix)]
        let signal = std::os::unix::process::ExitStatusExt::signal(&o.status);
        #[cfg(not(unix))]
        let signal = None;
        // A process killed by a signal (a crash) says nothing itself; say it for it.
        if let Some(signal) = signal {
            if !stderr.is_empty() && !stderr.ends_with('\n') {
                stderr.push('\n');
            }
            stderr.push_str(&format!(
                "Error: the process was killed by signal {signal} (it crashed or was stopped)\n"
            ));
        }
        Self {
            success: o.status.success(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr,
            signal,
        }
    }
}

/// The most bytes read from a tool's standard output (and from its error
/// output): a template can repeat a value into a rendering of any size (a
/// 50 MB `tpl` result took helm and the harness 672 MB and 24 s). A tool that
/// writes more is killed and the run is an error naming this bound.
pub const MAX_TOOL_OUTPUT_BYTES: usize = 16 * 1024 * 1024;

/// The deadline when `NEX_HELM_TIMEOUT` is unset: generous, a helm run takes well under a second.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// `NEX_HELM_TIMEOUT` (seconds, decimals allowed, > 0), else [`DEFAULT_TIMEOUT`].
pub fn helm_timeout() -> Result<Duration, String> {
    match std::env::var("NEX_HELM_TIMEOUT") {
        Ok(v) if !v.trim().is_empty() => parse_secs(v.trim())
            .ok_or_else(|| format!("NEX_HELM_TIMEOUT={v:?} is not a positive number of seconds")),
        _ => Ok(DEFAULT_TIMEOUT),
    }
}

fn parse_secs(s: &str) -> Option<Duration> {
    let secs: f64 = s.parse().ok()?;
    (secs.is_finite() && secs > 0.0 && secs < 1e9).then(|| Duration::from_secs_f64(secs))
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Spawn(#[from] std::io::Error),
    #[error("did not finish within {} s and was killed (NEX_HELM_TIMEOUT sets the limit)", .0.as_secs_f64())]
    TimedOut(Duration),
    #[error(
        "wrote more than {MAX_TOOL_OUTPUT_BYTES} bytes to its {0} and was killed (a template that repeats a value?)"
    )]
    TooMuchOutput(&'static str),
}

/// ct's `--debug`: every command the run spawns is printed (to stderr, `>>> cmd args`).
static DEBUG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn set_debug(on: bool) {
    DEBUG.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Prints `cmd` when `--debug` asked for it.
pub fn trace(cmd: &Command) {
    if DEBUG.load(std::sync::atomic::Ordering::Relaxed) {
        let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        eprintln!(">>> {} {}", cmd.get_program().to_string_lossy(), args.join(" "));
    }
}

/// Like [`Command::output`], but the child is killed once `timeout` has passed.
/// Its output is read by two threads; the caller waits on them with the deadline,
/// so there is no polling delay for a child that finishes in time.
/// Each stream is read up to [`MAX_TOOL_OUTPUT_BYTES`]; a child writing more is killed.
pub fn output(cmd: Command, timeout: Duration) -> Result<Output, RunError> {
    output_capped(cmd, timeout, MAX_TOOL_OUTPUT_BYTES)
}

fn output_capped(mut cmd: Command, timeout: Duration, limit: usize) -> Result<Output, RunError> {
    trace(&cmd);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let (tx, rx) = mpsc::channel::<(bool, Vec<u8>)>();
    let mut readers = Vec::new();
    for (is_out, pipe) in [
        (true, child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>)),
        (false, child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>)),
    ] {
        let Some(pipe) = pipe else { continue };
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.take(limit as u64 + 1).read_to_end(&mut buf);
            let _ = tx.send((is_out, buf));
        }));
    }
    drop(tx);
    let deadline = Instant::now() + timeout;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut pending = readers.len();
    while pending > 0 {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((is_out, b)) if b.len() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::TooMuchOutput(if is_out { "standard output" } else { "error output" }));
            }
            Ok((true, b)) => stdout = b,
            Ok((false, b)) => stderr = b,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                // The pipes close with the child (or its last grandchild); do not wait on them.
                return Err(RunError::TimedOut(timeout));
            }
        }
        pending -= 1;
    }
    for r in readers {
        let _ = r.join();
    }
    // Both pipes are closed, so the child has exited or is about to; a child that
    // closed its outputs and kept running still meets the deadline.
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Output { status, stdout, stderr });
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunError::TimedOut(timeout));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_collected() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
        let o = output(cmd, Duration::from_secs(30)).unwrap();
        assert_eq!(o.status.code(), Some(3));
        assert_eq!(o.stdout, b"out\n");
        assert_eq!(o.stderr, b"err\n");
    }

    #[test]
    fn a_hung_child_is_killed() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "exec sleep 30"]);
        let e = output(cmd, Duration::from_millis(200)).unwrap_err();
        assert!(matches!(e, RunError::TimedOut(_)), "{e}");
    }

    #[test]
    fn a_child_writing_too_much_is_killed() {
        let mut cmd = Command::new("sh");
        // Would write forever.
        cmd.args(["-c", "yes 0123456789"]);
        let e = output_capped(cmd, Duration::from_secs(60), 4096).unwrap_err();
        assert!(matches!(e, RunError::TooMuchOutput("standard output")), "{e}");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "yes >&2"]);
        let e = output_capped(cmd, Duration::from_secs(60), 4096).unwrap_err();
        assert!(matches!(e, RunError::TooMuchOutput("error output")), "{e}");
        // At the bound exactly, the output is whole.
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "head -c 4096 /dev/zero"]);
        assert_eq!(output_capped(cmd, Duration::from_secs(60), 4096).unwrap().stdout.len(), 4096);
    }

    #[test]
    fn timeouts_parse() {
        assert_eq!(parse_secs("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_secs("0"), None);
        assert_eq!(parse_secs("-2"), None);
        assert_eq!(parse_secs("soon"), None);
        assert_eq!(parse_secs("inf"), None);
    }
}
