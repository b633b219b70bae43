//! Judges the findings against a dockerd configuration: one [`Check`] per
//! question, the flags that avoid each failure, and a prediction in
//! dockerd's own start-up order.
//!
//! A pure function of the findings and the configuration, never of how the
//! environment was set up: the doctor must reach its verdict the way a
//! support engineer would, from what it can see. The order of failures is
//! the order of dockerd's checks (see the comment at the top of
//! src/signatures.yaml): `verifyDaemonSettings` (cgroup driver, the systemd
//! `.slice` check), the graph driver (20.10: before the devices check; 26.1:
//! after it), the devices cgroup check, then the network controller
//! (iptables chains, then the default bridge). The systemd driver's
//! availability is runc's check and only fails containers.

use super::config;
use super::engine::Engine;
use super::recommend;
use crate::classify::UNKNOWN;
use crate::report_format::Outcome;
use crate::report_format::doctor::{
    CgroupMode, Check, DevicesState, DockerdConfig, Environment, IptablesBackend, Prediction,
    ProbeResult, Recommendation, RecommendationKind, RuntimeKind, Verdict,
};

/// Where in dockerd's start a failing check stops it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    /// verifyDaemonSettings: cgroup driver value, systemd `.slice` parent.
    Settings,
    /// dockerd 20.10: the layer store before the devices check.
    EarlyGraphdriver,
    /// The devices cgroup check.
    Devices,
    /// dockerd 26.1: the layer store after the devices check.
    LateGraphdriver,
    /// The network controller's iptables chains.
    Iptables,
    /// The default bridge.
    Bridge,
    /// Only images fail to unpack (docker load, pull, build).
    Image,
    /// Only containers fail (runc).
    Container,
}

impl Stage {
    /// Whether a failure here leaves dockerd running.
    fn after_start(self) -> bool {
        matches!(self, Stage::Image | Stage::Container)
    }
}

/// One check with what it means for the prediction.
struct Row {
    check: Check,
    stage: Option<Stage>,
    flags: Vec<String>,
    action: Option<String>,
}

impl Row {
    fn ok(name: &str, found: String) -> Row {
        Row {
            check: Check {
                name: name.to_owned(),
                found,
                verdict: Verdict::Ok,
                signature: None,
                fix: None,
            },
            stage: None,
            flags: Vec::new(),
            action: None,
        }
    }

    fn warning(name: &str, found: String, fix: Option<String>) -> Row {
        let mut row = Row::ok(name, found);
        row.check.verdict = Verdict::Warning;
        row.check.fix = fix;
        row
    }

    fn fails(name: &str, found: String, stage: Stage, signature: &str, fix: String) -> Row {
        let mut row = Row::ok(name, found);
        row.check.verdict = Verdict::WillFail;
        row.check.signature = Some(signature.to_owned());
        row.check.fix = Some(fix);
        row.stage = Some(stage);
        row
    }

    fn flag(mut self, flag: &str) -> Row {
        self.flags.push(flag.to_owned());
        self
    }

    fn action(mut self, action: String) -> Row {
        self.action = Some(action);
        self
    }
}

/// The checks, recommendations and prediction for one configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// One row per check.
    pub checks: Vec<Check>,
    /// dockerd flags that avoid the predicted failures.
    pub recommended_flags: Vec<String>,
    /// Changes to the sandbox no flag can make.
    pub recommended_actions: Vec<String>,
    /// Every flag, and every command or piece of advice in the actions, with
    /// the check that gave it; not yet looked up in the evidence
    /// (`recommend::prove`).
    pub recommendations: Vec<Recommendation>,
    /// What dockerd will do with this configuration.
    pub prediction: Prediction,
}

/// Versions whose start-ups differ (see `engine`): one of each kind, for
/// [`dockerd_version_matters`].
const DISTINCT_ENGINES: [&str; 3] = [
    "Docker version 20.10.24+dfsg1",
    "Docker version 26.1.5+dfsg1",
    "Docker version 28.5.2+dfsg4",
];

/// Judges `env` for a dockerd configured by `config`, with the start-up of
/// the dockerd release found (or given) in `env.binaries`.
pub fn assess(env: &Environment, config: &DockerdConfig) -> Assessment {
    assess_as(env, config, &Engine::from_version(dockerd_version(env)))
}

/// Whether the version of dockerd could change what [`assess`] and
/// [`assess_with_flags`] (with the flags `assess` recommends) predict for
/// `env`: whether a failed netlink bridge is rescued by the ioctl fallback,
/// where in the start-up a graph driver failure stops dockerd, whether
/// dockerd believes it runs in a user namespace (and so skips its devices
/// check), and how it unpacks images. The in-cell doctor asks before it
/// pays for `dockerd --version`, when the version was not given.
pub fn dockerd_version_matters(env: &Environment, config: &DockerdConfig) -> bool {
    let predict = |engine: &Engine| {
        let plain = assess_as(env, config, engine);
        let fixed = assess_as(
            env,
            &config::with_flags(config, &plain.recommended_flags),
            engine,
        );
        (plain.prediction, plain.recommended_flags, fixed.prediction)
    };
    let unknown = predict(&Engine::from_version(None));
    DISTINCT_ENGINES
        .into_iter()
        .any(|version| predict(&Engine::from_version(Some(version))) != unknown)
}

/// [`assess`] for the dockerd release `engine`.
fn assess_as(env: &Environment, config: &DockerdConfig, engine: &Engine) -> Assessment {
    let rows = vec![
        runtime_row(env),
        capabilities_row(env),
        layout_row(env),
        devices_row(env, engine),
        userns_row(env, engine),
        driver_row(env, config),
        systemd_row(env, config),
        iptables_row(env, config),
        bridge_row(env, config, engine),
        storage_row(env, config, engine),
        image_row(env, engine),
        binaries_row(env),
        namespaces_row(env),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<Row>>();
    let mut recommended_flags: Vec<String> = Vec::new();
    let mut recommended_actions: Vec<String> = Vec::new();
    for row in &rows {
        for flag in &row.flags {
            if !recommended_flags.contains(flag) {
                recommended_flags.push(flag.clone());
            }
        }
        if let Some(action) = &row.action
            && !recommended_actions.contains(action)
        {
            recommended_actions.push(action.clone());
        }
    }
    let prediction = predict(&rows);
    let recommendations = recommendations(&rows);
    Assessment {
        checks: rows.into_iter().map(|r| r.check).collect(),
        recommended_flags,
        recommended_actions,
        recommendations,
        prediction,
    }
}

/// Each row's flags, and the commands in its action (or the action itself
/// when it is advice in words), or else its fix as advice; once each, in
/// row order, with every check that gave it.
fn recommendations(rows: &[Row]) -> Vec<Recommendation> {
    let mut out: Vec<Recommendation> = Vec::new();
    for row in rows {
        let mut wanted: Vec<(RecommendationKind, &str)> = row
            .flags
            .iter()
            .map(|f| (RecommendationKind::Flag, f.as_str()))
            .collect();
        if let Some(action) = &row.action {
            let commands = recommend::commands_in(action);
            if commands.is_empty() {
                wanted.push((RecommendationKind::Advice, action.as_str()));
            }
            wanted.extend(
                commands
                    .into_iter()
                    .map(|c| (RecommendationKind::Command, c)),
            );
        }
        if wanted.is_empty()
            && let Some(fix) = &row.check.fix
        {
            wanted.push((RecommendationKind::Advice, fix.as_str()));
        }
        for (kind, text) in wanted {
            match out.iter_mut().find(|r| r.kind == kind && r.text == text) {
                Some(known) => known.checks.push(row.check.name.clone()),
                None => out.push(recommend::unproven(
                    kind,
                    text,
                    &row.check.name,
                    row.check.signature.as_deref(),
                )),
            }
        }
    }
    out
}

fn predict(rows: &[Row]) -> Prediction {
    let mut failing: Vec<(Stage, &str)> = rows
        .iter()
        .filter_map(|r| Some((r.stage?, r.check.signature.as_deref()?)))
        .collect();
    failing.sort_by_key(|(stage, _)| *stage);
    let container = failing
        .iter()
        .find(|(stage, _)| stage.after_start())
        .map(|(_, sig)| (*sig).to_owned());
    let daemon: Vec<String> = failing
        .iter()
        .filter(|(stage, _)| !stage.after_start())
        .map(|(_, sig)| (*sig).to_owned())
        .collect();
    let untested: Vec<&str> = rows
        .iter()
        .filter(|r| r.check.verdict == Verdict::Warning && r.check.found.contains("not tested"))
        .map(|r| r.check.name.as_str())
        .collect();
    let caveat = if untested.is_empty() {
        String::new()
    } else {
        format!(" ({} could not be tested)", untested.join(", "))
    };
    match daemon.split_first() {
        Some((first, rest)) => {
            let then = if rest.is_empty() {
                String::new()
            } else {
                format!("; fixing it uncovers {}", rest.join(", then "))
            };
            Prediction {
                outcome: Outcome::DaemonFailed,
                signature: Some(first.clone()),
                then: rest.to_vec(),
                container: None,
                summary: format!("dockerd will fail to start: {first}{then}{caveat}"),
            }
        }
        None => Prediction {
            outcome: Outcome::Ready,
            signature: None,
            then: Vec::new(),
            summary: match &container {
                Some(sig) => {
                    format!("dockerd will start, but every container will fail: {sig}{caveat}")
                }
                None => format!("dockerd will start{caveat}"),
            },
            container,
        },
    }
}

/// `dockerd --version` of the dockerd found (or the version given), if known.
fn dockerd_version(env: &Environment) -> Option<&str> {
    env.binaries
        .iter()
        .find(|b| b.name == "dockerd")?
        .version
        .as_deref()
}

fn is_gvisor(env: &Environment) -> bool {
    env.runtime.kind == RuntimeKind::Gvisor
}

fn runtime_row(env: &Environment) -> Option<Row> {
    let kernel = env
        .kernel
        .as_deref()
        .map_or_else(String::new, |k| format!("; kernel {k}"));
    Some(Row::ok(
        "runtime",
        format!("{}{kernel}", env.runtime.detail),
    ))
}

fn capabilities_row(env: &Environment) -> Option<Row> {
    let caps = &env.capabilities;
    let effective = caps.effective.as_deref().unwrap_or("unknown");
    if caps.missing.is_empty() {
        return Some(Row::ok(
            "capabilities",
            format!("CapEff {effective}: everything dockerd needs"),
        ));
    }
    let missing = caps.missing.join(", ");
    let fix = if caps.missing.iter().all(|c| c == "CAP_NET_RAW") {
        if is_gvisor(env) {
            "only iptables-legacy needs it: run runsc with --net-raw, or use --iptables=false"
        } else {
            "only iptables-legacy needs it: add NET_RAW to the container, or use --iptables=false"
        }
    } else {
        "run dockerd as root with all capabilities (a privileged container or sandbox)"
    };
    Some(Row::warning(
        "capabilities",
        format!("CapEff {effective} lacks {missing}"),
        Some(fix.to_owned()),
    ))
}

fn layout_row(env: &Environment) -> Option<Row> {
    let cg = &env.cgroups;
    let mode = match cg.mode {
        CgroupMode::V1 => "cgroup v1",
        CgroupMode::Hybrid => "cgroup v1 with a v2 hierarchy (hybrid)",
        CgroupMode::V2 => "cgroup v2 (unified)",
        CgroupMode::None => "no cgroup hierarchy mounted",
    };
    let mounted: Vec<String> = cg
        .mounts
        .iter()
        .filter(|m| !m.controllers.is_empty())
        .map(|m| m.controllers.join(","))
        .collect();
    let listed = if cg.listed.is_empty() {
        "nothing".to_owned()
    } else {
        cg.listed.join(",")
    };
    let found = if mounted.is_empty() {
        format!("{mode}; /proc/cgroups lists: {listed}")
    } else {
        format!(
            "{mode}; mounted: {}; /proc/cgroups lists: {listed}",
            mounted.join(" ")
        )
    };
    if cg.mode == CgroupMode::None {
        return Some(Row::warning(
            "cgroup-layout",
            found,
            Some("mount the controllers at /sys/fs/cgroup before dockerd starts".to_owned()),
        ));
    }
    Some(Row::ok("cgroup-layout", found))
}

fn devices_row(env: &Environment, engine: &Engine) -> Option<Row> {
    let cg = &env.cgroups;
    let name = "devices-cgroup";
    let signature = "devices-cgroup-missing";
    match cg.devices {
        DevicesState::Unified => {
            return Some(Row::ok(
                name,
                "cgroup v2: device access is eBPF, dockerd needs no devices hierarchy".to_owned(),
            ));
        }
        DevicesState::Mounted => {
            let at = cg
                .devices_mount
                .as_ref()
                .map_or_else(String::new, |p| format!(" at {}", p.display()));
            return Some(Row::ok(name, format!("mounted{at}")));
        }
        _ => {}
    }
    let gvisor = is_gvisor(env);
    let (found, fix) = match cg.devices {
        DevicesState::Available => (
            "the kernel offers the devices controller, but no hierarchy with it is mounted"
                .to_owned(),
            devices_mount_command(cg.mode),
        ),
        DevicesState::Absent if gvisor => (
            format!(
                "this gVisor has no devices controller ({})",
                cg.devices_probe.describe()
            ),
            "use a runsc released in 2023 or later (20240729 offers devices) and mount it, or \
             start dockerd in a user namespace, where moby skips the check; no dockerd flag \
             skips it"
                .to_owned(),
        ),
        DevicesState::Absent => (
            format!(
                "the kernel has no devices controller ({})",
                cg.devices_probe.describe()
            ),
            "use cgroup v2 (a kernel with CONFIG_CGROUP_DEVICE, or a unified /sys/fs/cgroup), \
             or start dockerd in a user namespace; no dockerd flag skips the check"
                .to_owned(),
        ),
        _ => (
            format!(
                "no hierarchy with the devices controller is mounted; whether the kernel has \
                 one is unknown ({})",
                cg.devices_probe.describe()
            ),
            "mount the devices controller at /sys/fs/cgroup/devices before dockerd starts"
                .to_owned(),
        ),
    };
    if engine.believes_in_userns(&env.userns) {
        return Some(Row::ok(
            name,
            format!(
                "{found}; {} skips the check, believing it runs in a user namespace",
                engine.name()
            ),
        ));
    }
    Some(Row::fails(name, found, Stage::Devices, signature, fix.clone()).action(fix))
}

/// The commands that mount the devices controller. With nothing mounted
/// at /sys/fs/cgroup it is a directory of sysfs, where mkdir fails
/// (`Operation not permitted` inside runsc 20240729): a tmpfs comes first.
/// tests/doctor.rs runs the result verbatim inside runsc 20240729 and
/// checks that the devices check passes afterwards.
fn devices_mount_command(mode: CgroupMode) -> String {
    let mount = "mkdir -p /sys/fs/cgroup/devices && mount -t cgroup -o devices devices \
                 /sys/fs/cgroup/devices";
    match mode {
        CgroupMode::None => format!(
            "mount it before dockerd starts: `mount -t tmpfs cgroup /sys/fs/cgroup && {mount}`"
        ),
        _ => format!("mount it before dockerd starts: `{mount}`"),
    }
}

fn userns_row(env: &Environment, engine: &Engine) -> Option<Row> {
    let map = env.userns.uid_map.as_deref().unwrap_or("absent");
    let how = engine.describe_userns_test(&env.userns);
    let dockerd = engine.name();
    Some(Row::ok(
        "user-namespace",
        match (engine.believes_in_userns(&env.userns), env.userns.in_userns) {
            (true, true) => {
                format!("in a user namespace (uid_map `{map}`): {dockerd} skips its devices check")
            }
            (true, false) => format!(
                "uid_map `{map}` is the initial namespace's, but {dockerd} believes it runs in a \
                 user namespace ({how}) and skips its devices check"
            ),
            (false, _) => format!("the initial user namespace (uid_map `{map}`; {how})"),
        },
    ))
}

/// The cgroup driver dockerd will use: the explicit one, else systemd on a
/// unified host where systemd runs (moby's `UsingSystemd`), else cgroupfs.
fn effective_driver(env: &Environment, config: &DockerdConfig) -> (String, bool) {
    match &config.cgroup_driver {
        Some(driver) => (driver.clone(), true),
        None if env.cgroups.mode == CgroupMode::V2 && env.systemd.running => {
            ("systemd".to_owned(), false)
        }
        None => ("cgroupfs".to_owned(), false),
    }
}

fn driver_row(env: &Environment, config: &DockerdConfig) -> Option<Row> {
    let (driver, explicit) = effective_driver(env, config);
    let how = if explicit { "explicit" } else { "default" };
    let name = "cgroup-driver";
    if driver != "systemd" && driver != "cgroupfs" {
        return Some(
            Row::fails(
                name,
                format!("native.cgroupdriver={driver} is neither cgroupfs nor systemd"),
                Stage::Settings,
                UNKNOWN,
                "use `--exec-opt native.cgroupdriver=cgroupfs`".to_owned(),
            )
            .flag("--exec-opt=native.cgroupdriver=cgroupfs"),
        );
    }
    let parent = config.cgroup_parent.as_deref();
    if driver == "systemd"
        && let Some(parent) = parent
        && (parent.len() <= 6 || !parent.ends_with(".slice"))
    {
        let found = format!(
            "systemd driver ({how}) with --cgroup-parent={parent}, which is not a `xxx.slice`"
        );
        return Some(if env.systemd.running {
            Row::fails(
                name,
                found,
                Stage::Settings,
                "systemd-cgroup-parent-not-slice",
                "pass a slice, e.g. `--cgroup-parent=docker.slice`".to_owned(),
            )
            .flag("--cgroup-parent=docker.slice")
        } else {
            Row::fails(
                name,
                found,
                Stage::Settings,
                "systemd-cgroup-parent-not-slice",
                "systemd is not running here: use `--exec-opt native.cgroupdriver=cgroupfs` \
                 (then any parent path is valid)"
                    .to_owned(),
            )
            .flag("--exec-opt=native.cgroupdriver=cgroupfs")
        });
    }
    let parent_text = parent.map_or_else(String::new, |p| format!(", --cgroup-parent={p}"));
    Some(Row::ok(name, format!("{driver} ({how}){parent_text}")))
}

fn systemd_row(env: &Environment, config: &DockerdConfig) -> Option<Row> {
    let (driver, _) = effective_driver(env, config);
    let pid1 = env.systemd.pid1.as_deref().unwrap_or("unknown");
    if env.systemd.running {
        return Some(Row::ok(
            "systemd",
            format!("running (/run/systemd/system exists; PID 1 is `{pid1}`)"),
        ));
    }
    let found = format!("not running (no /run/systemd/system; PID 1 is `{pid1}`)");
    if driver == "systemd" {
        return Some(
            Row::fails(
                "systemd",
                format!("{found}: dockerd starts, but runc refuses the systemd driver for every container"),
                Stage::Container,
                "systemd-not-running",
                "use `--exec-opt native.cgroupdriver=cgroupfs`".to_owned(),
            )
            .flag("--exec-opt=native.cgroupdriver=cgroupfs"),
        );
    }
    Some(Row::ok(
        "systemd",
        format!("{found}; not needed with {driver}"),
    ))
}

fn iptables_row(env: &Environment, config: &DockerdConfig) -> Option<Row> {
    let name = "iptables";
    let ipt = &env.iptables;
    if !config.iptables {
        return Some(Row::ok(
            name,
            "off (--iptables=false): dockerd programs no rules".to_owned(),
        ));
    }
    let gvisor = is_gvisor(env);
    let Some(path) = &ipt.path else {
        return Some(
            Row::fails(
                name,
                "no `iptables` in dockerd's PATH".to_owned(),
                Stage::Iptables,
                "iptables-binary-missing",
                "install iptables (under gVisor select iptables-legacy and run runsc with \
                 --net-raw), or start dockerd with --iptables=false"
                    .to_owned(),
            )
            .flag("--iptables=false"),
        );
    };
    let backend = ipt.backend.unwrap_or(IptablesBackend::Legacy);
    let (probe, backend_name) = match backend {
        IptablesBackend::Nft => (&ipt.nft_nat, "iptables-nft"),
        IptablesBackend::Legacy => (&ipt.legacy_nat, "iptables-legacy"),
    };
    let chain = if ipt.resolves_to.is_empty() {
        path.display().to_string()
    } else {
        let mut all = vec![path.display().to_string()];
        all.extend(ipt.resolves_to.iter().map(|p| p.display().to_string()));
        all.join(" -> ")
    };
    let what = match backend {
        IptablesBackend::Nft => "a nat chain over nf_tables",
        IptablesBackend::Legacy => "the legacy nat table",
    };
    match probe {
        ProbeResult::Ok => Some(Row::ok(
            name,
            format!("`iptables` is {backend_name} ({chain}); the kernel accepts {what}"),
        )),
        ProbeResult::Skipped { reason } => Some(Row::warning(
            name,
            format!("`iptables` is {backend_name} ({chain}); {what} was not tested: {reason}"),
            Some("run the doctor as root so it can probe in a fresh network namespace".to_owned()),
        )),
        ProbeResult::Failed { step, errno, .. } => {
            let denied = matches!(errno.as_str(), "EPERM" | "EACCES");
            let signature = match backend {
                IptablesBackend::Nft if step.starts_with("socket") => "iptables-nft-unsupported",
                // iptables-legacy tries to load the table's module after a
                // failure and reports the errno left by that attempt; without
                // /proc/sys/kernel/modprobe (gVisor) that is ENOENT, "Table
                // does not exist", whatever the socket said (iptables
                // libxtables/xtables.c xtables_load_ko, get_modprobe).
                IptablesBackend::Legacy if denied && ipt.modprobe_helper.is_none() => {
                    "iptables-nat-table-missing"
                }
                IptablesBackend::Legacy if denied => "iptables-permission-denied",
                IptablesBackend::Legacy if errno == "ENOENT" && step.contains("GET_INFO") => {
                    "iptables-nat-table-missing"
                }
                _ => "iptables-setup-failed",
            };
            let mut alternatives = Vec::new();
            if backend == IptablesBackend::Nft && ipt.legacy_nat.is_ok() {
                let legacy = ipt.legacy_binary.as_ref().map_or_else(
                    || "/usr/sbin/iptables-legacy".to_owned(),
                    |p| p.display().to_string(),
                );
                alternatives.push(format!(
                    "select the legacy backend, which works here: `update-alternatives --set \
                     iptables {legacy}`"
                ));
            }
            alternatives.push("start dockerd with --iptables=false".to_owned());
            if gvisor && backend == IptablesBackend::Nft && !ipt.legacy_nat.is_ok() {
                // gVisor implements only the legacy socket interface, and
                // only with --net-raw; whether that is enough (dockerd's
                // MASQUERADE rule needs the target too) shows when the
                // doctor runs again under --net-raw.
                alternatives.push(
                    "(iptables-legacy could only work with runsc --net-raw and a gVisor that has \
                     the MASQUERADE target: run the doctor again under --net-raw to see)"
                        .to_owned(),
                );
            }
            let other = match backend {
                IptablesBackend::Nft => {
                    format!("; legacy nat table: {}", ipt.legacy_nat.describe())
                }
                IptablesBackend::Legacy => {
                    format!("; nf_tables nat chain: {}", ipt.nft_nat.describe())
                }
            };
            Some(
                Row::fails(
                    name,
                    format!(
                        "`iptables` is {backend_name} ({chain}); {what} fails: {}{other}",
                        probe.describe()
                    ),
                    Stage::Iptables,
                    signature,
                    alternatives.join(", or ").replace(", or (", " ("),
                )
                .flag("--iptables=false"),
            )
        }
    }
}

fn bridge_row(env: &Environment, config: &DockerdConfig, engine: &Engine) -> Option<Row> {
    let name = "bridge";
    if config.bridge.as_deref() == Some("none") {
        return Some(Row::ok(
            name,
            "off (--bridge=none): dockerd creates no default bridge".to_owned(),
        ));
    }
    let br = &env.bridge;
    // dockerd 20.10 falls back to the SIOCBRADDBR ioctl; 26.1 does not.
    let ioctl_counts = engine.has_bridge_ioctl_fallback();
    match (&br.netlink, &br.ioctl) {
        (ProbeResult::Ok, _) => Some(Row::ok(
            name,
            "a bridge can be created over netlink (tested in a fresh network namespace)".to_owned(),
        )),
        (ProbeResult::Failed { .. }, ProbeResult::Ok) if ioctl_counts => Some(Row::ok(
            name,
            format!(
                "netlink fails ({}), but dockerd 20.10's SIOCBRADDBR fallback works",
                br.netlink.describe()
            ),
        )),
        (ProbeResult::Failed { .. }, ioctl) => Some(
            Row::fails(
                name,
                format!(
                    "a bridge cannot be created: netlink {}; ioctl {}",
                    br.netlink.describe(),
                    ioctl.describe()
                ),
                Stage::Bridge,
                "bridge-create-failed",
                if is_gvisor(env) {
                    "start dockerd with --bridge=none (containers then need --network=host or \
                     none), or use runsc 20240729 or later"
                } else {
                    "start dockerd with --bridge=none, or give the sandbox CAP_NET_ADMIN and the \
                     bridge module"
                }
                .to_owned(),
            )
            .flag("--bridge=none"),
        ),
        // Without CAP_NET_ADMIN (Docker's default set, measured in
        // runsc-oci docker-default cells) the probe cannot run, and dockerd
        // cannot create its bridge either: EPERM over netlink, ENOTTY from
        // 20.10's ioctl fallback under gVisor.
        (ProbeResult::Skipped { .. }, _)
            if env
                .capabilities
                .missing
                .iter()
                .any(|c| c == "CAP_NET_ADMIN") =>
        {
            Some(
                Row::fails(
                    name,
                    format!(
                        "no CAP_NET_ADMIN (CapEff {}): dockerd cannot create its default bridge",
                        env.capabilities.effective.as_deref().unwrap_or("unknown")
                    ),
                    Stage::Bridge,
                    "bridge-create-failed",
                    "start dockerd with --bridge=none, or give the container CAP_NET_ADMIN \
                     (`--cap-add=NET_ADMIN`)"
                        .to_owned(),
                )
                .flag("--bridge=none"),
            )
        }
        (ProbeResult::Skipped { reason }, _) => Some(Row::warning(
            name,
            format!("bridge creation was not tested: {reason}"),
            Some("run the doctor as root so it can probe in a fresh network namespace".to_owned()),
        )),
    }
}

fn storage_row(env: &Environment, config: &DockerdConfig, engine: &Engine) -> Option<Row> {
    let name = "storage";
    let st = &env.storage;
    let backing = st.backing_fs.as_deref().unwrap_or("unknown");
    let root = st.data_root.display();
    let stage = if engine.graphdriver_after_devices() {
        Stage::LateGraphdriver
    } else {
        Stage::EarlyGraphdriver
    };
    // overlay2 cannot stack on overlay; under gVisor its upper layer must be
    // a tmpfs (see graphdriver-not-supported in src/signatures.yaml).
    let backing_ok = match backing {
        "overlay" => false,
        "tmpfs" => true,
        _ => !is_gvisor(env),
    };
    let overlay_works = st.overlay.is_ok() && backing_ok;
    let overlay = match &st.overlay {
        ProbeResult::Ok => "an overlay mount on a tmpfs works".to_owned(),
        other => format!("an overlay mount on a tmpfs: {}", other.describe()),
    };
    let found = format!("data root {root} is on {backing}; {overlay}");
    match config.storage_driver.as_deref() {
        Some(driver @ ("overlay2" | "overlay"))
            if !overlay_works && !matches!(st.overlay, ProbeResult::Skipped { .. }) =>
        {
            Some(
                Row::fails(
                    name,
                    format!("--storage-driver={driver}, but {found}"),
                    stage,
                    "graphdriver-not-supported",
                    format!(
                        "mount a tmpfs on {root} before dockerd starts, or use --storage-driver=vfs"
                    ),
                )
                .flag("--storage-driver=vfs"),
            )
        }
        Some(driver) => Some(Row::ok(name, format!("--storage-driver={driver}; {found}"))),
        None if overlay_works => Some(Row::ok(
            name,
            format!("{found}: dockerd will pick overlay2"),
        )),
        None if matches!(st.overlay, ProbeResult::Skipped { .. }) => Some(Row::warning(
            name,
            format!("{found}; dockerd picks overlay2 if it works, else vfs"),
            None,
        )),
        None => Some(Row::warning(
            name,
            format!(
                "{found}; overlay2 cannot use the data root, so dockerd falls back to vfs (slow, a full copy per layer)"
            ),
            Some(format!(
                "mount a tmpfs (or a non-overlay filesystem) on {root} for overlay2"
            )),
        )),
    }
}

/// Unpacking an image (docker load, pull, build): dockerd remounts / as a
/// recursive slave in a mount namespace of its own first, except 20.10 in
/// what it believes is a user namespace, which uses a plain chroot.
fn image_row(env: &Environment, engine: &Engine) -> Option<Row> {
    let name = "image-unpack";
    if engine.believes_in_userns(&env.userns) && !engine.remounts_root_in_userns() {
        return Some(Row::ok(
            name,
            format!(
                "{} unpacks image layers with a plain chroot in a user namespace",
                engine.name()
            ),
        ));
    }
    let probe = &env.storage.root_slave;
    match probe {
        ProbeResult::Ok => Some(Row::ok(
            name,
            "/ can be made a recursive slave mount, as dockerd does before it unpacks an image \
             layer"
                .to_owned(),
        )),
        ProbeResult::Failed { .. } => Some(Row::fails(
            name,
            format!(
                "{} remounts / (MS_REC|MS_SLAVE) before it unpacks an image layer, and this \
                 sandbox refuses that: {}; dockerd starts, but no image can be loaded, pulled \
                 or built",
                engine.name(),
                probe.describe()
            ),
            Stage::Image,
            "mount-propagation-unsupported",
            if is_gvisor(env) {
                "use runsc 20240729 or later; no dockerd flag avoids the remount".to_owned()
            } else {
                "give the sandbox CAP_SYS_ADMIN over its own mount namespace; no dockerd flag \
                 avoids the remount"
                    .to_owned()
            },
        )),
        ProbeResult::Skipped { reason } => Some(Row::warning(
            name,
            format!("image unpacking (a remount of /) was not probed: {reason}"),
            None,
        )),
    }
}

fn binaries_row(env: &Environment) -> Option<Row> {
    let parts: Vec<String> = env
        .binaries
        .iter()
        .map(|b| match (&b.path, &b.version) {
            (Some(_), Some(v)) => match &b.not_queried {
                Some(why) => format!("{}: {v} ({why})", b.name),
                None => format!("{}: {v}", b.name),
            },
            (Some(p), None) => match &b.not_queried {
                Some(why) => format!("{}: {} (version not queried: {why})", b.name, p.display()),
                None => format!("{}: {} (version unknown)", b.name, p.display()),
            },
            (None, _) => format!("{}: not found", b.name),
        })
        .collect();
    let missing: Vec<&str> = env
        .binaries
        .iter()
        .filter(|b| b.path.is_none())
        .map(|b| b.name.as_str())
        .collect();
    if missing.is_empty() {
        Some(Row::ok("versions", parts.join("; ")))
    } else {
        Some(Row::warning(
            "versions",
            parts.join("; "),
            Some(format!(
                "install {} (Debian: docker.io)",
                missing.join(", ")
            )),
        ))
    }
}

fn namespaces_row(env: &Environment) -> Option<Row> {
    let ns = &env.namespaces;
    if ns.network.is_ok() && ns.mount.is_ok() {
        return None;
    }
    Some(Row::warning(
        "probes",
        format!(
            "fresh network namespace: {}; private mount namespace: {}; untested checks are \
             marked not tested",
            ns.network.describe(),
            ns.mount.describe()
        ),
        Some("run the doctor as root (it needs CAP_SYS_ADMIN to create namespaces)".to_owned()),
    ))
}

/// The prediction for `config` with `flags` added.
pub fn assess_with_flags(
    env: &Environment,
    config: &DockerdConfig,
    flags: &[String],
) -> Assessment {
    assess(env, &config::with_flags(config, flags))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::doctor::findings;
    use crate::doctor::procread::ProcSnapshot;
    use crate::report_format::doctor::*;
    use rstest::rstest;

    fn failed(step: &str, errno: &str) -> ProbeResult {
        ProbeResult::Failed {
            step: step.to_owned(),
            errno: errno.to_owned(),
            message: String::new(),
        }
    }

    /// The environment of a captured snapshot, with probe results as the
    /// real runs found them in that environment.
    fn env_of(name: &str) -> Environment {
        let snap = ProcSnapshot::read(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/proc")
                .join(name),
        );
        let gvisor = findings::is_gvisor(&snap);
        let old_gvisor = name.contains("20221219");
        let devices_probe = if old_gvisor {
            failed("mount(cgroup)", "EINVAL")
        } else {
            ProbeResult::Ok
        };
        Environment {
            runtime: findings::runtime(&snap, &[]),
            kernel: findings::kernel(&snap),
            capabilities: findings::capabilities(&snap),
            cgroups: findings::cgroups(&snap, devices_probe),
            userns: UsernsFinding {
                // Snapshots cannot keep the inode of /proc/self/ns/user; these
                // are what the live files showed (gVisor numbers its
                // namespaces from 1, the host has the initial namespace).
                ns_inode: Some(if gvisor {
                    124
                } else {
                    crate::doctor::engine::PROC_USER_INIT_INO
                }),
                ..findings::userns(&snap)
            },
            systemd: SystemdFinding {
                pid1: snap.pid1_comm.clone(),
                running: false,
            },
            iptables: IptablesFinding {
                path: Some(PathBuf::from("/usr/sbin/iptables")),
                resolves_to: vec![PathBuf::from("/usr/sbin/xtables-nft-multi")],
                backend: Some(IptablesBackend::Nft),
                nft_binary: Some(PathBuf::from("/usr/sbin/iptables-nft")),
                legacy_binary: Some(PathBuf::from("/usr/sbin/iptables-legacy")),
                modprobe_helper: snap.modprobe.clone(),
                nft_nat: if gvisor {
                    failed("socket(AF_NETLINK, NETLINK_NETFILTER)", "EPROTONOSUPPORT")
                } else {
                    ProbeResult::Ok
                },
                legacy_nat: if gvisor {
                    failed("getsockopt(IPT_SO_GET_INFO)", "ENOENT")
                } else {
                    ProbeResult::Ok
                },
            },
            bridge: BridgeFinding {
                netlink: if old_gvisor {
                    failed("RTM_NEWLINK bridge", "EOPNOTSUPP")
                } else {
                    ProbeResult::Ok
                },
                ioctl: if old_gvisor {
                    failed("ioctl(SIOCBRADDBR)", "ENOTTY")
                } else {
                    ProbeResult::Ok
                },
            },
            storage: StorageFinding {
                data_root: PathBuf::from("/tmp/w/data"),
                backing_fs: Some("tmpfs".to_owned()),
                overlay: ProbeResult::Ok,
                root_slave: if old_gvisor {
                    failed("mount(/, MS_REC|MS_SLAVE)", "EINVAL")
                } else {
                    ProbeResult::Ok
                },
            },
            binaries: vec![BinaryFinding {
                name: "dockerd".to_owned(),
                path: Some(PathBuf::from("/usr/sbin/dockerd")),
                version: Some("Docker version 20.10.24+dfsg1, build 297e128".to_owned()),
                not_queried: None,
            }],
            namespaces: NamespaceFinding {
                network: ProbeResult::Ok,
                mount: ProbeResult::Ok,
            },
        }
    }

    fn args(text: &str) -> DockerdConfig {
        let argv: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
        config::from_args(&argv)
    }

    /// Every cell of scenarios/devices-cgroup.yaml (plus the userns and
    /// layout scenarios' interesting ones), with the verdict the real runs
    /// recorded in fixtures/evidence/.
    #[rstest]
    #[case(
        "runsc-20221219",
        "--exec-opt native.cgroupdriver=systemd",
        Some("devices-cgroup-missing")
    )]
    #[case(
        "runsc-20221219",
        "--exec-opt native.cgroupdriver=systemd --cgroup-parent=/",
        Some("systemd-cgroup-parent-not-slice")
    )]
    #[case(
        "runsc-20221219",
        "--exec-opt native.cgroupdriver=cgroupfs --cgroup-parent=/ --iptables=false",
        Some("devices-cgroup-missing")
    )]
    #[case(
        "runsc-20240729",
        "--exec-opt native.cgroupdriver=systemd",
        Some("iptables-nft-unsupported")
    )]
    #[case(
        "runsc-20240729",
        "--exec-opt native.cgroupdriver=systemd --iptables=false",
        None
    )]
    #[case(
        "runsc-20240729",
        "--exec-opt native.cgroupdriver=systemd --cgroup-parent=/ --iptables=false",
        Some("systemd-cgroup-parent-not-slice")
    )]
    #[case(
        "runsc-20240729",
        "--exec-opt native.cgroupdriver=cgroupfs --cgroup-parent=/",
        Some("iptables-nft-unsupported")
    )]
    #[case(
        "runsc-20240729",
        "--exec-opt native.cgroupdriver=cgroupfs --cgroup-parent=/ --iptables=false",
        None
    )]
    #[case(
        "runsc-20240729-no-devices",
        "--exec-opt native.cgroupdriver=cgroupfs --iptables=false",
        Some("devices-cgroup-missing")
    )]
    #[case(
        "runsc-20240729-unmounted",
        "--exec-opt native.cgroupdriver=cgroupfs --iptables=false",
        Some("devices-cgroup-missing")
    )]
    #[case(
        "runsc-20221219-userns",
        "--exec-opt native.cgroupdriver=cgroupfs --iptables=false",
        Some("bridge-create-failed")
    )]
    #[case(
        "runsc-20221219-userns",
        "--exec-opt native.cgroupdriver=cgroupfs --iptables=false --bridge=none",
        None
    )]
    #[case("native", "", None)]
    #[case(
        "native",
        "--exec-opt native.cgroupdriver=systemd --cgroup-parent=/",
        Some("systemd-cgroup-parent-not-slice")
    )]
    #[case(
        "native-no-devices",
        "--iptables=false",
        Some("devices-cgroup-missing")
    )]
    fn predictions_match_the_recorded_runs(
        #[case] env: &str,
        #[case] line: &str,
        #[case] failure: Option<&str>,
    ) {
        let a = assess(&env_of(env), &args(line));
        assert_eq!(
            a.prediction.signature.as_deref(),
            failure,
            "{env} {line}: {:#?}",
            a.checks
        );
        assert_eq!(a.prediction.daemon_starts(), failure.is_none());
    }

    #[test]
    fn fixing_the_first_failure_uncovers_the_next() {
        let a = assess(&env_of("runsc-20221219"), &args(""));
        assert_eq!(
            a.prediction.signature.as_deref(),
            Some("devices-cgroup-missing")
        );
        assert_eq!(
            a.prediction.then,
            ["iptables-nft-unsupported", "bridge-create-failed"]
        );
        assert_eq!(a.recommended_flags, ["--iptables=false", "--bridge=none"]);
        assert_eq!(a.recommended_actions.len(), 1);
        assert!(
            a.recommended_actions[0].contains("2023 or later"),
            "{:?}",
            a.recommended_actions
        );
        let with = assess_with_flags(&env_of("runsc-20221219"), &args(""), &a.recommended_flags);
        assert_eq!(
            with.prediction.signature.as_deref(),
            Some("devices-cgroup-missing")
        );
        assert!(with.prediction.then.is_empty());
    }

    #[test]
    fn the_systemd_driver_without_systemd_fails_only_containers() {
        let env = env_of("runsc-20240729");
        let a = assess(
            &env,
            &args("--exec-opt native.cgroupdriver=systemd --iptables=false"),
        );
        assert!(a.prediction.daemon_starts());
        assert_eq!(
            a.prediction.container.as_deref(),
            Some("systemd-not-running")
        );
        assert!(a.prediction.agrees_with(Outcome::Ready, None));
        assert!(
            a.prediction
                .agrees_with(Outcome::ContainerFailed, Some("systemd-not-running"))
        );
        assert_eq!(
            a.recommended_flags,
            ["--exec-opt=native.cgroupdriver=cgroupfs"]
        );
        let fixed = assess_with_flags(
            &env,
            &args("--exec-opt native.cgroupdriver=systemd"),
            &a.recommended_flags,
        );
        assert_eq!(fixed.prediction.container, None);
    }

    #[test]
    fn legacy_iptables_is_recommended_when_it_works() {
        let mut env = env_of("runsc-20240729");
        env.iptables.legacy_nat = ProbeResult::Ok;
        let a = assess(&env, &args(""));
        let row = a.checks.iter().find(|c| c.name == "iptables").unwrap();
        assert!(
            row.fix.as_deref().unwrap().contains("update-alternatives"),
            "{row:?}"
        );
        env.iptables.backend = Some(IptablesBackend::Legacy);
        assert!(assess(&env, &args("")).prediction.daemon_starts());
    }

    #[rstest]
    #[case(
        "getsockopt(IPT_SO_GET_INFO)",
        "EPERM",
        Some("/sbin/modprobe"),
        "iptables-permission-denied"
    )]
    #[case(
        "getsockopt(IPT_SO_GET_INFO)",
        "ENOENT",
        Some("/sbin/modprobe"),
        "iptables-nat-table-missing"
    )]
    #[case(
        "getsockopt(IPT_SO_GET_INFO)",
        "EINVAL",
        Some("/sbin/modprobe"),
        "iptables-setup-failed"
    )]
    #[case(
        "socket(AF_INET, SOCK_RAW)",
        "EPERM",
        Some("/sbin/modprobe"),
        "iptables-permission-denied"
    )]
    #[case(
        "socket(AF_INET, SOCK_RAW)",
        "EPERM",
        None,
        "iptables-nat-table-missing"
    )]
    #[case(
        "getsockopt(IPT_SO_GET_REVISION_TARGET, MASQUERADE)",
        "ENOENT",
        None,
        "iptables-setup-failed"
    )]
    fn legacy_failures_are_named_as_iptables_reports_them(
        #[case] step: &str,
        #[case] errno: &str,
        #[case] modprobe: Option<&str>,
        #[case] signature: &str,
    ) {
        let mut env = env_of("native");
        env.iptables.backend = Some(IptablesBackend::Legacy);
        env.iptables.legacy_nat = failed(step, errno);
        env.iptables.modprobe_helper = modprobe.map(str::to_owned);
        assert_eq!(
            assess(&env, &args("")).prediction.signature.as_deref(),
            Some(signature)
        );
    }

    #[test]
    fn untested_probes_are_warnings_not_failures() {
        let mut env = env_of("native");
        let skipped = ProbeResult::Skipped {
            reason: "no root".to_owned(),
        };
        env.iptables.nft_nat = skipped.clone();
        env.bridge.netlink = skipped.clone();
        env.namespaces.network = skipped;
        let a = assess(&env, &args(""));
        assert!(a.prediction.daemon_starts());
        assert!(
            a.prediction.summary.contains("could not be tested"),
            "{}",
            a.prediction.summary
        );
        assert!(
            a.checks
                .iter()
                .any(|c| c.name == "probes" && c.verdict == Verdict::Warning)
        );
    }

    #[rstest]
    #[case::without_net_admin(true, Some("bridge-create-failed"))]
    #[case::with_net_admin(false, None)]
    fn an_untested_bridge_fails_only_without_cap_net_admin(
        #[case] no_net_admin: bool,
        #[case] signature: Option<&str>,
    ) {
        let mut env = env_of("runsc-20240729");
        env.bridge.netlink = ProbeResult::Skipped {
            reason: "no CAP_SYS_ADMIN for a network namespace".to_owned(),
        };
        if no_net_admin {
            env.capabilities.missing = vec!["CAP_NET_ADMIN".to_owned()];
        }
        let a = assess(&env, &args("--iptables=false"));
        assert_eq!(a.prediction.signature.as_deref(), signature);
        let a = assess(&env, &args("--iptables=false --bridge=none"));
        assert_eq!(a.prediction.signature, None);
    }

    #[rstest]
    #[case(Some("26.1.5"), Some("devices-cgroup-missing"))]
    #[case(Some("20.10.24"), Some("graphdriver-not-supported"))]
    fn the_graphdriver_check_moved_after_the_devices_check_in_26(
        #[case] version: Option<&str>,
        #[case] first: Option<&str>,
    ) {
        let mut env = env_of("native-no-devices");
        env.storage.overlay = failed("mount(overlay)", "ENODEV");
        env.binaries[0].version = version.map(|v| format!("Docker version {v}+dfsg1, build x"));
        let a = assess(&env, &args("--storage-driver=overlay2 --iptables=false"));
        assert_eq!(a.prediction.signature.as_deref(), first);
    }

    #[rstest]
    #[case::the_netlink_bridge_works("native", "", false, false, false)]
    // sid's 28.5 believes it runs in a user namespace in gVisor and skips
    // the devices check that stops 20.10 and 26.1 there.
    #[case::no_devices_in_gvisor("runsc-20221219", "", false, false, true)]
    #[case::no_bridge_can_be_made("runsc-20240729", "--iptables=false", false, false, false)]
    #[case::only_the_ioctl_fallback_works("native", "", true, false, true)]
    #[case::no_bridge_is_wanted("native", "--bridge=none", true, false, false)]
    #[case::the_graphdriver_failure_order(
        "native-no-devices",
        "--storage-driver=overlay2 --iptables=false",
        false,
        true,
        true
    )]
    fn dockerds_version_is_needed_only_where_it_decides(
        #[case] name: &str,
        #[case] line: &str,
        #[case] only_ioctl_bridges: bool,
        #[case] overlay_fails: bool,
        #[case] matters: bool,
    ) {
        let mut env = env_of(name);
        env.binaries[0].version = None;
        if only_ioctl_bridges {
            env.bridge.netlink = failed("RTM_NEWLINK bridge", "EOPNOTSUPP");
            env.bridge.ioctl = ProbeResult::Ok;
        }
        if overlay_fails {
            env.storage.overlay = failed("mount(overlay)", "ENODEV");
        }
        assert_eq!(dockerd_version_matters(&env, &args(line)), matters);
    }

    const SID: &str = "Docker version 28.5.2+dfsg4, build 3ef3c07c883be49a2e8097bcf6d2952fce1d70eb";
    const TRIXIE: &str = "Docker version 26.1.5+dfsg1, build 411e817";

    /// scenarios/dockerd-versions.yaml on runsc 20221219, as the real cells
    /// ended: 26.1 stops at the devices check, sid's 28.5 skips it and stops
    /// at the next check, or starts and cannot unpack an image.
    #[rstest]
    #[case(TRIXIE, "--iptables=false", Some("devices-cgroup-missing"), None)]
    #[case(SID, "", Some("iptables-nft-unsupported"), None)]
    #[case(SID, "--iptables=false", Some("bridge-create-failed"), None)]
    #[case(
        SID,
        "--iptables=false --bridge=none",
        None,
        Some("mount-propagation-unsupported")
    )]
    fn each_engine_meets_the_old_gvisor_in_its_own_order(
        #[case] version: &str,
        #[case] line: &str,
        #[case] daemon: Option<&str>,
        #[case] container: Option<&str>,
    ) {
        let mut env = env_of("runsc-20221219");
        env.binaries[0].version = Some(version.to_owned());
        let a = assess(
            &env,
            &args(&format!("--exec-opt native.cgroupdriver=cgroupfs {line}")),
        );
        assert_eq!(a.prediction.signature.as_deref(), daemon, "{a:?}");
        assert_eq!(a.prediction.container.as_deref(), container, "{a:?}");
        let userns = a
            .checks
            .iter()
            .find(|c| c.name == "user-namespace")
            .unwrap();
        assert_eq!(
            userns
                .found
                .contains("believes it runs in a user namespace"),
            version == SID,
            "{}",
            userns.found
        );
    }

    #[test]
    fn on_the_host_sids_dockerd_still_meets_the_devices_check() {
        let mut env = env_of("native-no-devices");
        env.binaries[0].version = Some(SID.to_owned());
        let a = assess(&env, &args("--iptables=false"));
        assert_eq!(
            a.prediction.signature.as_deref(),
            Some("devices-cgroup-missing")
        );
    }

    /// In a runsc 20240729 sandbox with nothing mounted at /sys/fs/cgroup,
    /// every command and flag the doctor recommends is proven by the
    /// embedded run of scenarios/doctor-fixes.yaml (a cell applied exactly
    /// its text and got past the failure the check predicts), and advice in
    /// words is not; the mount without the tmpfs, which no run applied, is
    /// unproven where the doctor recommends it (something already mounted).
    #[test]
    fn the_bare_sandboxs_commands_and_flags_are_proven_by_a_shipped_run() {
        let env = env_of("runsc-20240729-unmounted");
        assert_eq!(env.cgroups.mode, CgroupMode::None);
        let mut a = assess(&env, &args(""));
        assert_eq!(
            a.prediction.signature.as_deref(),
            Some("devices-cgroup-missing")
        );
        recommend::prove(&mut a.recommendations);
        let (advice, applied): (Vec<_>, Vec<_>) = a
            .recommendations
            .iter()
            .partition(|r| r.kind == RecommendationKind::Advice);
        assert!(
            applied.iter().any(|r| r.kind == RecommendationKind::Command
                && r.text
                    .starts_with("mount -t tmpfs cgroup /sys/fs/cgroup && ")),
            "{applied:?}"
        );
        assert!(
            applied
                .iter()
                .any(|r| r.kind == RecommendationKind::Flag && r.text == "--iptables=false"),
            "{applied:?}"
        );
        for rec in &applied {
            let proof = rec.proof.as_ref().unwrap_or_else(|| panic!("{rec:?}"));
            assert!(rec.proven);
            assert_eq!(proof.scenario, "doctor-fixes");
            assert_eq!(Some(&proof.failed_signature), rec.signature.as_ref());
            assert_eq!(proof.fixed_outcome, Outcome::Ready, "{proof:?}");
            assert!(rec.source.contains("fixtures/evidence/doctor-fixes.json"));
        }
        assert!(!advice.is_empty());
        assert!(advice.iter().all(|r| !r.proven && r.proof.is_none()));

        let mut mounted = env.clone();
        mounted.cgroups.mode = CgroupMode::V1;
        let mut b = assess(&mounted, &args("--iptables=false"));
        recommend::prove(&mut b.recommendations);
        let command = b
            .recommendations
            .iter()
            .find(|r| r.kind == RecommendationKind::Command)
            .expect("the devices command");
        assert!(command.text.starts_with("mkdir -p /sys/fs/cgroup/devices"));
        assert!(!command.proven, "{command:?}");
        assert!(
            command.source.contains("no shipped scenario"),
            "{}",
            command.source
        );
    }

    #[test]
    fn every_predicted_signature_is_in_the_catalogue() {
        let set = crate::classify::SignatureSet::builtin();
        for name in [
            "runsc-20221219",
            "runsc-20240729",
            "native-no-devices",
            "runsc-20221219-userns",
        ] {
            for line in [
                "",
                "--exec-opt native.cgroupdriver=systemd --cgroup-parent=/",
            ] {
                let a = assess(&env_of(name), &args(line));
                for check in &a.checks {
                    if let Some(sig) = &check.signature {
                        assert!(
                            set.get(sig).is_some(),
                            "{sig} is not in src/signatures.yaml"
                        );
                    }
                }
            }
        }
    }
}
