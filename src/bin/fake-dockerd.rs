//! `fake-dockerd`: a stand-in for dockerd that integration tests launch to
//! exercise the harness's process-lifecycle rules (STYLE.md section 3)
//! without docker or runsc.
//!
//! It takes dockerd's own flags (`--data-root`, `--exec-root`, `--host`/`-H`,
//! `--pidfile`/`-p`, in `--flag=value` or `--flag value` form), ignores any
//! other dockerd flag, writes its pid file, logs to stderr in dockerd's
//! logrus text format, and then behaves as `--fake-mode=MODE` says:
//!
//! - `ready` (default): serve `GET /_ping` and `GET /info` on the unix socket
//!   until SIGTERM or SIGINT, then exit 0.
//! - `crash`: log warnings, then `failed to start daemon: <fatal>` and exit 1.
//! - `crash-latin1`: like `crash`, but a warning and an error line before the
//!   fatal line carry bytes that are not UTF-8 (a Latin-1 file name), as a
//!   dockerd that echoes a user's path does.
//! - `last-words-hang`: like `crash`, but hang after the fatal line instead
//!   of exiting (until SIGTERM): a daemon whose last words come long before
//!   its exit.
//! - `hang`: log `Starting up` and never listen; exit 0 on SIGTERM.
//! - `hang-ignore-term`: like `hang`, but ignore SIGTERM and SIGINT.
//! - `ready-ignore-term`: like `ready`, but ignore SIGTERM and SIGINT.
//! - `die-after-ready`: like `ready`, but on the first request that is not
//!   `/_ping` or `/info` (the container probe's), log
//!   `level=fatal msg="<fatal>"` and exit 2 without answering it.
//! - `fork-grandchild`: spawn a `hang-ignore-term` copy of itself in a new
//!   session (so it escapes the process group), then behave like `ready`.
//!
//! `--fake-delay-ms=N` delays the mode's main action (the start of listening,
//! or the crash), and
//! `--fake-fatal=TEXT` sets the fatal message. `--version` prints a
//! dockerd-shaped version line. A bad command line exits 125.
//!
//! This is a test helper: it must stay small, single-threaded and free of
//! harness logic. It is not part of the library and nothing in `src/` uses it.

use std::fmt;
use std::fs;
use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use nix::libc;
use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// The version line printed by `--version`, shaped like dockerd's so that
/// the harness's version parsing (`binaries.rs`) accepts it.
const VERSION_LINE: &str = "Docker version 0.0.0-fake, build fake";

/// The fatal text used when `--fake-fatal` is not given: a known signature.
const DEFAULT_FATAL: &str = "Devices cgroup isn't mounted";

/// The body of `GET /info`.
const INFO_BODY: &str = r#"{"ServerVersion":"0.0.0-fake","CgroupDriver":"cgroupfs","CgroupVersion":"1","Driver":"vfs","SecurityOptions":[],"Warnings":null}"#;

/// Exit code for a bad command line; docker uses 125 for its own failures,
/// which keeps it apart from the modes' codes (0, 1, 2).
const EXIT_USAGE: u8 = 125;

/// How often sleeps and the accept loop check for a signal; well under the
/// 50 ms the harness may expect a SIGTERM to take.
const POLL: Duration = Duration::from_millis(10);

/// How long one connection may take to send its request.
const REQUEST_DEADLINE: Duration = Duration::from_secs(5);

/// The largest request head we accept.
const MAX_HEAD: usize = 64 * 1024;

/// The number of the last SIGTERM/SIGINT received, or 0. Written only by
/// the signal handler, which may do nothing but async-signal-safe work.
static SIGNALLED: AtomicI32 = AtomicI32::new(0);

/// What the fake daemon does after starting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Serve the API until SIGTERM.
    Ready,
    /// Log warnings and a fatal line, exit 1.
    Crash,
    /// Like `Crash`, with bytes that are not UTF-8 before the fatal line.
    CrashLatin1,
    /// Log warnings and a fatal line, then hang until SIGTERM.
    LastWordsHang,
    /// Never listen; exit on SIGTERM.
    Hang,
    /// Never listen; ignore SIGTERM.
    HangIgnoreTerm,
    /// Serve the API; ignore SIGTERM.
    ReadyIgnoreTerm,
    /// Serve `/_ping` and `/info`; die (fatal line, exit 2) on any other
    /// request.
    DieAfterReady,
    /// Fork a session-escaping grandchild, then behave like `Ready`.
    ForkGrandchild,
}

impl Mode {
    /// Every mode with its command-line name, for parsing and messages.
    const ALL: [(&'static str, Mode); 9] = [
        ("ready", Mode::Ready),
        ("crash", Mode::Crash),
        ("crash-latin1", Mode::CrashLatin1),
        ("last-words-hang", Mode::LastWordsHang),
        ("hang", Mode::Hang),
        ("hang-ignore-term", Mode::HangIgnoreTerm),
        ("ready-ignore-term", Mode::ReadyIgnoreTerm),
        ("die-after-ready", Mode::DieAfterReady),
        ("fork-grandchild", Mode::ForkGrandchild),
    ];

    /// Whether this mode ignores SIGTERM and SIGINT.
    fn is_ignoring_term(self) -> bool {
        matches!(self, Mode::HangIgnoreTerm | Mode::ReadyIgnoreTerm)
    }

    /// Whether this mode listens on the socket (and so needs `--host`).
    fn is_listening(self) -> bool {
        matches!(
            self,
            Mode::Ready | Mode::ReadyIgnoreTerm | Mode::DieAfterReady | Mode::ForkGrandchild
        )
    }
}

impl FromStr for Mode {
    type Err = UsageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, mode)| *mode)
            .ok_or_else(|| UsageError::Mode {
                value: s.to_owned(),
            })
    }
}

/// A command line the fake daemon cannot run with.
#[derive(Debug, thiserror::Error, PartialEq)]
enum UsageError {
    /// A flag that takes a value came last.
    #[error("flag {flag} needs a value")]
    MissingValue {
        /// The flag as written.
        flag: String,
    },
    /// `--fake-mode` named no mode.
    #[error(
        "unknown --fake-mode {value:?} (expected one of: ready, crash, crash-latin1, last-words-hang, hang, \
         hang-ignore-term, ready-ignore-term, die-after-ready, fork-grandchild)"
    )]
    Mode {
        /// The value given.
        value: String,
    },
    /// `--fake-delay-ms` was not a whole number.
    #[error("--fake-delay-ms needs a whole number of milliseconds, got {value:?}")]
    Delay {
        /// The value given.
        value: String,
    },
    /// `--host` was not a `unix://` address.
    #[error("only unix:// hosts are supported, got {value:?}")]
    Host {
        /// The value given.
        value: String,
    },
    /// A listening mode was given no `--host`.
    #[error("--fake-mode {mode} needs --host=unix://SOCKET")]
    NoHost {
        /// The mode's name.
        mode: &'static str,
    },
}

/// What to do, parsed from the command line.
#[derive(Debug, Clone, PartialEq)]
enum Action {
    /// Print the version line and exit.
    Version,
    /// Run as a daemon.
    Run(Config),
}

/// The validated command line of a daemon run.
#[derive(Debug, Clone, PartialEq)]
struct Config {
    /// The behaviour.
    mode: Mode,
    /// The delay before the mode's main action.
    delay: Duration,
    /// The fatal message of `crash` and `die-after-ready`.
    fatal: String,
    /// The unix socket path from `--host`.
    socket: Option<PathBuf>,
    /// `--pidfile`.
    pidfile: Option<PathBuf>,
    /// `--data-root`.
    data_root: Option<PathBuf>,
    /// `--exec-root`.
    exec_root: Option<PathBuf>,
    /// `--fake-crash-once=FILE`: crash (and create FILE) while FILE does not
    /// exist, then behave as the mode says: a flaky daemon for `--retries`.
    crash_once: Option<PathBuf>,
}

/// Parses the arguments after the program name. Flags we do not know are
/// ignored, as the harness passes real dockerd flags (`--iptables=false`,
/// `--storage-driver vfs`) that the fake has no use for.
fn parse_args<I>(args: I) -> Result<Action, UsageError>
where
    I: IntoIterator<Item = String>,
{
    let mut mode = Mode::Ready;
    let mut delay = Duration::ZERO;
    let mut fatal = DEFAULT_FATAL.to_owned();
    let mut socket = None;
    let mut pidfile = None;
    let mut data_root = None;
    let mut exec_root = None;
    let mut crash_once = None;

    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with('-') => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        if matches!(flag.as_str(), "--version" | "-v") {
            return Ok(Action::Version);
        }
        let takes_value = matches!(
            flag.as_str(),
            "--fake-mode"
                | "--fake-delay-ms"
                | "--fake-fatal"
                | "--host"
                | "-H"
                | "--pidfile"
                | "-p"
                | "--data-root"
                | "--exec-root"
                | "--fake-crash-once"
        );
        if !takes_value {
            continue;
        }
        let value = match inline {
            Some(value) => value,
            None => args
                .next()
                .ok_or_else(|| UsageError::MissingValue { flag: flag.clone() })?,
        };
        match flag.as_str() {
            "--fake-mode" => mode = value.parse()?,
            "--fake-delay-ms" => {
                let ms = value
                    .parse::<u64>()
                    .map_err(|_| UsageError::Delay { value })?;
                delay = Duration::from_millis(ms);
            }
            "--fake-fatal" => fatal = value,
            "--host" | "-H" => socket = Some(parse_host(&value)?),
            "--pidfile" | "-p" => pidfile = Some(PathBuf::from(value)),
            "--data-root" => data_root = Some(PathBuf::from(value)),
            "--exec-root" => exec_root = Some(PathBuf::from(value)),
            "--fake-crash-once" => crash_once = Some(PathBuf::from(value)),
            _ => unreachable!("every flag that takes a value is matched above"),
        }
    }

    if mode.is_listening() && socket.is_none() {
        let name = Mode::ALL
            .iter()
            .find(|(_, m)| *m == mode)
            .map_or("?", |(name, _)| *name);
        return Err(UsageError::NoHost { mode: name });
    }
    Ok(Action::Run(Config {
        mode,
        delay,
        fatal,
        socket,
        pidfile,
        data_root,
        exec_root,
        crash_once,
    }))
}

/// Turns `unix:///path` into `/path`.
fn parse_host(value: &str) -> Result<PathBuf, UsageError> {
    match value.strip_prefix("unix://") {
        Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => Err(UsageError::Host {
            value: value.to_owned(),
        }),
    }
}

/// A logrus level, as dockerd spells it.
#[derive(Debug, Clone, Copy)]
enum Level {
    /// `level=info`.
    Info,
    /// `level=warning`.
    Warning,
    /// `level=fatal`.
    Fatal,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Fatal => "fatal",
        })
    }
}

/// Formats a time as logrus does in dockerd: RFC 3339, UTC, always nine
/// fractional digits (Go's `time.RFC3339Nano` trims zeros, but dockerd sets
/// `TimestampFormat: jsonmessage.RFC3339NanoFixed`).
fn format_time(ts: jiff::Timestamp) -> String {
    format!("{ts:.9}")
}

/// Formats one logrus text line (without the newline).
fn format_line(ts: jiff::Timestamp, level: Level, msg: &str) -> String {
    format!(
        "time=\"{}\" level={level} msg={}",
        format_time(ts),
        quote(msg)
    )
}

/// Quotes a message the way logrus's text formatter does for values that
/// need it: double quotes, with `\` `"` and control characters escaped.
fn quote(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len() + 2);
    out.push('"');
    for c in msg.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Writes one log line to stderr. A failed write is ignored: the harness
/// may have closed the log, and a fake daemon must not panic over it.
fn log(level: Level, msg: &str) {
    let line = format_line(jiff::Timestamp::now(), level, msg);
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Writes dockerd's plain last words (cmd/dockerd/docker.go prints
/// `failed to start daemon: %v` with no logrus framing).
fn fail_to_start(reason: &dyn fmt::Display) -> ExitCode {
    let _ = writeln!(io::stderr().lock(), "failed to start daemon: {reason}");
    ExitCode::from(1)
}

/// Records the signal number for the main loop to see.
extern "C" fn on_signal(signo: libc::c_int) {
    SIGNALLED.store(signo, Ordering::SeqCst);
}

/// Installs the SIGTERM/SIGINT disposition for a mode: ignore, or record.
fn install_signals(ignore: bool) -> nix::Result<()> {
    let handler = if ignore {
        SigHandler::SigIgn
    } else {
        SigHandler::Handler(on_signal)
    };
    let action = SigAction::new(handler, SaFlags::SA_RESTART, SigSet::empty());
    for sig in [Signal::SIGTERM, Signal::SIGINT] {
        // SAFETY: `on_signal` only stores into an atomic, which is
        // async-signal-safe, and `SigIgn` runs no code at all.
        unsafe { signal::sigaction(sig, &action) }?;
    }
    Ok(())
}

/// The signal received so far, if any.
fn received_signal() -> Option<i32> {
    match SIGNALLED.load(Ordering::SeqCst) {
        0 => None,
        signo => Some(signo),
    }
}

/// Sleeps until `deadline` (forever when `None`), waking early for a signal.
/// Returns the signal, if one came.
fn sleep_until(deadline: Option<Instant>) -> Option<i32> {
    loop {
        if let Some(signo) = received_signal() {
            return Some(signo);
        }
        match deadline {
            Some(d) if Instant::now() >= d => return None,
            _ => std::thread::sleep(POLL),
        }
    }
}

/// Logs a received signal as dockerd does and exits 0, cleaning up the
/// socket and pid file the way dockerd's shutdown does.
fn shut_down(signo: i32, config: &Config) -> ExitCode {
    let name = match Signal::try_from(signo) {
        Ok(Signal::SIGTERM) => "terminated",
        Ok(Signal::SIGINT) => "interrupt",
        _ => "unknown signal",
    };
    log(Level::Info, &format!("Processing signal '{name}'"));
    if let Some(socket) = &config.socket {
        let _ = fs::remove_file(socket);
    }
    if let Some(pidfile) = &config.pidfile {
        let _ = fs::remove_file(pidfile);
    }
    log(Level::Info, "Daemon shutdown complete");
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Action::Version) => {
            println!("{VERSION_LINE}");
            return ExitCode::SUCCESS;
        }
        Ok(Action::Run(config)) => config,
        Err(err) => {
            eprintln!("fake-dockerd: {err}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Err(err) = install_signals(config.mode.is_ignoring_term()) {
        return fail_to_start(&format_args!("cannot install signal handlers: {err}"));
    }
    if let Err(err) = prepare_dirs(&config) {
        return fail_to_start(&err);
    }
    log(Level::Info, "Starting up");
    if let Some(state) = &config.crash_once
        && std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(state)
            .is_ok()
    {
        return run_crash(&config);
    }
    match config.mode {
        Mode::Ready | Mode::ReadyIgnoreTerm | Mode::DieAfterReady => run_ready(&config),
        Mode::ForkGrandchild => match spawn_grandchild() {
            Ok(pid) => {
                log(Level::Info, &format!("forked grandchild pid={pid}"));
                run_ready(&config)
            }
            Err(err) => fail_to_start(&format_args!("cannot fork grandchild: {err}")),
        },
        Mode::Crash | Mode::CrashLatin1 => run_crash(&config),
        Mode::LastWordsHang => run_last_words_hang(&config),
        Mode::Hang | Mode::HangIgnoreTerm => match sleep_until(None) {
            Some(signo) => shut_down(signo, &config),
            None => unreachable!("sleeping with no deadline returns only on a signal"),
        },
    }
}

/// Creates the data and exec roots and writes the pid file, as dockerd does
/// before it logs anything interesting.
fn prepare_dirs(config: &Config) -> io::Result<()> {
    for dir in [&config.data_root, &config.exec_root].into_iter().flatten() {
        fs::create_dir_all(dir)?;
    }
    if let Some(pidfile) = &config.pidfile {
        fs::write(pidfile, std::process::id().to_string())?;
    }
    Ok(())
}

/// `crash`: warnings, the delay, then the fatal line and exit 1.
fn run_crash(config: &Config) -> ExitCode {
    if let Some(signo) = warn_and_wait(config) {
        return shut_down(signo, config);
    }
    fail_to_start(&config.fatal)
}

/// `last-words-hang`: what `crash` prints, then no exit until a signal.
fn run_last_words_hang(config: &Config) -> ExitCode {
    let signo = warn_and_wait(config).or_else(|| {
        let _ = writeln!(
            io::stderr().lock(),
            "failed to start daemon: {}",
            config.fatal
        );
        sleep_until(None)
    });
    match signo {
        Some(signo) => shut_down(signo, config),
        None => unreachable!("sleeping with no deadline returns only on a signal"),
    }
}

/// The warnings a crashing daemon logs, then the delay; returns the signal
/// that cut the delay short, if one did.
fn warn_and_wait(config: &Config) -> Option<i32> {
    log(
        Level::Warning,
        "Your kernel does not support swap memory limit",
    );
    log(
        Level::Warning,
        "Your kernel does not support CPU realtime scheduler",
    );
    if config.mode == Mode::CrashLatin1 {
        // Raw bytes: `caf\xe9` is `café` in Latin-1, and not UTF-8.
        let ts = format_time(jiff::Timestamp::now());
        let mut err = io::stderr().lock();
        let _ = err.write_all(
            format!("time=\"{ts}\" level=warning msg=\"ignoring /etc/docker/caf").as_bytes(),
        );
        let _ = err.write_all(b"\xe9.json: not a regular file\"\n");
        let _ = err.write_all(
            format!("time=\"{ts}\" level=error msg=\"cannot read /var/lib/caf").as_bytes(),
        );
        let _ = err.write_all(b"\xe9\xff: permission denied\"\n");
    }
    sleep_until(Some(Instant::now() + config.delay))
}

/// `ready` and its variants: the delay, listen, serve.
fn run_ready(config: &Config) -> ExitCode {
    let socket = config
        .socket
        .as_deref()
        .expect("parse_args requires --host for every listening mode");
    if let Some(signo) = sleep_until(Some(Instant::now() + config.delay)) {
        return shut_down(signo, config);
    }
    log(Level::Info, "Loading containers: done.");
    log(
        Level::Info,
        "Docker daemon commit=fake containerd-snapshotter=false storage-driver=vfs version=0.0.0-fake",
    );
    log(Level::Info, "Daemon has completed initialization");
    let listener = match bind(socket) {
        Ok(listener) => listener,
        Err(err) => {
            return fail_to_start(&format_args!(
                "can't create unix socket {}: {err}",
                socket.display()
            ));
        }
    };
    log(Level::Info, &format!("API listen on {}", socket.display()));

    loop {
        if let Some(signo) = received_signal() {
            return shut_down(signo, config);
        }
        match listener.accept() {
            Ok((stream, _)) => {
                if serve(stream, config.mode == Mode::DieAfterReady) == Served::Fatal {
                    log(Level::Fatal, &config.fatal);
                    return ExitCode::from(2);
                }
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => {
                log(Level::Warning, &format!("accept failed: {err}"));
                std::thread::sleep(POLL);
            }
        }
    }
}

/// Binds the socket nonblocking, removing a stale file and creating the
/// parent directory first, as dockerd does.
fn bind(socket: &Path) -> io::Result<UnixListener> {
    if let Some(parent) = socket.parent() {
        fs::create_dir_all(parent)?;
    }
    match fs::remove_file(socket) {
        Err(err) if err.kind() != ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    let listener = UnixListener::bind(socket)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Spawns a copy of this program in `hang-ignore-term` mode in a new
/// session, so that it leaves our process group and a `killpg` of the group
/// misses it. Returns its pid. It is not waited for: the harness's leak
/// sweep is meant to find it.
fn spawn_grandchild() -> io::Result<u32> {
    let exe = std::env::current_exe()?;
    let mut command = Command::new(exe);
    // Null stdio: an inherited pipe would keep a test's output capture open
    // until the grandchild dies; files (what the harness uses) would be fine.
    command
        .arg("--fake-mode=hang-ignore-term")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: the closure only calls setsid(2), which is async-signal-safe
    // (signal-safety(7)), allocates nothing and takes no locks.
    unsafe {
        command.pre_exec(|| nix::unistd::setsid().map(drop).map_err(io::Error::from));
    }
    let child = command.spawn()?;
    Ok(child.id())
}

/// One HTTP response.
#[derive(Debug, PartialEq)]
struct Response {
    /// Status code and reason, e.g. `200 OK`.
    status: &'static str,
    /// `Content-Type`.
    content_type: &'static str,
    /// The body.
    body: &'static str,
}

/// Answers a request by method and target.
fn route(method: &str, target: &str) -> Response {
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    let path = strip_version(path);
    match (method, path) {
        ("GET" | "HEAD", "/_ping") => Response {
            status: "200 OK",
            content_type: "text/plain; charset=utf-8",
            body: "OK",
        },
        ("GET", "/info") => Response {
            status: "200 OK",
            content_type: "application/json",
            body: INFO_BODY,
        },
        _ => Response {
            status: "404 Not Found",
            content_type: "application/json",
            body: r#"{"message":"page not found"}"#,
        },
    }
}

/// Strips an API version prefix (`/v1.45/_ping` → `/_ping`), matching
/// dockerd's router pattern `/v{version:[0-9.]+}`.
fn strip_version(path: &str) -> &str {
    let Some(rest) = path.strip_prefix("/v") else {
        return path;
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let version = &rest[..end];
    if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.') {
        &rest[end..]
    } else {
        path
    }
}

/// What serving one connection led to.
#[derive(Debug, PartialEq, Eq)]
enum Served {
    /// Answered (or the client went away): keep serving.
    Answered,
    /// `die-after-ready` got a request past readiness: die now.
    Fatal,
}

/// Serves one connection: read the head, drain the body, answer, close.
/// Errors only end the connection; the daemon keeps serving. With
/// `die_past_ready`, a request other than `/_ping` or `/info` is not
/// answered: the daemon is to die instead.
fn serve(mut stream: UnixStream, die_past_ready: bool) -> Served {
    let Some((head, already_read)) = read_head(&mut stream) else {
        return Served::Answered;
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let content_length = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    drain(&mut stream, content_length.saturating_sub(already_read));

    let response = route(method, target);
    if die_past_ready && response.status != "200 OK" {
        return Served::Fatal;
    }
    let body = if method == "HEAD" { "" } else { response.body };
    let text = format!(
        "HTTP/1.1 {}\r\nApi-Version: 1.45\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
         Server: Docker/0.0.0-fake (linux)\r\nConnection: close\r\n\r\n{}",
        response.status,
        response.content_type,
        response.body.len(),
        body
    );
    let _ = stream.set_write_timeout(Some(REQUEST_DEADLINE));
    let _ = stream.write_all(text.as_bytes());
    let _ = stream.shutdown(std::net::Shutdown::Both);
    Served::Answered
}

/// Reads until the end of the request head. Returns the head and how many
/// body bytes came with it, or `None` if the client went away, sent too
/// much, took too long, or a signal arrived.
fn read_head(stream: &mut UnixStream) -> Option<(String, usize)> {
    // Accepted sockets inherit nonblocking from the listener on some
    // platforms; make it blocking with a short timeout so we can keep
    // checking for signals.
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(POLL)).ok()?;
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            return Some((head, buf.len() - end - 4));
        }
        if buf.len() > MAX_HEAD || Instant::now() >= deadline || received_signal().is_some() {
            return None;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(err) if is_retry(&err) => {}
            Err(_) => return None,
        }
    }
}

/// Reads and discards `remaining` body bytes, within the request deadline.
fn drain(stream: &mut UnixStream, mut remaining: usize) {
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let mut chunk = [0u8; 4096];
    while remaining > 0 && Instant::now() < deadline && received_signal().is_none() {
        let want = remaining.min(chunk.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) => return,
            Ok(n) => remaining -= n,
            Err(err) if is_retry(&err) => {}
            Err(_) => return,
        }
    }
}

/// Whether a read error only means "nothing yet" (timeout or EINTR).
fn is_retry(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dindcheck::classify::logline;
    use rstest::rstest;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn run_config(list: &[&str]) -> Config {
        match parse_args(args(list)) {
            Ok(Action::Run(config)) => config,
            other => panic!("expected a run config, got {other:?}"),
        }
    }

    #[test]
    fn harness_form_parses() {
        let config = run_config(&[
            "--iptables=false",
            "--storage-driver",
            "vfs",
            "--data-root=/tmp/dc-1/0/w/data",
            "--exec-root=/tmp/dc-1/0/w/exec",
            "--host=unix:///tmp/dc-1/0/w/d.sock",
            "--pidfile=/tmp/dc-1/0/w/docker.pid",
        ]);
        assert_eq!(
            config,
            Config {
                mode: Mode::Ready,
                delay: Duration::ZERO,
                fatal: DEFAULT_FATAL.to_owned(),
                socket: Some(PathBuf::from("/tmp/dc-1/0/w/d.sock")),
                pidfile: Some(PathBuf::from("/tmp/dc-1/0/w/docker.pid")),
                data_root: Some(PathBuf::from("/tmp/dc-1/0/w/data")),
                exec_root: Some(PathBuf::from("/tmp/dc-1/0/w/exec")),
                crash_once: None,
            }
        );
    }

    #[rstest]
    #[case(&["-H", "unix:///a.sock"])]
    #[case(&["-H=unix:///a.sock"])]
    #[case(&["--host", "unix:///a.sock"])]
    #[case(&["--host=unix:///a.sock"])]
    fn host_forms(#[case] list: &[&str]) {
        assert_eq!(run_config(list).socket, Some(PathBuf::from("/a.sock")));
    }

    #[rstest]
    #[case("ready", Mode::Ready)]
    #[case("crash", Mode::Crash)]
    #[case("last-words-hang", Mode::LastWordsHang)]
    #[case("hang", Mode::Hang)]
    #[case("hang-ignore-term", Mode::HangIgnoreTerm)]
    #[case("ready-ignore-term", Mode::ReadyIgnoreTerm)]
    #[case("die-after-ready", Mode::DieAfterReady)]
    #[case("fork-grandchild", Mode::ForkGrandchild)]
    fn modes_parse(#[case] name: &str, #[case] mode: Mode) {
        let flag = format!("--fake-mode={name}");
        assert_eq!(run_config(&[&flag, "-H", "unix:///s"]).mode, mode);
    }

    #[test]
    fn fake_flags_parse() {
        let config = run_config(&[
            "--fake-mode",
            "crash",
            "--fake-delay-ms=250",
            "--fake-fatal",
            "error initializing graphdriver: driver not supported",
        ]);
        assert_eq!(config.mode, Mode::Crash);
        assert_eq!(config.delay, Duration::from_millis(250));
        assert_eq!(
            config.fatal,
            "error initializing graphdriver: driver not supported"
        );
        assert_eq!(config.socket, None);
    }

    #[test]
    fn fatal_text_may_contain_equals() {
        let config = run_config(&["--fake-mode=crash", "--fake-fatal=a=b"]);
        assert_eq!(config.fatal, "a=b");
    }

    #[rstest]
    #[case(&["--fake-mode=bogus", "-H", "unix:///s"], UsageError::Mode { value: "bogus".into() })]
    #[case(&["--fake-delay-ms=1.5", "-H", "unix:///s"], UsageError::Delay { value: "1.5".into() })]
    #[case(&["--host=tcp://0.0.0.0:2375"], UsageError::Host { value: "tcp://0.0.0.0:2375".into() })]
    #[case(&["--host=unix://"], UsageError::Host { value: "unix://".into() })]
    #[case(&["--pidfile"], UsageError::MissingValue { flag: "--pidfile".into() })]
    #[case(&["--data-root=/d"], UsageError::NoHost { mode: "ready" })]
    #[case(&["--fake-mode=die-after-ready"], UsageError::NoHost { mode: "die-after-ready" })]
    fn usage_errors(#[case] list: &[&str], #[case] expected: UsageError) {
        assert_eq!(parse_args(args(list)), Err(expected));
    }

    #[test]
    fn hang_needs_no_host() {
        assert_eq!(run_config(&["--fake-mode=hang"]).mode, Mode::Hang);
    }

    #[test]
    fn version_wins() {
        assert_eq!(parse_args(args(&["--version"])), Ok(Action::Version));
        assert_eq!(
            dindcheck::binaries::version_label(VERSION_LINE).as_deref(),
            Some("0.0.0")
        );
    }

    #[rstest]
    #[case(1_795_892_969, 804_414_050, "2026-11-28T19:09:29.804414050Z")]
    #[case(1_795_892_969, 0, "2026-11-28T19:09:29.000000000Z")]
    #[case(0, 1, "1970-01-01T00:00:00.000000001Z")]
    fn times_have_nine_digits(#[case] secs: i64, #[case] nanos: i32, #[case] text: &str) {
        let ts = jiff::Timestamp::new(secs, nanos).expect("the test timestamp is in range");
        assert_eq!(format_time(ts), text);
    }

    #[test]
    fn lines_parse_as_logrus() {
        let ts = jiff::Timestamp::new(1_795_892_969, 804_414_050)
            .expect("the test timestamp is in range");
        let line = format_line(ts, Level::Info, "API listen on /tmp/d.sock");
        assert_eq!(
            line,
            r#"time="2026-11-28T19:09:29.804414050Z" level=info msg="API listen on /tmp/d.sock""#
        );
        let parsed = logline::parse(&line);
        assert_eq!(parsed.time, Some(ts));
        assert_eq!(parsed.level, Some(logline::Level::Info));
        assert_eq!(parsed.msg, "API listen on /tmp/d.sock");
    }

    #[test]
    fn messages_are_escaped() {
        assert_eq!(quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(quote("x\ny"), r#""x\ny""#);
    }

    #[rstest]
    #[case("GET", "/_ping", "200 OK", "OK")]
    #[case("HEAD", "/_ping", "200 OK", "OK")]
    #[case("GET", "/v1.45/_ping", "200 OK", "OK")]
    #[case("GET", "/v1.41/_ping?x=1", "200 OK", "OK")]
    #[case("GET", "/info", "200 OK", INFO_BODY)]
    #[case("GET", "/v1.24/info", "200 OK", INFO_BODY)]
    #[case("POST", "/_ping", "404 Not Found", r#"{"message":"page not found"}"#)]
    #[case("GET", "/vx/_ping", "404 Not Found", r#"{"message":"page not found"}"#)]
    #[case(
        "GET",
        "/containers/json",
        "404 Not Found",
        r#"{"message":"page not found"}"#
    )]
    fn routes(
        #[case] method: &str,
        #[case] target: &str,
        #[case] status: &str,
        #[case] body: &str,
    ) {
        let response = route(method, target);
        assert_eq!((response.status, response.body), (status, body));
    }

    #[test]
    fn info_is_json() {
        let value: serde_json::Value =
            serde_json::from_str(INFO_BODY).expect("INFO_BODY is valid JSON");
        assert_eq!(value["ServerVersion"], "0.0.0-fake");
    }
}
