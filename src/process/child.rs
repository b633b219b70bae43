//! `Supervised`: the one way this crate starts a long-running child.
//!
//! It owns the `Child`, its process group and its log files. Every child gets
//! its own process group, stdin from /dev/null, stdout and stderr redirected
//! to files, `PR_SET_PDEATHSIG(SIGKILL)` as a backstop, and optionally fresh
//! mount and network namespaces. Termination is SIGTERM to the group, a grace
//! period, SIGKILL, reap; `Drop` does the same with a short grace and never
//! panics. Every wait polls `try_wait` against an `Instant` deadline.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::File;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// PIDs of children a `Supervised` still owns; the sweeper must not reap them.
static LIVE: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// Whether `pid` is a child that a `Supervised` still owns.
pub fn is_supervised(pid: i32) -> bool {
    LIVE.lock().map(|live| live.contains(&pid)).unwrap_or(false)
}

/// Why a child could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// A log file could not be created.
    #[error("failed to create log file {path}")]
    Log {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The program could not be executed.
    #[error("failed to start {program}")]
    Exec {
        /// The program (argv[0]).
        program: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The argument vector was empty.
    #[error("empty command line")]
    Empty,
}

/// What to start and where its output goes.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    /// Program and arguments; never passed through a shell.
    pub argv: Vec<OsString>,
    /// Variables added to the inherited environment.
    pub env: Vec<(OsString, OsString)>,
    /// Where stdout goes.
    pub stdout: Output,
    /// Where stderr goes.
    pub stderr: Output,
    /// Start the child in fresh mount (private propagation) and network
    /// namespaces, so nothing it mounts or configures reaches the host.
    pub isolate: bool,
}

/// Where a child's stdout or stderr goes. Never a pipe: a full pipe can
/// block a daemon, and files can be re-read by the classifier.
#[derive(Debug, Clone)]
pub enum Output {
    /// A file, created or truncated.
    File(PathBuf),
    /// A file opened for appending (created if missing, never truncated):
    /// stdout and stderr can both go to it, and another reader can follow
    /// it while the child writes.
    Append(PathBuf),
}

/// A started child that will be terminated and reaped, whatever happens.
#[derive(Debug)]
pub struct Supervised {
    child: Child,
    pid: i32,
    program: String,
    status: Option<ExitStatus>,
    started: Instant,
}

impl Supervised {
    /// Starts the child described by `spec`.
    ///
    /// Spawn from a thread that outlives the child: `PR_SET_PDEATHSIG` fires
    /// when the spawning *thread* exits (see prctl(2)).
    ///
    /// # Errors
    /// [`SpawnError`] when a log file cannot be created or exec fails
    /// (including a failure to enter new namespaces).
    pub fn spawn(spec: &SpawnSpec) -> Result<Supervised, SpawnError> {
        let (program, args) = spec.argv.split_first().ok_or(SpawnError::Empty)?;
        let program_name = program.to_string_lossy().into_owned();
        let stdout = create_log(&spec.stdout)?;
        let stderr = create_log(&spec.stderr)?;
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0);
        let parent = nix::unistd::getpid();
        let isolate = spec.isolate;
        // SAFETY: the closure runs in the forked child before exec and only
        // makes raw system calls (prctl, getppid, unshare, mount) through nix
        // wrappers that neither allocate on these paths nor take locks, so it
        // is async-signal-safe as pre_exec requires.
        unsafe {
            command.pre_exec(move || pre_exec_setup(parent, isolate));
        }
        let child = command.spawn().map_err(|source| SpawnError::Exec {
            program: program_name.clone(),
            source,
        })?;
        let pid = child.id() as i32;
        if let Ok(mut live) = LIVE.lock() {
            live.insert(pid);
        }
        Ok(Supervised {
            child,
            pid,
            program: program_name,
            status: None,
            started: Instant::now(),
        })
    }

    /// The child's PID, which is also its process group ID.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// When the child was started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Returns the exit status if the child has exited, without blocking.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            match self.child.try_wait() {
                Ok(Some(status)) => self.mark_reaped(status),
                Ok(None) => {}
                Err(err) => {
                    // ECHILD: someone else reaped it; treat it as gone.
                    eprintln!("dindcheck: wait for {} ({}): {err}", self.program, self.pid);
                    self.mark_reaped(ExitStatus::from_raw(0xff00));
                }
            }
        }
        self.status
    }

    /// Polls until the child exits or `deadline` passes.
    pub fn wait_until(&mut self, deadline: Instant) -> Option<ExitStatus> {
        let mut backoff = Duration::from_millis(1);
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            std::thread::sleep(backoff.min(deadline - now));
            backoff = (backoff * 2).min(Duration::from_millis(20));
        }
    }

    /// SIGTERM to the group, wait up to `grace`, SIGKILL to the group, reap.
    ///
    /// Returns the child's status, or `None` if it could not be reaped even
    /// after SIGKILL (a stuck uninterruptible process; the sweep reports it).
    pub fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        if self.try_wait().is_none() && !grace.is_zero() {
            signal_group(self.pid, Signal::SIGTERM);
            self.wait_until(Instant::now() + grace);
        }
        // Even when the leader is gone, members of its group may not be.
        signal_group(self.pid, Signal::SIGKILL);
        self.wait_until(Instant::now() + Duration::from_secs(5))
    }

    fn mark_reaped(&mut self, status: ExitStatus) {
        self.status = Some(status);
        if let Ok(mut live) = LIVE.lock() {
            live.remove(&self.pid);
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if self.status.is_none() {
            self.terminate(Duration::from_millis(500));
        } else {
            signal_group(self.pid, Signal::SIGKILL);
        }
    }
}

/// Sends `signal` to process group `pgid`; a group that no longer exists
/// (ESRCH) counts as success, as in youki.
pub fn signal_group(pgid: i32, signal: Signal) {
    match killpg(Pid::from_raw(pgid), signal) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(err) => eprintln!("dindcheck: killpg({pgid}, {signal}): {err}"),
    }
}

/// Describes how a child ended: `exit status 1` or `signal 9 (SIGKILL)`.
pub fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => match Signal::try_from(sig) {
            Ok(name) => format!("signal {sig} ({name})"),
            Err(_) => format!("signal {sig}"),
        },
        (None, None) => "unknown status".to_owned(),
    }
}

fn create_log(output: &Output) -> Result<Stdio, SpawnError> {
    match output {
        Output::File(path) => {
            File::create(path)
                .map(Stdio::from)
                .map_err(|source| SpawnError::Log {
                    path: path.to_owned(),
                    source,
                })
        }
        Output::Append(path) => File::options()
            .create(true)
            .append(true)
            .open(path)
            .map(Stdio::from)
            .map_err(|source| SpawnError::Log {
                path: path.to_owned(),
                source,
            }),
    }
}

/// Runs in the forked child, before exec.
fn pre_exec_setup(parent: Pid, isolate: bool) -> std::io::Result<()> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
    // The parent may have died between fork and prctl; then the signal
    // would never come (prctl(2)), so leave now.
    if nix::unistd::getppid() != parent {
        return Err(std::io::Error::from_raw_os_error(libc_esrch()));
    }
    if isolate {
        nix::sched::unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET)?;
        // Mount events must not propagate back to the host's namespace.
        nix::mount::mount(
            None::<&str>,
            "/",
            None::<&str>,
            nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE,
            None::<&str>,
        )?;
    }
    Ok(())
}

fn libc_esrch() -> i32 {
    Errno::ESRCH as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn spec(dir: &Path, script: &str) -> SpawnSpec {
        SpawnSpec {
            argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
            env: vec![("DINDCHECK_TEST".into(), "1".into())],
            stdout: Output::File(dir.join("out")),
            stderr: Output::File(dir.join("err")),
            isolate: false,
        }
    }

    #[rstest::rstest]
    #[timeout(Duration::from_secs(60))]
    fn output_goes_to_files_and_status_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut child =
            Supervised::spawn(&spec(dir.path(), "echo hi; echo oops >&2; exit 3")).unwrap();
        let status = child
            .wait_until(Instant::now() + Duration::from_secs(10))
            .unwrap();
        assert_eq!(status.code(), Some(3));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out")).unwrap(),
            "hi\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("err")).unwrap(),
            "oops\n"
        );
        assert!(!is_supervised(child.pid()));
    }

    #[rstest::rstest]
    #[timeout(Duration::from_secs(60))]
    fn terminate_kills_the_whole_group_even_when_term_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        // The shell ignores TERM and leaves a grandchild in its group. The
        // grandchild's pid is written to a temporary name and renamed, so
        // the file appears whole: never empty or half written.
        let pid_file = dir.path().join("grandchild");
        let script = format!(
            "trap '' TERM; sleep 300 & echo $! > {0}.tmp && mv {0}.tmp {0}; wait",
            pid_file.display()
        );
        let mut child = Supervised::spawn(&spec(dir.path(), &script)).unwrap();
        // Bounded by the test's #[timeout].
        let grandchild: i32 = loop {
            if let Ok(text) = std::fs::read_to_string(&pid_file) {
                break text.trim().parse().expect("a whole pid");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let status = child.terminate(Duration::from_millis(200)).unwrap();
        assert_eq!(describe_status(status), "signal 9 (SIGKILL)");
        // The grandchild was killed with the group. SIGKILL is delivered
        // asynchronously: wait (bounded by the test's #[timeout]) until it
        // is gone or a zombie, which only a SIGKILL can have made it, as it
        // sleeps for 300 s.
        loop {
            let state =
                std::fs::read_to_string(format!("/proc/{grandchild}/stat")).unwrap_or_default();
            if state.is_empty() || state.contains(") Z ") || state.contains(") X ") {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[rstest::rstest]
    #[timeout(Duration::from_secs(60))]
    fn spawn_failure_names_the_program() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(dir.path(), "");
        s.argv = vec!["/nonexistent/dockerd".into()];
        let err = Supervised::spawn(&s).unwrap_err();
        assert_eq!(err.to_string(), "failed to start /nonexistent/dockerd");
    }
}
