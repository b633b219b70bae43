//! The doctor's report as plain data: the environment it found, one row per
//! check, the recommended flags and the prediction.
//!
//! Nothing here reads the machine or renders anything. The JSON that
//! `dindcheck doctor --format json` prints, and that a cell's report carries
//! under `doctor`, is exactly these types serialised (schema [`SCHEMA`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::report_format::Outcome;

/// The schema identifier of a doctor report.
pub const SCHEMA: &str = "dindcheck/doctor/v1";

/// Everything `dindcheck doctor` found and concluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoctorReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The dockerd command line the prediction is for, as given (it may
    /// start with the binary; empty means dockerd's defaults).
    pub dockerd_args: Vec<String>,
    /// What that command line (and daemon.json) configure.
    pub config: DockerdConfig,
    /// What the doctor found.
    pub environment: Environment,
    /// One row per check, in display order.
    pub checks: Vec<Check>,
    /// dockerd flags that avoid the predicted failures.
    pub recommended_flags: Vec<String>,
    /// Changes to the sandbox no dockerd flag can make.
    pub recommended_actions: Vec<String>,
    /// Every recommended flag, and every command or piece of advice in the
    /// recommended actions, each with whether a shipped scenario's real run
    /// proved it (absent from reports written before it existed, and empty
    /// in a cell's report: the in-cell doctor does not look them up).
    #[serde(default)]
    pub recommendations: Vec<Recommendation>,
    /// What dockerd will do with the given command line.
    pub prediction: Prediction,
    /// What it would do with the recommended flags added.
    pub prediction_with_recommended_flags: Prediction,
    /// How long the doctor took, in milliseconds.
    pub elapsed_ms: u64,
}

/// What kind of change a [`Recommendation`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecommendationKind {
    /// A dockerd flag, as one argument (`--iptables=false`).
    Flag,
    /// A shell command to run in the sandbox before dockerd starts.
    Command,
    /// Advice in words: nothing a cell can apply verbatim.
    Advice,
}

impl RecommendationKind {
    /// The word used in text output.
    pub fn name(self) -> &'static str {
        match self {
            RecommendationKind::Flag => "flag",
            RecommendationKind::Command => "command",
            RecommendationKind::Advice => "advice",
        }
    }
}

/// One thing the doctor recommends, and whether a real run proved it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// A flag, a command or advice.
    pub kind: RecommendationKind,
    /// The flag or command verbatim (what a user would paste), or the
    /// advice's sentence.
    pub text: String,
    /// The checks that recommend it (their `fix` is this or contains it).
    pub checks: Vec<String>,
    /// The failure it is meant to get dockerd past, when the check named one.
    pub signature: Option<String>,
    /// Whether a shipped scenario's cell applied exactly `text` and got past
    /// `signature` where the same configuration without it failed with it.
    pub proven: bool,
    /// The two cells, when proven.
    pub proof: Option<RecommendationProof>,
    /// Where the recommendation comes from: for an unproven one, the check's
    /// reasoning, and why no run proves it.
    pub source: String,
}

/// The cells of a shipped scenario's real run that prove a recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendationProof {
    /// The scenario (`scenarios/<name>.yaml`).
    pub scenario: String,
    /// The committed report of its run (`fixtures/evidence/<name>.json`).
    pub report: String,
    /// The axis and value that applied the recommendation (`axis=value`).
    pub change: String,
    /// The cell that applied it verbatim.
    pub fixed_cell: String,
    /// How far that cell got.
    pub fixed_outcome: Outcome,
    /// The failure that cell stopped at instead, if it did not reach
    /// readiness (one later in dockerd's start-up).
    pub fixed_signature: Option<String>,
    /// The same configuration without it.
    pub failed_cell: String,
    /// The failure that cell stopped at.
    pub failed_signature: String,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Nothing in the way.
    Ok,
    /// Not fatal for dockerd's start, but worth knowing (or not testable).
    Warning,
    /// dockerd (or, for container-level checks, every container) will fail.
    WillFail,
}

impl Verdict {
    /// The word used in tables.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warning => "warning",
            Verdict::WillFail => "will fail",
        }
    }
}

/// One row of the doctor's table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// A short kebab-case name (`devices-cgroup`, `iptables`, …).
    pub name: String,
    /// What was found, in a sentence.
    pub found: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The catalogue signature this predicts (src/signatures.yaml).
    pub signature: Option<String>,
    /// What to change, when the verdict is not ok.
    pub fix: Option<String>,
}

/// What dockerd is predicted to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// `daemon-failed` or `ready`.
    pub outcome: Outcome,
    /// The signature of the failure dockerd stops at.
    pub signature: Option<String>,
    /// Failures queued behind it, in dockerd's start-up order: fixing the
    /// first uncovers the next.
    pub then: Vec<String>,
    /// What every container would fail with once the daemon runs.
    pub container: Option<String>,
    /// The prediction in a sentence.
    pub summary: String,
}

impl Prediction {
    /// Whether dockerd is predicted to start.
    pub fn daemon_starts(&self) -> bool {
        self.outcome.is_daemon_up()
    }

    /// Whether a real cell's verdict agrees with this prediction: the same
    /// failure signature for a daemon that failed; a daemon that came up
    /// when it was predicted to; and, at container depth, the predicted
    /// container failure (or none).
    pub fn agrees_with(&self, outcome: Outcome, signature: Option<&str>) -> bool {
        match outcome {
            Outcome::DaemonFailed => {
                !self.daemon_starts() && self.signature.as_deref() == signature
            }
            Outcome::Ready => self.daemon_starts(),
            Outcome::ContainerFailed => {
                self.daemon_starts() && self.container.as_deref() == signature
            }
            // Past the container the doctor predicts only what it can see
            // before dockerd starts: that dockerd starts and that images
            // unpack and containers run. Pull, network and build failures
            // beyond that are not its prediction to make.
            Outcome::ContainerOk
            | Outcome::PullOk
            | Outcome::PullFailed
            | Outcome::NetworkOk
            | Outcome::NetworkFailed
            | Outcome::BuildOk
            | Outcome::BuildFailed => self.daemon_starts() && self.container.is_none(),
            Outcome::Timeout | Outcome::Error => false,
        }
    }
}

/// The dockerd configuration the prediction is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DockerdConfig {
    /// The dockerd binary, when the command line starts with one.
    pub binary: Option<String>,
    /// `native.cgroupdriver` from `--exec-opt`, if given.
    pub cgroup_driver: Option<String>,
    /// `--cgroup-parent`, if given.
    pub cgroup_parent: Option<String>,
    /// `--iptables` (default true).
    pub iptables: bool,
    /// `--bridge` (`none` disables the default bridge), if given.
    pub bridge: Option<String>,
    /// `--storage-driver`, if given.
    pub storage_driver: Option<String>,
    /// `--data-root` (default /var/lib/docker).
    pub data_root: PathBuf,
    /// `--userns-remap`, if given.
    pub userns_remap: Option<String>,
    /// The daemon.json that was read, if any.
    pub config_file: Option<PathBuf>,
}

/// What a probe in a fresh namespace found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum ProbeResult {
    /// It worked (and whatever it created was removed).
    Ok,
    /// A system call failed.
    Failed {
        /// The failing step.
        step: String,
        /// The errno's name (`EPROTONOSUPPORT`).
        errno: String,
        /// The errno's description.
        message: String,
    },
    /// The probe did not run.
    Skipped {
        /// Why not.
        reason: String,
    },
}

impl ProbeResult {
    /// Whether the probe ran and worked.
    pub fn is_ok(&self) -> bool {
        matches!(self, ProbeResult::Ok)
    }

    /// Whether the probe ran and failed.
    pub fn is_failed(&self) -> bool {
        matches!(self, ProbeResult::Failed { .. })
    }

    /// The errno name of a failure.
    pub fn errno(&self) -> Option<&str> {
        match self {
            ProbeResult::Failed { errno, .. } => Some(errno),
            _ => None,
        }
    }

    /// A short description: `ok`, `socket(…): EPROTONOSUPPORT (…)`, or the
    /// reason it was skipped.
    pub fn describe(&self) -> String {
        match self {
            ProbeResult::Ok => "ok".to_owned(),
            ProbeResult::Failed {
                step,
                errno,
                message,
            } => format!("{step}: {errno} ({message})"),
            ProbeResult::Skipped { reason } => format!("not tested: {reason}"),
        }
    }
}

/// What the doctor found, check by check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// gVisor, another container, or a host kernel.
    pub runtime: RuntimeFinding,
    /// The kernel release the environment reports (`4.4.0` in gVisor).
    pub kernel: Option<String>,
    /// The process's effective capabilities.
    pub capabilities: CapabilityFinding,
    /// The cgroup layout dockerd will see.
    pub cgroups: CgroupFinding,
    /// The user namespace.
    pub userns: UsernsFinding,
    /// systemd, for the systemd cgroup driver.
    pub systemd: SystemdFinding,
    /// iptables backends and the nat table.
    pub iptables: IptablesFinding,
    /// Bridge creation.
    pub bridge: BridgeFinding,
    /// Storage.
    pub storage: StorageFinding,
    /// dockerd, containerd and runc.
    pub binaries: Vec<BinaryFinding>,
    /// Whether the probes could enter fresh namespaces.
    pub namespaces: NamespaceFinding,
}

/// The kind of environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeKind {
    /// A gVisor (runsc) sandbox.
    Gvisor,
    /// A container on a host kernel (Docker, Podman, Kubernetes, LXC, or
    /// private namespaces).
    Container,
    /// A host kernel, as far as the doctor can tell.
    Host,
}

/// Where the doctor runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeFinding {
    /// The kind.
    pub kind: RuntimeKind,
    /// The evidence, in a sentence.
    pub detail: String,
    /// The runsc release, where the sandbox reveals it (gVisor does not
    /// report it inside the sandbox, so this is usually absent).
    pub runsc_version: Option<String>,
}

/// The effective capability set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapabilityFinding {
    /// `CapEff` from /proc/self/status, as hex.
    pub effective: Option<String>,
    /// Capabilities dockerd needs that are missing.
    pub missing: Vec<String>,
}

/// The cgroup mode dockerd will detect (runc's `cgroups.Mode()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CgroupMode {
    /// cgroup v1 hierarchies only.
    V1,
    /// cgroup v1 plus a v2 hierarchy at /sys/fs/cgroup/unified.
    Hybrid,
    /// The unified cgroup v2 hierarchy at /sys/fs/cgroup.
    V2,
    /// No cgroup hierarchy is mounted at all.
    None,
}

/// The devices controller, as dockerd will judge it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DevicesState {
    /// A cgroup v1 hierarchy with `devices` is mounted and the process is
    /// attached to it: dockerd's check passes.
    Mounted,
    /// cgroup v2: the device controller is eBPF, always there.
    Unified,
    /// The kernel offers it, but no hierarchy with it is mounted.
    Available,
    /// The kernel (or gVisor) does not have it: mounting it fails.
    Absent,
    /// Not mounted, and whether the kernel has it could not be tested.
    Unknown,
}

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupMount {
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// Its controllers (`cgroup2` for the v2 hierarchy, `name=…` for named ones).
    pub controllers: Vec<String>,
}

/// The cgroup layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CgroupFinding {
    /// v1, hybrid, v2 or none.
    pub mode: CgroupMode,
    /// Enabled controllers listed in /proc/cgroups (gVisor lists a
    /// controller only once it is mounted, or, in newer releases, offered).
    pub listed: Vec<String>,
    /// Controllers of the hierarchies this process is in (/proc/self/cgroup).
    pub attached: Vec<String>,
    /// Mounted hierarchies.
    pub mounts: Vec<CgroupMount>,
    /// The devices controller.
    pub devices: DevicesState,
    /// Where devices is mounted, when it is.
    pub devices_mount: Option<PathBuf>,
    /// Mounting devices in a private mount namespace.
    pub devices_probe: ProbeResult,
}

/// The user namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsernsFinding {
    /// The first line of /proc/self/uid_map.
    pub uid_map: Option<String>,
    /// Whether this is not the initial user namespace by uid_map (the test
    /// of moby's `userns.RunningInUserNS()` up to dockerd 26).
    pub in_userns: bool,
    /// The inode of /proc/self/ns/user, when it can be read (newer moby/sys
    /// compares it with the initial namespace's, 0xEFFFFFFD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns_inode: Option<u64>,
}

/// systemd.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemdFinding {
    /// PID 1's command name.
    pub pid1: Option<String>,
    /// Whether /run/systemd/system is a directory (runc's test for a
    /// running systemd).
    pub running: bool,
}

/// An iptables backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IptablesBackend {
    /// iptables-nft (xtables-nft-multi): nf_tables over netlink.
    Nft,
    /// iptables-legacy (xtables-legacy-multi, or iptables before 1.8).
    Legacy,
}

/// iptables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IptablesFinding {
    /// `iptables` as dockerd will find it in PATH.
    pub path: Option<PathBuf>,
    /// The symlinks from `path` to the real binary (alternatives).
    pub resolves_to: Vec<PathBuf>,
    /// The backend that `iptables` is.
    pub backend: Option<IptablesBackend>,
    /// The iptables-nft binary, if installed.
    pub nft_binary: Option<PathBuf>,
    /// The iptables-legacy binary, if installed.
    pub legacy_binary: Option<PathBuf>,
    /// /proc/sys/kernel/modprobe. iptables-legacy reads it to load a missing
    /// table's module before retrying; where it is absent (gVisor) the
    /// failed read leaves ENOENT behind, so a raw socket denied with EPERM
    /// is reported as "Table does not exist".
    pub modprobe_helper: Option<String>,
    /// Creating a nat chain over nf_tables in a fresh network namespace.
    pub nft_nat: ProbeResult,
    /// Reading the legacy nat table, and asking for its MASQUERADE target,
    /// in a fresh network namespace.
    pub legacy_nat: ProbeResult,
}

/// Bridge creation, in a fresh network namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BridgeFinding {
    /// Over netlink (RTM_NEWLINK), as dockerd does first.
    pub netlink: ProbeResult,
    /// With the SIOCBRADDBR ioctl, dockerd 20.10's fallback.
    pub ioctl: ProbeResult,
}

/// Storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StorageFinding {
    /// dockerd's data root.
    pub data_root: PathBuf,
    /// The filesystem type under it (from mountinfo).
    pub backing_fs: Option<String>,
    /// Mounting overlay on a tmpfs in a private mount namespace.
    pub overlay: ProbeResult,
    /// Making / a recursive slave mount (MS_REC|MS_SLAVE) in a private
    /// mount namespace, as dockerd does before it unpacks an image.
    #[serde(default = "not_probed")]
    pub root_slave: ProbeResult,
}

fn not_probed() -> ProbeResult {
    ProbeResult::Skipped {
        reason: "not probed".to_owned(),
    }
}

/// A binary dockerd depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinaryFinding {
    /// `dockerd`, `containerd` or `runc`.
    pub name: String,
    /// Where it is.
    pub path: Option<PathBuf>,
    /// The first line of its `--version`.
    pub version: Option<String>,
    /// Why `--version` was not run, when it was left out on purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_queried: Option<String>,
}

/// The probes' own namespaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamespaceFinding {
    /// A fresh network namespace for the iptables and bridge probes.
    pub network: ProbeResult,
    /// A private mount namespace for the overlay and cgroup probes.
    pub mount: ProbeResult,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn prediction(
        outcome: Outcome,
        signature: Option<&str>,
        container: Option<&str>,
    ) -> Prediction {
        Prediction {
            outcome,
            signature: signature.map(str::to_owned),
            then: Vec::new(),
            container: container.map(str::to_owned),
            summary: String::new(),
        }
    }

    #[rstest]
    #[case(
        Outcome::DaemonFailed,
        Some("a"),
        None,
        Outcome::DaemonFailed,
        Some("a"),
        true
    )]
    #[case(
        Outcome::DaemonFailed,
        Some("a"),
        None,
        Outcome::DaemonFailed,
        Some("b"),
        false
    )]
    #[case(Outcome::DaemonFailed, Some("a"), None, Outcome::Ready, None, false)]
    #[case(Outcome::Ready, None, None, Outcome::Ready, None, true)]
    #[case(Outcome::Ready, None, Some("c"), Outcome::Ready, None, true)]
    #[case(
        Outcome::Ready,
        None,
        Some("c"),
        Outcome::ContainerFailed,
        Some("c"),
        true
    )]
    #[case(Outcome::Ready, None, Some("c"), Outcome::ContainerOk, None, false)]
    #[case(Outcome::Ready, None, None, Outcome::ContainerOk, None, true)]
    #[case(Outcome::Ready, None, None, Outcome::DaemonFailed, Some("a"), false)]
    #[case(Outcome::Ready, None, None, Outcome::Timeout, None, false)]
    fn agreement(
        #[case] predicted: Outcome,
        #[case] signature: Option<&str>,
        #[case] container: Option<&str>,
        #[case] real: Outcome,
        #[case] real_signature: Option<&str>,
        #[case] agrees: bool,
    ) {
        let p = prediction(predicted, signature, container);
        assert_eq!(p.agrees_with(real, real_signature), agrees);
    }

    #[test]
    fn probe_results_serialise_with_a_result_tag() {
        let failed = ProbeResult::Failed {
            step: "socket".to_owned(),
            errno: "EPROTONOSUPPORT".to_owned(),
            message: "Protocol not supported".to_owned(),
        };
        let json = serde_json::to_value(&failed).unwrap();
        assert_eq!(json["result"], "failed");
        assert_eq!(
            failed.describe(),
            "socket: EPROTONOSUPPORT (Protocol not supported)"
        );
        let back: ProbeResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, failed);
        assert_eq!(
            serde_json::to_value(ProbeResult::Ok).unwrap()["result"],
            "ok"
        );
    }
}
