//! Runs whose harness died (SIGKILL, a crash, a power cut in a VM): finding
//! and removing what they left.
//!
//! Every run owns `/tmp/dindcheck-<run-id>/` and writes an `owner` file there
//! with its PID and that process's start time (field 22 of /proc/PID/stat), so
//! a reused PID is not mistaken for a live harness. A run is stale when its
//! owner is gone. Its processes are found by the marker variable, never by a
//! process name.

use std::path::{Path, PathBuf};

use super::cgroupdirs::{CGROUP_ROOT, names_below, remove_where};
use super::mounts::unmount_below;
use super::sweep::{Leftover, Marker, kill_leftovers};

/// The directory every run's scratch space lives in.
pub const SCRATCH_PARENT: &str = "/tmp";
/// The prefix of a run's scratch directory name.
pub const SCRATCH_PREFIX: &str = "dindcheck-";
const OWNER_FILE: &str = "owner";
/// How long a dead run's host cgroups may stay busy after its processes
/// were killed: init, their parent now, reaps them in its own time.
const CGROUP_SETTLE: std::time::Duration = std::time::Duration::from_secs(5);

/// What a cleanup removed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Cleaned {
    /// Processes killed.
    pub processes: Vec<Leftover>,
    /// Mounts detached.
    pub mounts: Vec<PathBuf>,
    /// Scratch directories removed.
    pub dirs: Vec<PathBuf>,
    /// Host cgroup directories of the run's OCI cells removed
    /// (`/sys/fs/cgroup/<controller>/dindcheck-<run-id>-<cell>`).
    pub cgroups: Vec<PathBuf>,
}

impl Cleaned {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.processes.is_empty()
            && self.mounts.is_empty()
            && self.dirs.is_empty()
            && self.cgroups.is_empty()
    }
}

/// Writes the owner file of a run's scratch dir.
///
/// # Errors
/// The I/O error.
pub fn claim(scratch: &Path) -> std::io::Result<()> {
    let me = std::process::id() as i32;
    std::fs::write(
        scratch.join(OWNER_FILE),
        format!("{me} {}\n", start_time(me).unwrap_or(0)),
    )
}

/// Removes the processes, mounts and scratch dirs of every stale run.
pub fn clean_stale_runs() -> Cleaned {
    let mut cleaned = Cleaned::default();
    let Ok(entries) = std::fs::read_dir(SCRATCH_PARENT) else {
        return cleaned;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(run_id) = name.strip_prefix(SCRATCH_PREFIX).filter(|id| is_run_id(id)) else {
            continue;
        };
        let dir = entry.path();
        if !dir.is_dir() || is_owner_alive(&dir) {
            continue;
        }
        // Markers are `<run-id>.<scenario>/<cell>`; the run id is the prefix.
        cleaned.processes.extend(kill_leftovers(
            Marker::RunPrefix(&format!("{run_id}.")),
            None,
        ));
        cleaned.mounts.extend(unmount_below(&dir));
        if std::fs::remove_dir_all(&dir).is_ok() {
            cleaned.dirs.push(dir);
        }
    }
    cleaned.cgroups = remove_orphan_cgroups();
    cleaned
}

/// Removes the host cgroups of runs that are not running: `runsc-oci`
/// cells name theirs `<run dir name>-<cell>` (sandbox::layout), and runsc
/// leaves them when its sandbox is killed. A run counts as not running when
/// its scratch dir is gone (removed above, or by a dindcheck that did not
/// know about cgroups) or stale; only empty cgroups can be removed at all.
fn remove_orphan_cgroups() -> Vec<PathBuf> {
    let root = Path::new(CGROUP_ROOT);
    let orphans: std::collections::BTreeSet<String> = names_below(root)
        .into_iter()
        .filter(|name| {
            let Some((run_dir, cell)) = name.rsplit_once('-') else {
                return false;
            };
            let is_cell = !cell.is_empty() && cell.bytes().all(|b| b.is_ascii_digit());
            let is_run = run_dir.strip_prefix(SCRATCH_PREFIX).is_some_and(is_run_id);
            let scratch = Path::new(SCRATCH_PARENT).join(run_dir);
            is_cell && is_run && !(scratch.is_dir() && is_owner_alive(&scratch))
        })
        .collect();
    if orphans.is_empty() {
        return Vec::new();
    }
    remove_where(root, |name| orphans.contains(name), CGROUP_SETTLE).removed
}

/// Whether the run that owns `dir` is still running. A dir without a
/// readable owner file is only stale once it is a minute old, so a run that
/// is just starting is never taken for a dead one.
fn is_owner_alive(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join(OWNER_FILE)) else {
        let young = std::fs::metadata(dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_none_or(|age| age.as_secs() < 60);
        return young;
    };
    let mut fields = text.split_whitespace();
    let pid: Option<i32> = fields.next().and_then(|p| p.parse().ok());
    let started: Option<u64> = fields.next().and_then(|s| s.parse().ok());
    match (pid, started) {
        (Some(pid), Some(started)) => start_time(pid) == Some(started),
        _ => false,
    }
}

/// A run id as `app` makes them: `<pid>-<hex>`. Other directories that
/// happen to start with `dindcheck-` (a benchmark's, a user's) are not ours.
fn is_run_id(id: &str) -> bool {
    id.split_once('-').is_some_and(|(pid, hex)| {
        !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !hex.is_empty()
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

fn start_time(pid: i32) -> Option<u64> {
    procfs::process::Process::new(pid)
        .and_then(|p| p.stat())
        .ok()
        .map(|s| s.starttime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dir_claimed_by_this_process_is_alive_and_a_dead_owner_is_not() {
        let dir = tempfile::tempdir().unwrap();
        claim(dir.path()).unwrap();
        assert!(is_owner_alive(dir.path()));
        // PID 1's start time is not 12345, so this owner is dead.
        std::fs::write(dir.path().join(OWNER_FILE), "1 12345\n").unwrap();
        assert!(!is_owner_alive(dir.path()));
        std::fs::write(dir.path().join(OWNER_FILE), "garbage").unwrap();
        assert!(!is_owner_alive(dir.path()));
    }

    #[rstest::rstest]
    #[case("1234-af09e1", true)]
    #[case("7-0", true)]
    #[case("bench-triage", false)]
    #[case("bench.Xa81", false)]
    #[case("1234-", false)]
    #[case("1234-xyz", false)]
    fn only_run_ids_are_candidates(#[case] id: &str, #[case] ours: bool) {
        assert_eq!(is_run_id(id), ours);
    }

    #[test]
    fn a_fresh_dir_without_owner_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        assert!(is_owner_alive(dir.path()));
    }
}
