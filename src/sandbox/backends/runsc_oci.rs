//! The `runsc-oci` backend: gVisor as Docker (`--runtime=runsc`), the
//! containerd shim and GKE Sandbox start it, `runsc --root=DIR [flags]
//! --network=none run --bundle BUNDLE ID` on an OCI bundle written per cell.
//!
//! The bundle's `config.json` is built with the `oci-spec` runtime types,
//! from a built-in profile or the user's template (`oci:` in the scenario).
//! Every bundle gets the host's `/` read-only as its root (dockerd, its
//! helpers and the agent come from the host), tmpfs where a container has a
//! writable layer, and dindcheck's own mounts last: the agent binary and
//! its spec (read-only binds) and a tmpfs for the agent's work directory.
//! The bundle's cgroup mount is what dockerd finds at /sys/fs/cgroup: the
//! agent mounts no layout in these cells, it records what runsc mounted.
//!
//! `--network=none` comes after the scenario's flags: runsc's default
//! `sandbox` network refuses to start in the runner's fresh network
//! namespace (`cannot run with network enabled in root network namespace`:
//! runsc's `isRootNS` looks for /proc/sys/net/core/rmem_default, which this
//! kernel has in every namespace).
//!
//! Teardown: `runsc delete --force ID` with the cell's `--root` removes the
//! sandbox's state; the host cgroups runsc creates are named after the
//! container ID, and the runner's sweep removes those a killed sandbox left.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxDeviceCgroup,
    LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxNamespaceBuilder, LinuxNamespaceType,
    LinuxResourcesBuilder, Mount, MountBuilder, ProcessBuilder, RootBuilder, Spec, SpecBuilder,
    UserBuilder,
};

use crate::agent::protocol::HOST_DOCKER_STATE;
use crate::binaries::version_label;
use crate::error_text::error_chain;
use crate::matrix::Cell;
use crate::scenario::{OciBase, OciProfile, read_oci_template};

use crate::sandbox::backend::{Backend, PrepareContext};
use crate::sandbox::layout::CellPaths;

/// `runsc run` on an OCI bundle.
#[derive(Debug)]
pub struct RunscOci;

impl Backend for RunscOci {
    fn name(&self) -> &'static str {
        "runsc-oci"
    }

    fn prepare(
        &self,
        cell: &Cell,
        paths: &CellPaths,
        ctx: PrepareContext<'_>,
    ) -> Result<(), String> {
        let spec = bundle_spec(cell, paths, ctx)?;
        std::fs::create_dir_all(&paths.bundle)
            .map_err(|e| format!("failed to create {}: {e}", paths.bundle.display()))?;
        let config = paths.bundle.join("config.json");
        let json = serde_json::to_vec_pretty(&spec).map_err(|e| e.to_string())?;
        std::fs::write(&config, json)
            .map_err(|e| format!("failed to write {}: {e}", config.display()))
    }

    fn host_argv(&self, cell: &Cell, paths: &CellPaths, _agent_exe: &Path) -> Vec<OsString> {
        let mut argv = runsc_with_root(cell, paths);
        argv.extend(cell.settings.runsc_flags.iter().map(OsString::from));
        argv.push("--network=none".into());
        argv.extend(["run".into(), "--bundle".into(), paths.bundle.clone().into()]);
        argv.push(paths.container_id.clone().into());
        argv
    }

    fn provides_mounts(&self) -> bool {
        true
    }

    fn teardown_argv(&self, cell: &Cell, paths: &CellPaths) -> Option<Vec<OsString>> {
        let mut argv = runsc_with_root(cell, paths);
        argv.extend(["delete".into(), "--force".into()]);
        argv.push(paths.container_id.clone().into());
        Some(argv)
    }

    fn host_cgroup_name(&self, _cell: &Cell, paths: &CellPaths) -> Option<String> {
        Some(paths.container_id.clone())
    }
}

fn runsc_with_root(cell: &Cell, paths: &CellPaths) -> Vec<OsString> {
    vec![
        cell.settings
            .runsc
            .clone()
            .unwrap_or_else(|| "runsc".to_owned())
            .into(),
        format!("--root={}", paths.runsc_root.display()).into(),
    ]
}

/// The cell's `config.json`: the profile or template, then dindcheck's
/// process, root, cgroups path and own mounts.
///
/// # Errors
/// A sentence for the cell's `detail` when the template cannot be read or
/// a spec part cannot be built.
pub fn bundle_spec(
    cell: &Cell,
    paths: &CellPaths,
    ctx: PrepareContext<'_>,
) -> Result<Spec, String> {
    let mut spec = match &cell.settings.oci {
        OciBase::Profile(profile) => profile_spec(*profile, ctx.runsc_version)?,
        OciBase::Template(path) => read_oci_template(path).map_err(|e| error_chain(&e))?,
    };
    if spec.version().is_empty() {
        spec.set_version(OCI_VERSION.to_owned());
    }
    let agent: Vec<String> = paths
        .agent_command(ctx.agent_exe)
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut process = spec.process().clone().unwrap_or_default();
    let mut env = process.env().clone().unwrap_or_default();
    for (key, value) in [("PATH", SYSTEM_PATH), ("HOME", "/root")] {
        if !env.iter().any(|e| e.starts_with(&format!("{key}="))) {
            env.push(format!("{key}={value}"));
        }
    }
    process.set_args(Some(agent));
    process.set_env(Some(env));
    process.set_cwd(PathBuf::from("/"));
    process.set_terminal(Some(false));
    spec.set_process(Some(process));
    // The host's `/`, read-only: dockerd, containerd, runc, busybox and the
    // agent are the host's; nothing in the cell can write to it.
    spec.set_root(Some(build(
        RootBuilder::default().path("/").readonly(true).build(),
    )?));
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    let own = own_mounts(
        &mounts,
        paths,
        ctx.agent_exe,
        Path::new(&cell.settings.dockerd),
        cell.settings.work_size_mb,
    )?;
    mounts.extend(own);
    spec.set_mounts(Some(mounts));
    let mut linux = spec.linux().clone().unwrap_or_default();
    // runsc names the host cgroups after this path; the runner's sweep
    // finds what a killed sandbox left by the container ID alone.
    linux.set_cgroups_path(Some(PathBuf::from(format!("/{}", paths.container_id))));
    spec.set_linux(Some(linux));
    Ok(spec)
}

/// The OCI version written when a template has none.
const OCI_VERSION: &str = "1.0.2";

/// PATH of the agent when the profile or template sets none.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// dindcheck's own mounts, after the profile's or template's, so that the
/// agent needs no capability to mount anything (Docker's default set has no
/// CAP_SYS_ADMIN): the agent binary and its spec read-only at their host
/// paths (a tmpfs at /tmp would hide them), the work directory's tmpfs, and
/// a tmpfs over each of the host's Docker state directories the bundle does
/// not already mount something on (the host's root is read-only here, and
/// dockerd 20.10 writes `/etc/docker/key.json` whatever its flags say), and
/// the dockerd binary read-only at its path when a mount of the bundle
/// (`/tmp`, `/run`) would hide it.
fn own_mounts(
    existing: &[Mount],
    paths: &CellPaths,
    agent_exe: &Path,
    dockerd: &Path,
    work_size_mb: Option<u64>,
) -> Result<Vec<Mount>, String> {
    let bind = |path: &Path| {
        build(
            MountBuilder::default()
                .destination(path)
                .typ("bind")
                .source(path)
                .options(strings(&["rbind", "ro"]))
                .build(),
        )
    };
    let mut own = Vec::new();
    for dir in HOST_DOCKER_STATE.iter().map(Path::new) {
        let covered = existing
            .iter()
            .any(|m| m.destination() != Path::new("/") && dir.starts_with(m.destination()));
        if !covered {
            own.push(tmpfs(dir, &["mode=711"])?);
        }
    }
    own.push(bind(agent_exe)?);
    own.push(bind(&paths.spec_file)?);
    let hidden = |path: &Path| {
        existing
            .iter()
            .any(|m| m.destination() != Path::new("/") && path.starts_with(m.destination()))
    };
    if dockerd.is_absolute() && dockerd.exists() && hidden(dockerd) {
        own.push(bind(dockerd)?);
    }
    let size = work_size_mb.map(|mb| format!("size={mb}m"));
    let mut options = vec!["mode=711"];
    options.extend(size.as_deref());
    own.push(tmpfs(&paths.work_dir, &options)?);
    Ok(own)
}

/// Docker's 14 default capabilities (moby `oci/caps/defaults.go`), which
/// containerd's CRI gives a pod's container too.
const DEFAULT_CAPS: &[Capability] = &[
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// Every capability of Linux 5.9 and later, as `--privileged` gives them on
/// this kernel.
const ALL_CAPS: &[Capability] = &[
    Capability::Chown,
    Capability::DacOverride,
    Capability::DacReadSearch,
    Capability::Fowner,
    Capability::Fsetid,
    Capability::Kill,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setpcap,
    Capability::LinuxImmutable,
    Capability::NetBindService,
    Capability::NetBroadcast,
    Capability::NetAdmin,
    Capability::NetRaw,
    Capability::IpcLock,
    Capability::IpcOwner,
    Capability::SysModule,
    Capability::SysRawio,
    Capability::SysChroot,
    Capability::SysPtrace,
    Capability::SysPacct,
    Capability::SysAdmin,
    Capability::SysBoot,
    Capability::SysNice,
    Capability::SysResource,
    Capability::SysTime,
    Capability::SysTtyConfig,
    Capability::Mknod,
    Capability::Lease,
    Capability::AuditWrite,
    Capability::AuditControl,
    Capability::Setfcap,
    Capability::MacOverride,
    Capability::MacAdmin,
    Capability::Syslog,
    Capability::WakeAlarm,
    Capability::BlockSuspend,
    Capability::AuditRead,
    Capability::Perfmon,
    Capability::Bpf,
    Capability::CheckpointRestore,
];

/// Capabilities runsc 20221219 refuses to start with (`converting
/// capabilities: unknown capability "CAP_PERFMON"`, measured); runsc
/// 20240729 accepts them.
const NEWER_CAPS: &[Capability] = &[
    Capability::Perfmon,
    Capability::Bpf,
    Capability::CheckpointRestore,
];

/// The first release date assumed to know [`NEWER_CAPS`]. Only the two
/// Debian releases were measured (20221219 refuses them, 20240729 accepts
/// them); the cut between them is the start of 2023.
const NEWER_CAPS_SINCE: u32 = 20230101;

/// Whether a runsc (by its `--version` text) accepts [`NEWER_CAPS`]. A
/// version without a release date (a custom build) is assumed recent.
pub fn accepts_newer_caps(runsc_version: Option<&str>) -> bool {
    runsc_version
        .and_then(version_label)
        .filter(|label| label.len() == 8)
        .and_then(|label| label.parse::<u32>().ok())
        .is_none_or(|date| date >= NEWER_CAPS_SINCE)
}

/// Docker's masked /proc and /sys paths for an unprivileged container
/// (moby `oci/defaults.go`; containerd's CRI masks the same).
const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
];

/// Docker's read-only /proc paths for an unprivileged container.
const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// A built-in profile, before dindcheck's process and own mounts.
///
/// # Errors
/// A sentence when an oci-spec builder refuses a part (not expected: the
/// parts are constants).
pub fn profile_spec(profile: OciProfile, runsc_version: Option<&str>) -> Result<Spec, String> {
    let privileged = profile == OciProfile::DockerPrivileged;
    let caps: Vec<Capability> = match profile {
        OciProfile::DockerPrivileged => ALL_CAPS
            .iter()
            .filter(|c| accepts_newer_caps(runsc_version) || !NEWER_CAPS.contains(c))
            .copied()
            .collect(),
        OciProfile::DockerDefault => DEFAULT_CAPS.to_vec(),
        OciProfile::GkeSandbox => {
            let mut caps = DEFAULT_CAPS.to_vec();
            caps.extend([Capability::NetAdmin, Capability::SysAdmin]);
            caps
        }
    };
    let caps: oci_spec::runtime::Capabilities = caps.into_iter().collect();
    let capabilities = build(
        LinuxCapabilitiesBuilder::default()
            .bounding(caps.clone())
            .effective(caps.clone())
            .permitted(caps)
            .build(),
    )?;
    let process = build(
        ProcessBuilder::default()
            .terminal(false)
            .user(build(UserBuilder::default().uid(0u32).gid(0u32).build())?)
            .args(strings(&["/bin/true"]))
            .env(strings(&[&format!("PATH={SYSTEM_PATH}"), "HOME=/root"]))
            .cwd("/")
            .capabilities(capabilities)
            .no_new_privileges(false)
            .build(),
    )?;
    // Docker's default mounts (moby `oci/defaults.go`); `--privileged`
    // makes sysfs and the cgroup mount read-write.
    let ro: &[&str] = if privileged { &[] } else { &["ro"] };
    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        tmpfs(
            Path::new("/dev"),
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &[&["nosuid", "noexec", "nodev"][..], ro].concat(),
        )?,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &[
                &["nosuid", "noexec", "nodev", "relatime"][..],
                if privileged { &["rw"] } else { &["ro"] },
            ]
            .concat(),
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
        build(
            MountBuilder::default()
                .destination("/dev/shm")
                .typ("tmpfs")
                .source("shm")
                .options(strings(&[
                    "nosuid",
                    "noexec",
                    "nodev",
                    "mode=1777",
                    "size=67108864",
                ]))
                .build(),
        )?,
        // Where a container has its writable layer: the root is the host's,
        // read-only.
        tmpfs(Path::new("/tmp"), &["nosuid", "nodev", "mode=1777"])?,
        tmpfs(Path::new("/run"), &["nosuid", "nodev", "mode=755"])?,
    ];
    if profile == OciProfile::GkeSandbox {
        // The pod's emptyDir volume for Docker's state.
        mounts.push(tmpfs(Path::new("/var/lib/docker"), &["mode=711"])?);
    }
    let devices = if privileged {
        vec![device_rule(true, None, None, None)?]
    } else {
        default_device_rules()?
    };
    let namespaces = [
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Network,
    ]
    .into_iter()
    .map(|typ| build(LinuxNamespaceBuilder::default().typ(typ).build()))
    .collect::<Result<Vec<_>, _>>()?;
    let mut linux = LinuxBuilder::default()
        .resources(build(
            LinuxResourcesBuilder::default().devices(devices).build(),
        )?)
        .namespaces(namespaces);
    if !privileged {
        linux = linux
            .masked_paths(strings(MASKED_PATHS))
            .readonly_paths(strings(READONLY_PATHS));
    }
    let mut linux = build(linux.build())?;
    if privileged {
        // The builder fills absent fields from youki's defaults, which
        // mask paths; `--privileged` masks none.
        linux.set_masked_paths(None);
        linux.set_readonly_paths(None);
    }
    build(
        SpecBuilder::default()
            .version(OCI_VERSION)
            .hostname("dindcheck")
            .process(process)
            .root(build(
                RootBuilder::default().path("/").readonly(true).build(),
            )?)
            .mounts(mounts)
            .linux(linux)
            .annotations(std::collections::HashMap::new())
            .build(),
    )
}

/// Docker's (and runc's) device rules for an unprivileged container: deny
/// everything, then allow mknod of any device and the usual character
/// devices (null, zero, full, random, urandom, tty, console, ptmx, pts,
/// tun).
fn default_device_rules() -> Result<Vec<LinuxDeviceCgroup>, String> {
    let c = Some(LinuxDeviceType::C);
    let mut rules = vec![
        device_rule(false, None, None, None)?,
        device_rule(true, c, None, None)?,
        device_rule(true, Some(LinuxDeviceType::B), None, None)?,
    ];
    // mknod only for the two wildcard rules above.
    for rule in &mut rules[1..] {
        rule.set_access(Some("m".to_owned()));
    }
    for (major, minor) in [
        (1, Some(3)),
        (1, Some(8)),
        (1, Some(7)),
        (5, Some(0)),
        (1, Some(5)),
        (1, Some(9)),
        (136, None),
        (5, Some(2)),
        (10, Some(200)),
    ] {
        rules.push(device_rule(true, c, Some(major), minor)?);
    }
    Ok(rules)
}

fn device_rule(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
) -> Result<LinuxDeviceCgroup, String> {
    let mut builder = LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .access("rwm");
    if let Some(typ) = typ {
        builder = builder.typ(typ);
    }
    if let Some(major) = major {
        builder = builder.major(major);
    }
    if let Some(minor) = minor {
        builder = builder.minor(minor);
    }
    build(builder.build())
}

fn mount(destination: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount, String> {
    build(
        MountBuilder::default()
            .destination(destination)
            .typ(typ)
            .source(source)
            .options(strings(options))
            .build(),
    )
}

fn tmpfs(destination: &Path, options: &[&str]) -> Result<Mount, String> {
    build(
        MountBuilder::default()
            .destination(destination)
            .typ("tmpfs")
            .source("tmpfs")
            .options(strings(options))
            .build(),
    )
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// An oci-spec builder's result as the cell's error sentence.
fn build<T>(built: Result<T, oci_spec::OciSpecError>) -> Result<T, String> {
    built.map_err(|e| format!("failed to build the OCI spec: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::first_cell;

    /// A dockerd under a path the bundle hides (its /tmp tmpfs) is bound
    /// at its path; one the host's read-only root shows is not.
    #[test]
    fn a_dockerd_the_bundle_would_hide_is_bound_read_only() {
        let hidden_dir = tempfile::Builder::new().tempdir_in("/tmp").unwrap();
        let dockerd = hidden_dir.path().join("dockerd");
        std::fs::write(&dockerd, "").unwrap();
        let existing = [tmpfs(Path::new("/tmp"), &["mode=1777"]).unwrap()];
        let paths = CellPaths::new(Path::new("/tmp/dindcheck-1-a"), 2).unwrap();
        let agent = Path::new("/bin/dindcheck");
        let binds = |dockerd: &Path| -> Vec<PathBuf> {
            own_mounts(&existing, &paths, agent, dockerd, None)
                .unwrap()
                .iter()
                .filter(|m| m.typ().as_deref() == Some("bind"))
                .map(|m| m.destination().clone())
                .collect()
        };
        assert!(binds(&dockerd).contains(&dockerd));
        assert!(!binds(Path::new("/bin/sh")).contains(&PathBuf::from("/bin/sh")));
        assert!(!binds(Path::new("dockerd")).contains(&PathBuf::from("dockerd")));
    }

    fn strings_of(argv: &[OsString]) -> Vec<String> {
        argv.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn argv_runs_the_bundle_with_network_none_after_the_flags() {
        let mut cell = first_cell("sandbox: runsc-oci\nrunsc:\n  flags: [--debug]\n");
        cell.settings.runsc = Some("/usr/bin/runsc".to_owned());
        let paths = CellPaths::new(Path::new("/tmp/dindcheck-1-a"), 2).unwrap();
        let argv = RunscOci.host_argv(&cell, &paths, Path::new("/bin/dindcheck"));
        assert_eq!(
            strings_of(&argv),
            [
                "/usr/bin/runsc",
                "--root=/tmp/dindcheck-1-a/2/runsc",
                "--debug",
                "--network=none",
                "run",
                "--bundle",
                "/tmp/dindcheck-1-a/2/bundle",
                "dindcheck-1-a-2"
            ]
        );
        let delete = RunscOci.teardown_argv(&cell, &paths).unwrap();
        assert_eq!(
            strings_of(&delete),
            [
                "/usr/bin/runsc",
                "--root=/tmp/dindcheck-1-a/2/runsc",
                "delete",
                "--force",
                "dindcheck-1-a-2"
            ]
        );
        assert_eq!(
            RunscOci.host_cgroup_name(&cell, &paths).as_deref(),
            Some("dindcheck-1-a-2")
        );
    }

    const NEW: &str = "runsc version 0.0~20240729.0\nspec: 1.2.0";
    const OLD: &str = "runsc version 0.0~20221219.0\nspec: 1.0.2-dev";

    /// The bundle of a cell of `scenario`, as JSON.
    fn bundle_json(scenario: &str, runsc_version: &str) -> serde_json::Value {
        let cell = first_cell(scenario);
        let paths = CellPaths::new(Path::new("/tmp/dindcheck-1-a"), 3).unwrap();
        let ctx = PrepareContext {
            agent_exe: Path::new("/opt/dc/dindcheck"),
            runsc_version: Some(runsc_version),
        };
        serde_json::to_value(bundle_spec(&cell, &paths, ctx).unwrap()).unwrap()
    }

    fn set_of(value: &serde_json::Value) -> std::collections::BTreeSet<String> {
        value
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    }

    fn mount_at<'a>(
        spec: &'a serde_json::Value,
        destination: &str,
    ) -> Option<&'a serde_json::Value> {
        spec["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["destination"] == destination)
    }

    /// The profiles give what the hand-written bundles of the manual runs
    /// (fixtures/oci/, each of which reached `API listen on`) gave:
    /// capabilities, mounts with their options, masked and read-only paths,
    /// namespaces and the read-only host root. Only the device rules differ
    /// on purpose: the manual unprivileged bundles denied every device, the
    /// profiles deny all and then allow Docker's default list.
    #[rstest::rstest]
    #[case("docker-privileged", NEW, "docker-privileged")]
    #[case("docker-privileged", OLD, "docker-privileged-runsc20221219")]
    #[case("docker-default", NEW, "docker-default")]
    #[case("gke-sandbox", NEW, "gke-sandbox")]
    fn profiles_match_the_bundles_of_the_manual_runs(
        #[case] profile: &str,
        #[case] runsc_version: &str,
        #[case] manual: &str,
    ) {
        let ours = bundle_json(
            &format!("sandbox: runsc-oci\noci: {{profile: {profile}}}\n"),
            runsc_version,
        );
        let path = format!(
            "{}/fixtures/oci/manual-{manual}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let theirs: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for set in ["bounding", "effective", "permitted"] {
            assert_eq!(
                set_of(&ours["process"]["capabilities"][set]),
                set_of(&theirs["process"]["capabilities"][set]),
                "{profile} {set}"
            );
        }
        for mount in theirs["mounts"].as_array().unwrap() {
            let destination = mount["destination"].as_str().unwrap();
            let mine = mount_at(&ours, destination)
                .unwrap_or_else(|| panic!("{profile}: no mount at {destination}"));
            assert_eq!(mine["type"], mount["type"], "{profile} {destination}");
            // The tmpfs over the host's Docker state is dindcheck's own,
            // with its own mode.
            if !HOST_DOCKER_STATE.contains(&destination) {
                assert_eq!(
                    set_of(&mine["options"]),
                    set_of(&mount["options"]),
                    "{profile} {destination}"
                );
            }
        }
        for key in ["maskedPaths", "readonlyPaths"] {
            assert_eq!(
                set_of(&ours["linux"][key]),
                set_of(&theirs["linux"][key]),
                "{key}"
            );
        }
        let types = |spec: &serde_json::Value| -> std::collections::BTreeSet<String> {
            spec["linux"]["namespaces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["type"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(types(&ours), types(&theirs));
        assert_eq!(ours["root"], theirs["root"]);
        let devices = &ours["linux"]["resources"]["devices"];
        if profile == "docker-privileged" {
            assert_eq!(devices, &theirs["linux"]["resources"]["devices"]);
        } else {
            assert_eq!(
                devices[0],
                serde_json::json!({"allow": false, "access": "rwm"})
            );
            assert!(devices.as_array().unwrap().len() > 1, "{devices}");
        }
    }

    #[test]
    fn dindcheck_puts_in_its_process_paths_and_mounts_last() {
        let spec = bundle_json("sandbox: runsc-oci\nprobe:\n  work_size_mb: 64\n", NEW);
        assert_eq!(
            spec["process"]["args"],
            serde_json::json!([
                "/opt/dc/dindcheck",
                "__agent",
                "/tmp/dindcheck-1-a/3/agent.json"
            ])
        );
        assert_eq!(spec["process"]["cwd"], "/");
        assert_eq!(spec["linux"]["cgroupsPath"], "/dindcheck-1-a-3");
        let mounts = spec["mounts"].as_array().unwrap();
        let last: Vec<&str> = mounts[mounts.len() - 3..]
            .iter()
            .map(|m| m["destination"].as_str().unwrap())
            .collect();
        assert_eq!(
            last,
            [
                "/opt/dc/dindcheck",
                "/tmp/dindcheck-1-a/3/agent.json",
                "/tmp/dindcheck-1-a/3/w"
            ]
        );
        assert_eq!(
            set_of(&mounts[mounts.len() - 1]["options"]),
            set_of(&serde_json::json!(["mode=711", "size=64m"]))
        );
        for dir in HOST_DOCKER_STATE {
            assert!(
                mount_at(&spec, dir).is_some() || dir.starts_with("/run/"),
                "{dir}"
            );
        }
    }

    #[test]
    fn a_template_keeps_its_user_capabilities_and_mounts() {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("config.json");
        std::fs::write(
            &template,
            r#"{"ociVersion": "1.0.0",
                "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/root",
                            "terminal": true, "env": ["TERM=xterm", "A=b"],
                            "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"]}},
                "root": {"path": "rootfs", "readonly": false},
                "mounts": [{"destination": "/var/lib/docker", "type": "tmpfs", "source": "tmpfs"}],
                "linux": {"cgroupsPath": "/theirs", "namespaces": [{"type": "pid"}]}}"#,
        )
        .unwrap();
        let spec = bundle_json(
            &format!(
                "sandbox: runsc-oci\noci: {{template: {}}}\n",
                template.display()
            ),
            NEW,
        );
        assert_eq!(
            spec["process"]["capabilities"]["bounding"],
            serde_json::json!(["CAP_KILL"])
        );
        assert_eq!(spec["process"]["terminal"], false);
        assert_eq!(spec["process"]["cwd"], "/");
        assert_eq!(
            spec["process"]["env"],
            serde_json::json!([
                "TERM=xterm",
                "A=b",
                format!("PATH={SYSTEM_PATH}"),
                "HOME=/root"
            ])
        );
        assert_eq!(
            spec["root"],
            serde_json::json!({"path": "/", "readonly": true})
        );
        assert_eq!(spec["linux"]["cgroupsPath"], "/dindcheck-1-a-3");
        assert_eq!(
            spec["linux"]["namespaces"],
            serde_json::json!([{"type": "pid"}])
        );
        let at_docker: Vec<_> = spec["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["destination"] == "/var/lib/docker")
            .collect();
        assert_eq!(at_docker.len(), 1, "the template's own mount is kept alone");
        assert!(mount_at(&spec, "/etc/docker").is_some());
    }

    #[test]
    fn newer_caps_follow_the_runsc_release_date() {
        assert!(!accepts_newer_caps(Some(
            "runsc version 0.0~20221219.0\nspec: 1.0.2-dev"
        )));
        assert!(accepts_newer_caps(Some(
            "runsc version 0.0~20240729.0\nspec: 1.2.0"
        )));
        assert!(accepts_newer_caps(Some("runsc version VERSION_MISSING")));
        assert!(accepts_newer_caps(None));
    }
}
