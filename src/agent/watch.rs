//! Watching a starting dockerd until the first event that decides the cell:
//! its last words, its exit, its API's answer, or the deadline.
//!
//! Nothing here polls on a timer while dockerd is quiet: three threads
//! block, one each on the output file (inotify), on dockerd's exit (waitid
//! without reaping) and on a pending `GET /_ping` (see `readiness`), and
//! wake the loop, which then reads the output, reaps, or takes the answer.
//! Under gVisor's ptrace platform a 10 ms poll costs about as much host CPU
//! per second as the sandbox's own idle work, and a matrix on a small
//! machine runs many cells at once. Where inotify is not available the loop
//! reads the output every 10 ms instead.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::process::child::Supervised;
use crate::process::notify::{FileWatch, wait_exited_unreaped};

use super::output::DockerdOutput;
use super::readiness::ping_until;

/// How long the loop sleeps between looks when inotify wakes it.
const WOKEN_IDLE: Duration = Duration::from_millis(250);

/// After waking the loop for dockerd's output, the watch lets further
/// writes gather this long (inotify merges them into one event): dockerd
/// writes a line per call, a hundred in its first second.
const OUTPUT_COALESCE: Duration = Duration::from_millis(10);

/// How long it sleeps between looks when it must poll the output.
const POLLED_IDLE: Duration = Duration::from_millis(10);

/// What woke the loop.
#[derive(Debug)]
pub(crate) enum Wake {
    /// dockerd wrote to its output.
    Output,
    /// dockerd exited (not yet reaped).
    Exited,
    /// The API answered `/_ping` at this moment.
    Api(Instant),
}

/// The event that ended the wait.
#[derive(Debug)]
pub(crate) enum Startup {
    /// dockerd's last words (a terminal line of its output) before its API
    /// answered; `DockerdOutput::terminal` has them.
    LastWords,
    /// dockerd exited, and this is how; `api` is when its API answered, if
    /// it did before the exit was seen.
    Exited {
        /// Its status.
        status: ExitStatus,
        /// When `/_ping` answered, if it did.
        api: Option<Instant>,
    },
    /// The API answered `/_ping` at this moment.
    ApiReady(Instant),
    /// The deadline passed first.
    TimedOut,
}

/// Watches `dockerd` (listening on `socket`) until one of the [`Startup`]
/// events, copying its output as it comes.
pub(crate) fn until_decided(
    dockerd: &mut Supervised,
    output: &mut DockerdOutput,
    socket: PathBuf,
    deadline: Instant,
) -> Startup {
    let (wake, woken) = mpsc::channel();
    let api_answer = wake.clone();
    ping_until(socket, deadline, move |at| {
        let _ = api_answer.send(Wake::Api(at));
    });
    let pid = dockerd.pid();
    let exited = wake.clone();
    std::thread::spawn(move || {
        wait_exited_unreaped(pid);
        let _ = exited.send(Wake::Exited);
    });
    let idle = if watch_output(output, wake) {
        WOKEN_IDLE
    } else {
        POLLED_IDLE
    };
    let mut api = None;
    loop {
        output.pump();
        if output.terminal().is_some() {
            return Startup::LastWords;
        }
        if let Some(status) = dockerd.try_wait() {
            // Whatever dockerd wrote before it exited is in the file now.
            output.pump();
            if output.terminal().is_some() {
                // Its last words were there when the exit was seen: they
                // came first.
                return Startup::LastWords;
            }
            return Startup::Exited { status, api };
        }
        if let Some(answered) = api {
            return Startup::ApiReady(answered);
        }
        let now = Instant::now();
        if now >= deadline {
            return Startup::TimedOut;
        }
        match woken.recv_timeout(idle.min(deadline - now)) {
            Ok(Wake::Api(answered)) => api = Some(answered),
            Ok(Wake::Output | Wake::Exited) | Err(RecvTimeoutError::Timeout) => {}
            // Every thread is done (the exit thread after dockerd's exit,
            // which the next look reaps): look again after a pause.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(POLLED_IDLE),
        }
    }
}

/// Starts a thread that wakes the loop whenever dockerd writes to its
/// output; false when inotify cannot watch the file.
fn watch_output(output: &DockerdOutput, wake: Sender<Wake>) -> bool {
    let Ok(watch) = FileWatch::new(output.path()) else {
        return false;
    };
    std::thread::spawn(move || {
        while watch.wait() {
            if wake.send(Wake::Output).is_err() {
                return;
            }
            std::thread::sleep(OUTPUT_COALESCE);
        }
    });
    true
}
