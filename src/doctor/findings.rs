//! Turns a /proc snapshot into findings: where the doctor runs, the kernel,
//! the capabilities, the cgroup layout as dockerd will judge it, and the
//! user namespace.
//!
//! Pure functions of their inputs: the live doctor and the fixture tests go
//! through the same code. The cgroup logic follows what dockerd itself
//! runs, so that the finding is dockerd's verdict and not a guess:
//! containerd's `cgroups.Mode()` (statfs of /sys/fs/cgroup), runc's
//! `GetCgroupMounts(false)` (a controller counts when /proc/self/cgroup names
//! it and a `cgroup` mount carries it in its super options), and moby's
//! `userns.RunningInUserNS()` (the first uid_map line is not
//! `0 0 4294967295`).

use std::path::Path;

use super::procread::ProcSnapshot;
use crate::report_format::doctor::{
    CapabilityFinding, CgroupFinding, CgroupMode, CgroupMount, DevicesState, ProbeResult,
    RuntimeFinding, RuntimeKind, UsernsFinding,
};

/// The version string gVisor's sentry reports for every release (its uname
/// is fixed: pkg/sentry/kernel/version.go in google/gvisor).
pub const GVISOR_UNAME_VERSION: &str = "#1 SMP Sun Jan 10 15:06:54 PST 2016";

/// A mount option only gVisor's proc and sys filesystems carry.
const GVISOR_MOUNT_OPTION: &str = "dentry_cache_limit";

/// Files container runtimes leave at the root of a container.
pub const CONTAINER_MARKERS: &[&str] = &["/.dockerenv", "/run/.containerenv"];

/// Capabilities dockerd needs, with their bit numbers (capability.h).
const NEEDED_CAPS: &[(u32, &str)] = &[
    (0, "CAP_CHOWN"),
    (1, "CAP_DAC_OVERRIDE"),
    (3, "CAP_FOWNER"),
    (5, "CAP_KILL"),
    (6, "CAP_SETGID"),
    (7, "CAP_SETUID"),
    (12, "CAP_NET_ADMIN"),
    (13, "CAP_NET_RAW"),
    (18, "CAP_SYS_CHROOT"),
    (21, "CAP_SYS_ADMIN"),
    (27, "CAP_MKNOD"),
];

/// Whether the snapshot comes from inside gVisor.
pub fn is_gvisor(snap: &ProcSnapshot) -> bool {
    snap.version
        .as_deref()
        .is_some_and(|v| v.contains(GVISOR_UNAME_VERSION))
        || snap.mounts.iter().any(|m| {
            m.super_options
                .iter()
                .any(|o| o.starts_with(GVISOR_MOUNT_OPTION))
        })
}

/// Where the doctor runs. `markers` are the [`CONTAINER_MARKERS`] that exist.
pub fn runtime(snap: &ProcSnapshot, markers: &[String]) -> RuntimeFinding {
    if is_gvisor(snap) {
        return RuntimeFinding {
            kind: RuntimeKind::Gvisor,
            detail: format!(
                "gVisor sandbox (its fixed uname `4.4.0 {GVISOR_UNAME_VERSION}`); the runsc \
                 release is not revealed inside the sandbox"
            ),
            runsc_version: None,
        };
    }
    let pid1 = snap.pid1_comm.as_deref().unwrap_or("unknown");
    if let Some(marker) = markers.first() {
        return RuntimeFinding {
            kind: RuntimeKind::Container,
            detail: format!("container on the host kernel ({marker} exists; PID 1 is `{pid1}`)"),
            runsc_version: None,
        };
    }
    let runtime_paths = [
        "docker",
        "kubepods",
        "libpod",
        "containerd",
        "lxc",
        "garden",
    ];
    if let Some(m) = snap
        .memberships
        .iter()
        .find(|m| runtime_paths.iter().any(|r| m.path.contains(r)))
    {
        return RuntimeFinding {
            kind: RuntimeKind::Container,
            detail: format!(
                "container on the host kernel (cgroup {}; PID 1 is `{pid1}`)",
                m.path
            ),
            runsc_version: None,
        };
    }
    RuntimeFinding {
        kind: RuntimeKind::Host,
        detail: format!("host kernel, or namespaces without container markers (PID 1 is `{pid1}`)"),
        runsc_version: None,
    }
}

/// The kernel release from /proc/version (`Linux version 6.1.0 …`).
pub fn kernel(snap: &ProcSnapshot) -> Option<String> {
    let version = snap.version.as_deref()?;
    let rest = version.strip_prefix("Linux version ")?;
    rest.split_whitespace().next().map(str::to_owned)
}

/// The effective capabilities and which of dockerd's needs are missing.
pub fn capabilities(snap: &ProcSnapshot) -> CapabilityFinding {
    match snap.cap_eff {
        Some(bits) => CapabilityFinding {
            effective: Some(format!("{bits:016x}")),
            missing: NEEDED_CAPS
                .iter()
                .filter(|(bit, _)| bits & (1u64 << bit) == 0)
                .map(|(_, name)| (*name).to_owned())
                .collect(),
        },
        None => CapabilityFinding {
            effective: None,
            missing: Vec::new(),
        },
    }
}

/// The user namespace, as moby's `userns.RunningInUserNS()` sees it.
pub fn userns(snap: &ProcSnapshot) -> UsernsFinding {
    let in_userns = snap.uid_map.as_deref().is_some_and(|line| {
        let fields: Vec<u64> = line
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        fields != [0, 0, 4_294_967_295]
    });
    UsernsFinding {
        uid_map: snap
            .uid_map
            .as_deref()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")),
        in_userns,
        ns_inode: snap.user_ns_inode,
    }
}

/// The cgroup layout as dockerd will judge it. `devices_probe` is the
/// result of mounting the devices controller in a private namespace.
pub fn cgroups(snap: &ProcSnapshot, devices_probe: ProbeResult) -> CgroupFinding {
    let root = Path::new("/sys/fs/cgroup");
    let attached = snap.attached_controllers();
    let mut mounts: Vec<CgroupMount> = Vec::new();
    for m in &snap.mounts {
        let controllers: Vec<String> = match m.fs_type.as_str() {
            "cgroup2" => vec!["cgroup2".to_owned()],
            "cgroup" => m
                .super_options
                .iter()
                .filter(|o| attached.contains(o.as_str()) || o.starts_with("name="))
                .cloned()
                .collect(),
            _ => continue,
        };
        mounts.push(CgroupMount {
            mount_point: m.mount_point.clone(),
            controllers,
        });
    }
    let unified = snap.mount_for(root).is_some_and(|m| m.fs_type == "cgroup2");
    let has_v1 = snap.mounts.iter().any(|m| m.fs_type == "cgroup");
    let mode = if unified {
        CgroupMode::V2
    } else if has_v1 {
        match snap.mount_at(&root.join("unified")) {
            Some(m) if m.fs_type == "cgroup2" => CgroupMode::Hybrid,
            _ => CgroupMode::V1,
        }
    } else {
        CgroupMode::None
    };
    // runc's getCgroupMountsHelper: the first `cgroup` mount whose super
    // options name a controller of /proc/self/cgroup serves it.
    let devices_mount = attached
        .contains("devices")
        .then(|| {
            snap.mounts
                .iter()
                .find(|m| m.fs_type == "cgroup" && m.super_options.iter().any(|o| o == "devices"))
        })
        .flatten()
        .map(|m| m.mount_point.clone());
    let listed: Vec<String> = snap
        .controllers
        .iter()
        .filter(|c| c.enabled)
        .map(|c| c.name.clone())
        .collect();
    let devices = if mode == CgroupMode::V2 {
        DevicesState::Unified
    } else if devices_mount.is_some() {
        DevicesState::Mounted
    } else if listed.iter().any(|c| c == "devices")
        || devices_probe.is_ok()
        || devices_probe.errno() == Some("EBUSY")
    {
        DevicesState::Available
    } else if matches!(devices_probe.errno(), Some("EINVAL" | "ENOENT" | "ENODEV")) {
        DevicesState::Absent
    } else {
        DevicesState::Unknown
    };
    CgroupFinding {
        mode,
        listed,
        attached: {
            let mut a: Vec<String> = attached.iter().map(|s| (*s).to_owned()).collect();
            a.sort();
            a
        },
        mounts,
        devices,
        devices_mount,
        devices_probe,
    }
}

/// The filesystem type under `data_root`.
pub fn backing_fs(snap: &ProcSnapshot, data_root: &Path) -> Option<String> {
    snap.mount_for(data_root).map(|m| m.fs_type.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    use crate::doctor::procread::tests::fixture;

    fn einval() -> ProbeResult {
        ProbeResult::Failed {
            step: "mount(cgroup)".to_owned(),
            errno: "EINVAL".to_owned(),
            message: "Invalid argument".to_owned(),
        }
    }

    #[rstest]
    #[case("runsc-20221219", RuntimeKind::Gvisor, Some("4.4.0"))]
    #[case("runsc-20240729", RuntimeKind::Gvisor, Some("4.4.0"))]
    #[case("native", RuntimeKind::Host, Some("6.18.44-fc-v669"))]
    fn runtime_and_kernel(
        #[case] name: &str,
        #[case] kind: RuntimeKind,
        #[case] release: Option<&str>,
    ) {
        let snap = fixture(name);
        assert_eq!(runtime(&snap, &[]).kind, kind);
        assert_eq!(kernel(&snap).as_deref(), release);
    }

    #[test]
    fn a_container_marker_wins_over_host() {
        let snap = fixture("native");
        let r = runtime(&snap, &["/.dockerenv".to_owned()]);
        assert_eq!(r.kind, RuntimeKind::Container);
        assert!(r.detail.contains("/.dockerenv"), "{}", r.detail);
    }

    #[rstest]
    #[case(
        "runsc-20221219",
        ProbeResult::Ok,
        CgroupMode::V1,
        DevicesState::Available
    )]
    #[case("runsc-20221219", einval(), CgroupMode::V1, DevicesState::Absent)]
    #[case("runsc-20221219", ProbeResult::Skipped { reason: "x".into() }, CgroupMode::V1, DevicesState::Unknown)]
    #[case(
        "runsc-20240729",
        ProbeResult::Ok,
        CgroupMode::V1,
        DevicesState::Mounted
    )]
    #[case(
        "runsc-20240729-no-devices",
        ProbeResult::Ok,
        CgroupMode::V1,
        DevicesState::Available
    )]
    #[case(
        "runsc-20240729-unmounted",
        ProbeResult::Ok,
        CgroupMode::None,
        DevicesState::Available
    )]
    #[case("native", einval(), CgroupMode::V1, DevicesState::Mounted)]
    #[case(
        "native-no-devices",
        ProbeResult::Ok,
        CgroupMode::V1,
        DevicesState::Available
    )]
    fn devices_as_dockerd_sees_it(
        #[case] name: &str,
        #[case] probe: ProbeResult,
        #[case] mode: CgroupMode,
        #[case] devices: DevicesState,
    ) {
        let found = cgroups(&fixture(name), probe);
        assert_eq!(found.mode, mode, "{name}");
        assert_eq!(found.devices, devices, "{name}");
        assert_eq!(
            found.devices_mount.is_some(),
            devices == DevicesState::Mounted,
            "{name}"
        );
    }

    #[test]
    fn mounted_hierarchies_name_their_controllers() {
        let found = cgroups(&fixture("runsc-20240729"), ProbeResult::Ok);
        let devices = found
            .mounts
            .iter()
            .find(|m| m.mount_point == Path::new("/sys/fs/cgroup/devices"))
            .unwrap();
        assert_eq!(devices.controllers, ["devices"]);
        assert!(found.listed.contains(&"job".to_owned()));
    }

    #[rstest]
    #[case("runsc-20221219", false, "0 0 4294967295")]
    #[case("runsc-20221219-userns", true, "0 0 1")]
    #[case("native", false, "0 0 4294967295")]
    fn user_namespaces(#[case] name: &str, #[case] inside: bool, #[case] map: &str) {
        let found = userns(&fixture(name));
        assert_eq!(found.in_userns, inside);
        assert_eq!(found.uid_map.as_deref(), Some(map));
    }

    #[rstest]
    #[case("runsc-20221219", &["CAP_NET_RAW"])]
    #[case("runsc-20240729", &["CAP_NET_RAW"])]
    #[case("native", &[])]
    fn missing_capabilities(#[case] name: &str, #[case] missing: &[&str]) {
        assert_eq!(capabilities(&fixture(name)).missing, missing);
    }

    #[test]
    fn data_root_backing_filesystem() {
        assert_eq!(
            backing_fs(&fixture("runsc-20221219"), Path::new("/var/lib/docker")).as_deref(),
            Some("overlay")
        );
        assert_eq!(
            backing_fs(&fixture("native"), Path::new("/var/lib/docker")).as_deref(),
            Some("ext4")
        );
    }
}
