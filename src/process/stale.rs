//! Runs whose harness died (SIGKILL, a crash, a power cut in a VM): finding
//! and removing what they left.
//!
//! Every run creates `/tmp/dindcheck-<run-id>/` afresh ([`create_scratch`]:
//! mode 0711, a random name, never an existing path) and writes an `owner` file there
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

/// The mode of a run's scratch directory: only its owner (root) may list it
/// or write in it. Others may only pass through to a path they already
/// know, because runsc 20221219's sandbox process runs as `nobody` and opens
/// the cell's files below it (with 0700 that runsc fails at start with
/// `cannot read client sync file: … EOF`); its name is random, so nobody can
/// guess one.
pub const SCRATCH_MODE: u32 = 0o711;

/// How many fresh names a run tries before it gives up on the scratch parent.
const CREATE_ATTEMPTS: usize = 16;

/// A run's scratch directory, made by [`create_scratch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scratch {
    /// `/tmp/dindcheck-<run-id>`.
    pub dir: PathBuf,
    /// `<pid>-<16 random hex digits>`: the markers' prefix.
    pub run_id: String,
}

/// Creates this run's scratch directory under [`SCRATCH_PARENT`] and claims
/// it (see [`claim`]).
///
/// The name carries 64 random bits read from `/dev/urandom`, so another
/// user cannot guess it and plant a directory or a symlink there first, and
/// the directory is made with `mkdir(2)` itself, which fails on
/// any existing path, a dangling symlink included: an existing path is
/// never reused; the run takes another name instead. The mode is
/// [`SCRATCH_MODE`].
///
/// # Errors
/// The I/O error (also when [`CREATE_ATTEMPTS`] names were all taken).
pub fn create_scratch() -> std::io::Result<Scratch> {
    create_scratch_in(Path::new(SCRATCH_PARENT), random_hex)
}

/// [`create_scratch`] below `parent`, with the random part of each name
/// from `random` (tests choose it to collide on purpose).
fn create_scratch_in(
    parent: &Path,
    mut random: impl FnMut() -> std::io::Result<String>,
) -> std::io::Result<Scratch> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    for _ in 0..CREATE_ATTEMPTS {
        let run_id = format!("{}-{}", std::process::id(), random()?);
        let dir = parent.join(format!("{SCRATCH_PREFIX}{run_id}"));
        match std::fs::DirBuilder::new().mode(SCRATCH_MODE).create(&dir) {
            Ok(()) => {
                // The umask may have cleared bits; set the mode exactly.
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(SCRATCH_MODE))?;
                claim(&dir)?;
                return Ok(Scratch { dir, run_id });
            }
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!(
            "{CREATE_ATTEMPTS} fresh names under {} were all taken",
            parent.display()
        ),
    ))
}

/// 16 hex digits from the kernel's random source.
fn random_hex() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes the owner file of a run's scratch dir (a new file: an existing
/// one is an error). The file appears whole: it is written under another
/// name and linked into place, so a run starting at the same moment never
/// reads it empty (an empty owner once made such a run take this one for
/// dead and remove its scratch dir under it).
///
/// # Errors
/// The I/O error.
pub fn claim(scratch: &Path) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let me = std::process::id() as i32;
    let text = format!("{me} {}\n", start_time(me).unwrap_or(0));
    let draft = scratch.join(format!(".{OWNER_FILE}-{me}"));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&draft)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .and_then(|()| std::fs::hard_link(&draft, scratch.join(OWNER_FILE)));
    let removed = std::fs::remove_file(&draft);
    written.and(removed)
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
/// readable, complete owner file is only stale once it is a minute old, so a
/// run that is just starting is never taken for a dead one.
fn is_owner_alive(dir: &Path) -> bool {
    let owner = std::fs::read_to_string(dir.join(OWNER_FILE)).ok();
    let mut fields = owner.as_deref().unwrap_or_default().split_whitespace();
    let pid: Option<i32> = fields.next().and_then(|p| p.parse().ok());
    let started: Option<u64> = fields.next().and_then(|s| s.parse().ok());
    match (pid, started) {
        (Some(pid), Some(started)) => start_time(pid) == Some(started),
        _ => std::fs::metadata(dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_none_or(|age| age.as_secs() < 60),
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
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [OWNER_FILE], "the draft is gone");
        assert_eq!(
            claim(dir.path()).unwrap_err().kind(),
            std::io::ErrorKind::AlreadyExists
        );
        // PID 1's start time is not 12345, so this owner is dead.
        std::fs::write(dir.path().join(OWNER_FILE), "1 12345\n").unwrap();
        assert!(!is_owner_alive(dir.path()));
    }

    /// An owner file being written (empty, or cut short) is no owner yet: a
    /// young dir is alive, one older than a minute is stale.
    #[rstest::rstest]
    #[case::empty("")]
    #[case::pid_only("4242")]
    #[case::garbage("garbage")]
    fn an_incomplete_owner_counts_only_once_the_dir_is_old(#[case] text: &str) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(OWNER_FILE), text).unwrap();
        assert!(is_owner_alive(dir.path()));
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
        std::fs::File::open(dir.path())
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(!is_owner_alive(dir.path()));
    }

    #[test]
    fn scratch_dirs_are_new_private_and_unpredictable() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let parent = tempfile::tempdir().unwrap();
        let a = create_scratch_in(parent.path(), random_hex).unwrap();
        let b = create_scratch_in(parent.path(), random_hex).unwrap();
        assert_ne!(a.dir, b.dir);
        assert!(is_run_id(&a.run_id), "{}", a.run_id);
        let meta = std::fs::symlink_metadata(&a.dir).unwrap();
        assert!(meta.is_dir());
        assert_eq!(meta.permissions().mode() & 0o7777, SCRATCH_MODE);
        assert_eq!(meta.uid(), nix::unistd::geteuid().as_raw());
        assert!(is_owner_alive(&a.dir));
    }

    /// Another user (or a symlink) at the path a run would take: the run
    /// takes another name and touches nothing at the planted path.
    #[test]
    fn a_planted_path_is_never_reused() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let parent = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let planted = parent
            .path()
            .join(format!("{SCRATCH_PREFIX}{me}-0000000000000001"));
        std::fs::create_dir(&planted).unwrap();
        std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o777)).unwrap();
        let nobody = nix::unistd::Uid::from_raw(65534);
        let root = nix::unistd::geteuid().is_root();
        if root {
            nix::unistd::chown(&planted, Some(nobody), None).unwrap();
        }
        let elsewhere = tempfile::tempdir().unwrap();
        let link = parent
            .path()
            .join(format!("{SCRATCH_PREFIX}{me}-0000000000000002"));
        std::os::unix::fs::symlink(elsewhere.path(), &link).unwrap();
        let dangling = parent
            .path()
            .join(format!("{SCRATCH_PREFIX}{me}-0000000000000003"));
        std::os::unix::fs::symlink(parent.path().join("nowhere"), &dangling).unwrap();
        let mut names = (1..).map(|n| format!("{n:016x}"));
        let got = create_scratch_in(parent.path(), || Ok(names.next().unwrap())).unwrap();
        assert_eq!(got.run_id, format!("{me}-0000000000000004"));
        assert_eq!(
            std::fs::symlink_metadata(&got.dir).unwrap().mode() & 0o7777,
            SCRATCH_MODE
        );
        // The planted directory, the symlink's target and the dangling
        // symlink are as they were.
        assert_eq!(std::fs::read_dir(&planted).unwrap().count(), 0);
        if root {
            assert_eq!(std::fs::metadata(&planted).unwrap().uid(), nobody.as_raw());
        }
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
        assert!(!parent.path().join("nowhere").exists());
        // With every name taken, the run refuses rather than reuse one.
        let err =
            create_scratch_in(parent.path(), || Ok("0000000000000001".to_owned())).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
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
