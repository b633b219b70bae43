//! Mount system calls the in-sandbox agent makes: tmpfs scratch space and
//! cgroup hierarchies. Only the agent calls these, inside a sandbox or a
//! private mount namespace, never in the host's namespace.

use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};

/// Mounts a fresh tmpfs at `target`.
///
/// # Errors
/// The mount(2) error.
pub fn mount_tmpfs(target: &Path, options: &str) -> Result<(), nix::Error> {
    mount(
        Some("tmpfs"),
        target,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(options),
    )
}

/// Mounts the cgroup v1 hierarchy of `controller` at `target`.
///
/// # Errors
/// The mount(2) error: gVisor answers EINVAL for a controller it lacks.
pub fn mount_cgroup_v1(controller: &str, target: &Path) -> Result<(), nix::Error> {
    mount(
        Some("cgroup"),
        target,
        Some("cgroup"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some(controller),
    )
}

/// Mounts the unified cgroup v2 hierarchy at `target`.
///
/// # Errors
/// The mount(2) error.
pub fn mount_cgroup2(target: &Path) -> Result<(), nix::Error> {
    mount(
        Some("cgroup2"),
        target,
        Some("cgroup2"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
}

/// Makes every mount below `/` private, so later mounts stay in this
/// namespace.
///
/// # Errors
/// The mount(2) error.
pub fn make_root_private() -> Result<(), nix::Error> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
}

/// Mount points at or below `dir`, deepest first (read from
/// /proc/self/mountinfo).
pub fn mounts_below(dir: &Path) -> Vec<PathBuf> {
    let Ok(me) = procfs::process::Process::myself() else {
        return Vec::new();
    };
    let Ok(info) = me.mountinfo() else {
        return Vec::new();
    };
    let mut found: Vec<_> = info
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|p| p.starts_with(dir))
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found
}

/// The cgroup hierarchies mounted at or below `dir`, in mount order: a v1
/// hierarchy as its controllers joined by `,` (`cpu`, `cpu,cpuacct`,
/// `name=systemd`), a v2 one as `cgroup2`.
pub fn cgroup_hierarchies_below(dir: &Path) -> Vec<String> {
    /// Superblock options of a v1 hierarchy that name no controller.
    const NOT_CONTROLLERS: &[&str] = &[
        "rw",
        "ro",
        "xattr",
        "release_agent",
        "clone_children",
        "noprefix",
        "cpuset_v2_mode",
        "favordynmods",
    ];
    let Ok(info) = procfs::process::Process::myself().and_then(|me| me.mountinfo()) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for mount in info.into_iter().filter(|m| m.mount_point.starts_with(dir)) {
        match mount.fs_type.as_str() {
            "cgroup2" => found.push("cgroup2".to_owned()),
            "cgroup" => {
                let mut controllers: Vec<String> = mount
                    .super_options
                    .iter()
                    .filter(|(key, _)| !NOT_CONTROLLERS.contains(&key.as_str()))
                    .map(|(key, value)| match value {
                        Some(value) => format!("{key}={value}"),
                        None => key.clone(),
                    })
                    .collect();
                controllers.sort();
                found.push(controllers.join(","));
            }
            _ => {}
        }
    }
    found
}

/// Lazily unmounts (MNT_DETACH) every cgroup and cgroup2 mount, wherever it
/// is (deepest first), returning them. A native cell's private namespace is
/// a copy of the host's: a devices hierarchy mounted anywhere (a chroot's
/// bind of /sys, another tool's scratch mount) would let dockerd's devices
/// check pass, as dockerd reads every line of /proc/self/mountinfo.
pub fn unmount_cgroups() -> Vec<PathBuf> {
    let Ok(info) = procfs::process::Process::myself().and_then(|me| me.mountinfo()) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = info
        .into_iter()
        .filter(|m| m.fs_type == "cgroup" || m.fs_type == "cgroup2")
        .map(|m| m.mount_point)
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for mount in &found {
        if let Err(err) = nix::mount::umount2(mount, nix::mount::MntFlags::MNT_DETACH) {
            eprintln!("dindcheck: umount {}: {err}", mount.display());
        }
    }
    found
}

/// Lazily unmounts (MNT_DETACH) every mount below `dir`, returning them.
pub fn unmount_below(dir: &Path) -> Vec<PathBuf> {
    let found = mounts_below(dir);
    for mount in &found {
        if let Err(err) = nix::mount::umount2(mount, nix::mount::MntFlags::MNT_DETACH) {
            eprintln!("dindcheck: umount {}: {err}", mount.display());
        }
    }
    found
}
