//! Host cgroup directories a runtime left behind: runsc creates
//! `/sys/fs/cgroup/<controller>/<container-id>` for an OCI bundle's
//! `cgroupsPath` and leaves them when its sandbox is killed or never started.
//!
//! Found by the exact name the cell gave (its container ID, or a run's ID
//! prefix for a dead run), never by a pattern that could match another
//! program's cgroups. Only `rmdir` is used: the kernel refuses to remove a
//! cgroup that still has processes or children, so a live cgroup survives.

use std::path::{Path, PathBuf};

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
/// hierarchies (`root/<controller>/name`), children first.
pub fn remove_named(root: &Path, name: &str) -> CgroupDirs {
    remove_matching(root, |entry| entry == name)
}

/// Removes the cgroup directories whose name starts with `prefix`, as
/// [`remove_named`] does for one name (a dead run's cells).
pub fn remove_prefixed(root: &Path, prefix: &str) -> CgroupDirs {
    remove_matching(root, |entry| entry.starts_with(prefix))
}

fn remove_matching(root: &Path, wanted: impl Fn(&str) -> bool) -> CgroupDirs {
    let mut found = Vec::new();
    let mut parents = vec![root.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(root) {
        parents.extend(
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path()),
        );
    }
    for parent in parents {
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
        let got = remove_named(r, "cell-1");
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
    fn a_prefix_finds_every_cell_of_a_run() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for dir in [
            "cpu/dindcheck-1-a-0",
            "cpu/dindcheck-1-a-7",
            "cpu/dindcheck-2-b-0",
        ] {
            std::fs::create_dir_all(r.join(dir)).unwrap();
        }
        let got = remove_prefixed(r, "dindcheck-1-a-");
        assert_eq!(got.removed.len(), 2, "{got:?}");
        assert!(r.join("cpu/dindcheck-2-b-0").is_dir());
    }

    #[test]
    fn a_directory_that_cannot_go_is_kept_and_reported() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("cpu/cell-1")).unwrap();
        std::fs::write(r.join("cpu/cell-1/tasks"), "1\n").unwrap();
        let got = remove_named(r, "cell-1");
        assert!(got.removed.is_empty());
        assert_eq!(got.kept.len(), 1, "{got:?}");
    }
}
