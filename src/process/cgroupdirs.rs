//! Host cgroup directories a runtime left behind: runsc creates
//! `/sys/fs/cgroup/<controller>/<container-id>` for an OCI bundle's
//! `cgroupsPath` and leaves them when its sandbox is killed or never started.
//!
//! Found by the exact name the cell gave (its container ID, or a run's ID
//! prefix for a dead run), never by a pattern that could match another
//! program's cgroups. Only `rmdir` is used: the kernel refuses to remove a
//! cgroup that still has processes or children, so a live cgroup survives.
//! A killed process keeps its cgroup busy until it is reaped; when its
//! parent is init rather than the harness (a dead run's sandbox), that can
//! take a moment, so removal is retried until a deadline.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where the host's cgroup hierarchies are mounted.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// What removing a cell's cgroup directories found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CgroupDirs {
    /// Directories removed.
    pub removed: Vec<PathBuf>,
    /// Directories that could not be removed, with the reason.
    pub kept: Vec<(PathBuf, String)>,
}

/// Removes the cgroup directories named `name` directly below `root`
/// (cgroup v2, or the v1 hybrid's `unified`) and below each of its
/// hierarchies (`root/<controller>/name`), children first, trying again
/// for up to `settle` while one is busy.
pub fn remove_named(root: &Path, name: &str, settle: Duration) -> CgroupDirs {
    remove_until(root, |entry| entry == name, settle)
}

/// Removes the cgroup directories whose name `wanted` accepts, as
/// [`remove_named`] does for one name.
pub fn remove_where(root: &Path, wanted: impl Fn(&str) -> bool, settle: Duration) -> CgroupDirs {
    remove_until(root, wanted, settle)
}

/// The names of the directories directly below `root` and below each of
/// its hierarchies (the names a cgroup created for a container ID has).
pub fn names_below(root: &Path) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for parent in parents(root) {
        let Ok(entries) = std::fs::read_dir(&parent) else {
            continue;
        };
        names.extend(
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.file_name().to_string_lossy().into_owned()),
        );
    }
    names
}

/// `root` and its hierarchies (`root/cpu`, `root/memory`, …).
fn parents(root: &Path) -> Vec<PathBuf> {
    let mut parents = vec![root.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(root) {
        parents.extend(
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path()),
        );
    }
    parents
}

fn remove_until(root: &Path, wanted: impl Fn(&str) -> bool, settle: Duration) -> CgroupDirs {
    let deadline = Instant::now() + settle;
    let mut removed = Vec::new();
    let mut backoff = Duration::from_millis(5);
    loop {
        let pass = remove_matching(root, &wanted);
        removed.extend(pass.removed);
        let now = Instant::now();
        if pass.kept.is_empty() || now >= deadline {
            return CgroupDirs {
                removed,
                kept: pass.kept,
            };
        }
        std::thread::sleep(backoff.min(deadline - now));
        backoff = (backoff * 2).min(Duration::from_millis(100));
    }
}

fn remove_matching(root: &Path, wanted: &impl Fn(&str) -> bool) -> CgroupDirs {
    let mut found = Vec::new();
    for parent in parents(root) {
        let Ok(entries) = std::fs::read_dir(&parent) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if wanted(&name) && entry.file_type().is_ok_and(|t| t.is_dir()) {
                found.push(entry.path());
            }
        }
    }
    let mut result = CgroupDirs::default();
    for dir in found {
        remove_tree(&dir, &mut result);
    }
    result
}

/// rmdir of a cgroup and its child cgroups, deepest first. A cgroup's
/// control files are not files to unlink: rmdir of the directory removes
/// them, and fails with EBUSY while a process is in it.
fn remove_tree(dir: &Path, result: &mut CgroupDirs) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&entry.path(), result);
            }
        }
    }
    match std::fs::remove_dir(dir) {
        Ok(()) => result.removed.push(dir.to_path_buf()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => result.kept.push((dir.to_path_buf(), err.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_named_directories_go_children_first() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for dir in [
            "cpu/cell-1/child",
            "memory/cell-1",
            "cpu/cell-10",
            "cell-1",
            "pids/other",
        ] {
            std::fs::create_dir_all(r.join(dir)).unwrap();
        }
        let got = remove_named(r, "cell-1", Duration::ZERO);
        let mut removed: Vec<String> = got
            .removed
            .iter()
            .map(|p| p.strip_prefix(r).unwrap().display().to_string())
            .collect();
        removed.sort();
        assert_eq!(
            removed,
            ["cell-1", "cpu/cell-1", "cpu/cell-1/child", "memory/cell-1"]
        );
        assert!(got.kept.is_empty(), "{got:?}");
        assert!(
            r.join("cpu/cell-10").is_dir(),
            "a longer name is not the cell's"
        );
        assert!(r.join("pids/other").is_dir());
    }

    #[test]
    fn names_and_a_predicate_find_every_cell_of_a_run() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for dir in [
            "cpu/dindcheck-1-a-0",
            "memory/dindcheck-1-a-7",
            "cpu/dindcheck-2-b-0",
        ] {
            std::fs::create_dir_all(r.join(dir)).unwrap();
        }
        let names: Vec<String> = names_below(r).into_iter().collect();
        assert_eq!(
            names,
            [
                "cpu",
                "dindcheck-1-a-0",
                "dindcheck-1-a-7",
                "dindcheck-2-b-0",
                "memory"
            ]
        );
        let got = remove_where(r, |n| n.starts_with("dindcheck-1-a-"), Duration::ZERO);
        assert_eq!(got.removed.len(), 2, "{got:?}");
        assert!(r.join("cpu/dindcheck-2-b-0").is_dir());
    }

    #[test]
    fn a_directory_that_cannot_go_is_kept_and_reported() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("cpu/cell-1")).unwrap();
        std::fs::write(r.join("cpu/cell-1/tasks"), "1\n").unwrap();
        let got = remove_named(r, "cell-1", Duration::ZERO);
        assert!(got.removed.is_empty());
        assert_eq!(got.kept.len(), 1, "{got:?}");
    }
}
