//! Reads the /proc files the doctor judges: the one place in `doctor/` that
//! uses the procfs crate (style guide section 1 allows it here, in one file).
//!
//! Every file is read relative to a root, so the same code reads the live
//! `/proc` and the snapshots captured inside runsc and native cells under
//! `fixtures/proc/<environment>/` (see `fixtures/proc/capture.sh`). A file
//! that cannot be read or parsed is recorded in `problems` and otherwise
//! treated as absent; this module never fails.

use std::collections::HashSet;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use procfs::FromBufRead;
use procfs::process::{MountInfos, MountOptFields};
use procfs::{CGroupControllers, ProcessCGroups};

/// One line of mountinfo, reduced to what the doctor needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// The filesystem type (`cgroup`, `cgroup2`, `tmpfs`, `overlay`, …).
    pub fs_type: String,
    /// Per-superblock options, `key` or `key=value` (for cgroup v1 these
    /// name the controllers).
    pub super_options: Vec<String>,
    /// Whether the mount is in a shared peer group (propagates mounts).
    pub shared: bool,
}

/// One line of /proc/cgroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    /// The controller's name.
    pub name: String,
    /// Its v1 hierarchy id (0: not mounted in v1).
    pub hierarchy: u32,
    /// Whether it is enabled.
    pub enabled: bool,
}

/// One line of /proc/self/cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The hierarchy id (0 for cgroup v2).
    pub hierarchy: u32,
    /// Its controllers (empty for v2; `name=systemd` for a named one).
    pub controllers: Vec<String>,
    /// The cgroup path.
    pub path: String,
}

/// The /proc files the doctor reads, parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcSnapshot {
    /// /proc/self/mountinfo.
    pub mounts: Vec<Mount>,
    /// /proc/cgroups.
    pub controllers: Vec<Controller>,
    /// /proc/self/cgroup.
    pub memberships: Vec<Membership>,
    /// The first line of /proc/self/uid_map, if the file exists.
    pub uid_map: Option<String>,
    /// `CapEff` from /proc/self/status.
    pub cap_eff: Option<u64>,
    /// /proc/version.
    pub version: Option<String>,
    /// /proc/1/comm.
    pub pid1_comm: Option<String>,
    /// Module names from /proc/modules; `None` when the kernel has no
    /// module support (or, like gVisor, no such file).
    pub modules: Option<Vec<String>>,
    /// /proc/sys/kernel/modprobe, the helper the kernel (and iptables-legacy)
    /// runs to load modules; gVisor has no such file.
    pub modprobe: Option<String>,
    /// The inode of /proc/self/ns/user (absent from captured snapshots).
    pub user_ns_inode: Option<u64>,
    /// Files that could not be read or parsed, with the reason.
    pub problems: Vec<String>,
}

impl ProcSnapshot {
    /// Reads the snapshot under `root` (`/proc`, or a captured copy).
    pub fn read(root: &Path) -> ProcSnapshot {
        let mut snap = ProcSnapshot::default();
        if let Some(text) = snap.text(root, "self/mountinfo") {
            snap.mounts = snap.parse_mountinfo(&text);
        }
        if let Some(text) = snap.text(root, "cgroups") {
            match CGroupControllers::from_buf_read(Cursor::new(text)) {
                Ok(list) => {
                    snap.controllers = list
                        .0
                        .into_iter()
                        .map(|c| Controller {
                            name: c.name,
                            hierarchy: c.hierarchy,
                            enabled: c.enabled,
                        })
                        .collect();
                }
                Err(err) => snap.problems.push(format!("cgroups: {err}")),
            }
        }
        if let Some(text) = snap.text(root, "self/cgroup") {
            match ProcessCGroups::from_buf_read(Cursor::new(text)) {
                Ok(list) => {
                    snap.memberships = list
                        .0
                        .into_iter()
                        .map(|m| Membership {
                            hierarchy: m.hierarchy,
                            controllers: m.controllers,
                            path: m.pathname,
                        })
                        .collect();
                }
                Err(err) => snap.problems.push(format!("self/cgroup: {err}")),
            }
        }
        snap.user_ns_inode = crate::process::userns::namespace_inode(&root.join("self/ns/user"));
        snap.uid_map = snap
            .text(root, "self/uid_map")
            .map(|t| t.lines().next().unwrap_or_default().trim().to_owned());
        // procfs's `Status` insists on fields gVisor does not write (SigQ,
        // NSpid, …), so CapEff is read directly.
        snap.cap_eff = snap
            .text(root, "self/status")
            .and_then(|t| parse_cap_eff(&t));
        snap.version = snap.text(root, "version").map(|t| t.trim().to_owned());
        snap.pid1_comm = snap.text(root, "1/comm").map(|t| t.trim().to_owned());
        // Absent in gVisor; not a problem.
        snap.modprobe = std::fs::read_to_string(root.join("sys/kernel/modprobe"))
            .ok()
            .map(|t| t.trim().to_owned());
        // Absent on kernels without module support and in gVisor; not a problem.
        snap.modules = std::fs::read_to_string(root.join("modules")).ok().map(|t| {
            t.lines()
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_owned)
                .collect()
        });
        snap
    }

    fn text(&mut self, root: &Path, file: &str) -> Option<String> {
        match std::fs::read_to_string(root.join(file)) {
            Ok(text) => Some(text),
            Err(err) => {
                self.problems.push(format!("{file}: {err}"));
                None
            }
        }
    }

    fn parse_mountinfo(&mut self, text: &str) -> Vec<Mount> {
        let infos = match MountInfos::from_buf_read(Cursor::new(text.as_bytes())) {
            Ok(infos) => infos,
            Err(err) => {
                self.problems.push(format!("self/mountinfo: {err}"));
                return Vec::new();
            }
        };
        infos
            .into_iter()
            .map(|m| {
                let mut super_options: Vec<String> = m
                    .super_options
                    .into_iter()
                    .map(|(k, v)| match v {
                        Some(v) => format!("{k}={v}"),
                        None => k,
                    })
                    .collect();
                super_options.sort();
                Mount {
                    mount_point: m.mount_point,
                    fs_type: m.fs_type,
                    super_options,
                    shared: m
                        .opt_fields
                        .iter()
                        .any(|f| matches!(f, MountOptFields::Shared(_))),
                }
            })
            .collect()
    }

    /// The mount that serves `path`: the last mounted one whose mount point
    /// is `path` or its nearest ancestor.
    pub fn mount_for(&self, path: &Path) -> Option<&Mount> {
        let mut best: Option<&Mount> = None;
        for mount in &self.mounts {
            if path.starts_with(&mount.mount_point)
                && best.is_none_or(|b| {
                    mount.mount_point.components().count() >= b.mount_point.components().count()
                })
            {
                best = Some(mount);
            }
        }
        best
    }

    /// The mount exactly at `path`, if any (the last one: it hides the others).
    pub fn mount_at(&self, path: &Path) -> Option<&Mount> {
        self.mounts.iter().rev().find(|m| m.mount_point == path)
    }

    /// The keys of /proc/self/cgroup as runc's `ParseCgroupFile` makes them:
    /// every controller of every v1 hierarchy (`name=systemd` included).
    pub fn attached_controllers(&self) -> HashSet<&str> {
        self.memberships
            .iter()
            .flat_map(|m| m.controllers.iter().map(String::as_str))
            .collect()
    }

    #[cfg(test)]
    /// Whether any mount propagates to a peer group, so that a mount made in
    /// a new mount namespace could appear elsewhere.
    pub fn has_shared_mounts(&self) -> bool {
        self.mounts.iter().any(|m| m.shared)
    }
}

/// `CapEff:` from a status file, as a number.
fn parse_cap_eff(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

/// Whether any mount in this process's mount namespace is shared (reads
/// only /proc/self/mountinfo); `None` when it cannot be read.
pub fn live_has_shared_mounts() -> Option<bool> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut snap = ProcSnapshot::default();
    let mounts = snap.parse_mountinfo(&text);
    snap.problems
        .is_empty()
        .then(|| mounts.iter().any(|m| m.shared))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rstest::rstest;

    /// Reads a captured snapshot under `fixtures/proc/` (shared with the
    /// findings tests).
    pub(crate) fn fixture(name: &str) -> ProcSnapshot {
        ProcSnapshot::read(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/proc")
                .join(name),
        )
    }

    #[rstest]
    #[case("runsc-20221219", 0x3f_ffff_dfff, "0 0 4294967295", false)]
    #[case("runsc-20221219-userns", 0x3f_ffff_ffff, "0 0 1", false)]
    #[case("runsc-20240729", 0x1ff_ffff_dfff, "0 0 4294967295", true)]
    #[case("native", 0x1ff_feff_ffff, "0 0 4294967295", true)]
    #[case("native-no-devices", 0x1ff_feff_ffff, "0 0 4294967295", false)]
    fn snapshots_parse(
        #[case] name: &str,
        #[case] cap_eff: u64,
        #[case] uid_map: &str,
        #[case] devices_mounted: bool,
    ) {
        let snap = fixture(name);
        assert_eq!(snap.problems, Vec::<String>::new(), "{name}");
        assert_eq!(snap.cap_eff, Some(cap_eff), "{name}");
        let map: Vec<&str> = snap
            .uid_map
            .as_deref()
            .unwrap()
            .split_whitespace()
            .collect();
        assert_eq!(map.join(" "), uid_map);
        let devices = snap
            .mounts
            .iter()
            .any(|m| m.fs_type == "cgroup" && m.super_options.iter().any(|o| o == "devices"));
        assert_eq!(devices, devices_mounted, "{name}");
        assert_eq!(snap.pid1_comm.as_deref(), Some("sh"));
        assert_eq!(snap.modules, None);
    }

    #[test]
    fn gvisor_2022_lists_only_mounted_controllers() {
        let snap = fixture("runsc-20221219");
        let listed: Vec<&str> = snap.controllers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            listed,
            ["cpu", "cpuacct", "cpuset", "job", "memory", "pids"]
        );
        assert!(snap.attached_controllers().contains("job"));
        assert!(!snap.has_shared_mounts());
    }

    #[test]
    fn the_last_and_deepest_mount_serves_a_path() {
        let snap = fixture("native");
        let m = snap
            .mount_for(Path::new("/sys/fs/cgroup/devices/x"))
            .unwrap();
        assert_eq!(m.fs_type, "cgroup");
        assert_eq!(
            snap.mount_for(Path::new("/var/lib/docker"))
                .unwrap()
                .fs_type,
            "ext4"
        );
        assert_eq!(
            snap.mount_at(Path::new("/sys/fs/cgroup")).unwrap().fs_type,
            "tmpfs"
        );
        // Two proc mounts at /proc: the later one (the pid namespace's) wins.
        let proc = snap.mount_at(Path::new("/proc")).unwrap();
        assert!(proc.super_options.iter().any(|o| o == "rw"));
    }

    #[rstest]
    #[case("CapInh:\t0\nCapEff:\t000001ffffffffff\n", Some(0x1ff_ffff_ffff))]
    #[case("CapEff:\tzz\n", None)]
    #[case("Name:\tcat\n", None)]
    fn cap_eff_parsing(#[case] text: &str, #[case] want: Option<u64>) {
        assert_eq!(parse_cap_eff(text), want);
    }

    #[test]
    fn a_missing_root_is_a_problem_not_a_panic() {
        let snap = ProcSnapshot::read(Path::new("/nonexistent/proc"));
        assert!(snap.mounts.is_empty());
        assert!(
            snap.problems
                .iter()
                .any(|p| p.starts_with("self/mountinfo"))
        );
    }
}
