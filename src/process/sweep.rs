//! Finding and removing what a cell left behind.
//!
//! runsc and dockerd fork helpers (sandbox, gofer, containerd, shims) that can
//! leave the cell's process group. The harness makes itself a child subreaper
//! so such orphans come back to it, and every child carries the marker
//! variable [`MARKER_VAR`] in its environment. After each cell's teardown the
//! sweep scans procfs for the cell's marker or process group, SIGKILLs and
//! reaps what it finds, and reports it as a leak. The marker, never a process
//! name, is what identifies a cell's process.

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

use super::child::is_supervised;

/// The environment variable that marks every process of a cell:
/// `DINDCHECK_CELL=<run-id>/<cell-index>`.
pub const MARKER_VAR: &str = "DINDCHECK_CELL";

/// Makes this process the child subreaper, so orphaned descendants are
/// re-parented here instead of to PID 1 (prctl(2), PR_SET_CHILD_SUBREAPER).
///
/// # Errors
/// The prctl error, which only happens on kernels older than 3.4.
pub fn become_subreaper() -> Result<(), nix::Error> {
    nix::sys::prctl::set_child_subreaper(true)
}

/// A process found by a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// Its PID.
    pub pid: i32,
    /// Its command name.
    pub comm: String,
}

impl std::fmt::Display for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process {} ({})", self.pid, self.comm)
    }
}

/// Which markers a sweep looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker<'a> {
    /// Exactly this value of [`MARKER_VAR`]: one cell's attempt.
    Cell(&'a str),
    /// Every value starting with this: a whole run.
    RunPrefix(&'a str),
}

impl Marker<'_> {
    fn matches(self, value: &str) -> bool {
        match self {
            Marker::Cell(cell) => value == cell,
            Marker::RunPrefix(prefix) => value.starts_with(prefix),
        }
    }
}

/// Finds processes whose environment carries `marker`, or whose process
/// group is `pgid`.
pub fn find_marked(marker: Marker<'_>, pgid: Option<i32>) -> Vec<Leftover> {
    let me = std::process::id() as i32;
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for process in all.flatten() {
        if process.pid == me {
            continue;
        }
        let Ok(stat) = process.stat() else { continue };
        if stat.state == 'Z' {
            continue;
        }
        let in_group = pgid.is_some_and(|g| stat.pgrp == g);
        if in_group || has_marker(&process, marker) {
            found.push(Leftover {
                pid: process.pid,
                comm: stat.comm,
            });
        }
    }
    found
}

fn has_marker(process: &procfs::process::Process, marker: Marker<'_>) -> bool {
    let Ok(environ) = process.environ() else {
        return false;
    };
    environ
        .get(std::ffi::OsStr::new(MARKER_VAR))
        .is_some_and(|v| marker.matches(&v.to_string_lossy()))
}

/// SIGKILLs every leftover of `marker`/`pgid`, reaps those that are our
/// children, and returns what it found (an empty list means no leak).
pub fn kill_leftovers(marker: Marker<'_>, pgid: Option<i32>) -> Vec<Leftover> {
    let found = find_marked(marker, pgid);
    for leftover in &found {
        match kill(Pid::from_raw(leftover.pid), Signal::SIGKILL) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(err) => eprintln!("dindcheck: kill {leftover}: {err}"),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    for leftover in &found {
        wait_gone(leftover.pid, deadline);
    }
    reap_orphans();
    found
}

/// Reaps zombies that were re-parented to this subreaper and that no
/// `Supervised` owns. Never blocks.
pub fn reap_orphans() {
    let me = std::process::id() as i32;
    let Ok(all) = procfs::process::all_processes() else {
        return;
    };
    for process in all.flatten() {
        let Ok(stat) = process.stat() else { continue };
        if stat.ppid == me && stat.state == 'Z' && !is_supervised(process.pid) {
            let _ = waitpid(Pid::from_raw(process.pid), Some(WaitPidFlag::WNOHANG));
        }
    }
}

/// Waits until `pid` is gone or a zombie, reaping it if it is our child.
fn wait_gone(pid: i32, deadline: Instant) {
    let me = std::process::id() as i32;
    let mut backoff = Duration::from_millis(1);
    loop {
        let stat = procfs::process::Process::new(pid).and_then(|p| p.stat());
        match stat {
            Err(_) => return,
            Ok(stat) if stat.state == 'Z' => {
                if stat.ppid == me && !is_supervised(pid) {
                    let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
                }
                return;
            }
            Ok(_) => {}
        }
        if Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::child::{Output, SpawnSpec, Supervised};

    #[rstest::rstest]
    #[timeout(Duration::from_secs(60))]
    fn finds_and_kills_a_marked_process_outside_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = format!("sweeptest-{}/0", std::process::id());
        // setsid puts the sleeper in a new session and group: only the marker finds it.
        let spec = SpawnSpec {
            argv: vec![
                "/bin/sh".into(),
                "-c".into(),
                "setsid sleep 300 & echo started".into(),
            ],
            env: vec![(MARKER_VAR.into(), marker.clone().into())],
            stdout: Output::File(dir.path().join("out")),
            stderr: Output::File(dir.path().join("err")),
            isolate: false,
        };
        let mut child = Supervised::spawn(&spec).unwrap();
        child.wait_until(Instant::now() + Duration::from_secs(10));
        let mut found: Vec<Leftover> = Vec::new();
        // Until setsid has exec'd, the process is still called setsid.
        // Bounded by the test's #[timeout].
        while !(found.len() == 1 && found[0].comm == "sleep") {
            found = find_marked(Marker::Cell(&marker), None);
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].comm, "sleep");
        let killed = kill_leftovers(Marker::Cell(&marker), None);
        assert_eq!(killed, found);
        assert!(find_marked(Marker::Cell(&marker), None).is_empty());
    }

    #[test]
    fn run_prefix_marker_matches_every_cell() {
        assert!(find_marked(Marker::RunPrefix("no-such-run-xyz/"), None).is_empty());
    }
}
