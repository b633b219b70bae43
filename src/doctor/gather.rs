//! Collects the live environment: the /proc snapshot, the binaries dockerd
//! will use (and their versions), the iptables alternatives, systemd, and
//! the probe child's results; then hands them to `assess`.
//!
//! Everything here only reads, except the probe child, which does its work
//! in namespaces of its own (see `probe`). Version queries are short-lived
//! `--version` commands run through `Supervised` with a deadline. They are
//! the doctor's costliest step inside gVisor (dockerd's alone takes 0.15-0.2 s
//! there, more than everything else together), so the in-cell doctor runs
//! only the one that can change its prediction ([`VersionQueries`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::assess::{assess, assess_with_flags, dockerd_version_matters};
use super::config::{self, ConfigError};
use super::findings::{self, CONTAINER_MARKERS};
use super::probe::{ProbePlan, ProbeReport, run_child, run_probes};
use super::procread::ProcSnapshot;
use crate::binaries::which;
use crate::process::child::{Output, SpawnSpec, Supervised};
use crate::report_format::doctor::{
    BinaryFinding, BridgeFinding, Check, DevicesState, DoctorReport, Environment, IptablesBackend,
    IptablesFinding, NamespaceFinding, ProbeResult, SCHEMA, StorageFinding, SystemdFinding,
    Verdict,
};
use crate::report_format::millis;

/// How long a `--version` query may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Why [`VersionQueries::Predictive`] left a version out.
const NOT_PREDICTIVE: &str = "it cannot change the prediction here";

/// Why a version given by the caller was not queried.
const GIVEN: &str = "given by the caller";

/// Which `--version` queries the doctor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionQueries {
    /// dockerd's, containerd's and runc's, started before the probes so
    /// that they overlap (`dindcheck doctor`, which reports them all).
    All,
    /// dockerd's, and only when its answer could change the prediction,
    /// decided after the probes (the in-cell doctor, which runs before
    /// every cell's dockerd). The others are reported as not queried.
    Predictive,
}

/// Which process runs the probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeProcess {
    /// A child of this process, which enters the probes' namespaces and
    /// dies with them (`dindcheck doctor`).
    Child,
    /// This process, once it has read everything else: it enters the
    /// probes' fresh namespaces itself and stays in them, so it must be a
    /// throwaway child already (the in-cell doctor's forked copy of the
    /// agent). Saves a second child, which inside gVisor costs more than all
    /// the probes together.
    Current,
}

/// What to examine.
#[derive(Debug, Clone)]
pub struct DoctorOptions {
    /// dockerd's command line (optionally starting with the binary); empty
    /// for dockerd's defaults.
    pub dockerd_argv: Vec<String>,
    /// Run the probes that need fresh namespaces.
    pub probes: bool,
    /// Where /proc is (a captured snapshot in tests).
    pub proc_root: PathBuf,
    /// The deadline for the probe child.
    pub probe_timeout: Duration,
    /// Which process runs the probes.
    pub probe_process: ProbeProcess,
    /// Which `--version` queries to run.
    pub versions: VersionQueries,
    /// dockerd's version line (`Docker version 28.5.2+dfsg4, build …`), when
    /// the caller knows it: the doctor then predicts for that release and
    /// does not run `dockerd --version` (the runner knows every cell's).
    pub dockerd_version: Option<String>,
    /// Say for each recommendation whether a shipped run proves it (reads
    /// the embedded evidence: its reports, scenarios and the catalogue).
    /// The in-cell doctor leaves the recommendations out instead: the cell's
    /// own verdict is the evidence there, and the look-up would cost every
    /// cell its share of parsing them.
    pub prove: bool,
}

impl Default for DoctorOptions {
    fn default() -> DoctorOptions {
        DoctorOptions {
            dockerd_argv: Vec::new(),
            probes: true,
            proc_root: PathBuf::from("/proc"),
            probe_timeout: Duration::from_secs(20),
            probe_process: ProbeProcess::Child,
            versions: VersionQueries::All,
            dockerd_version: None,
            prove: true,
        }
    }
}

/// Examines this environment for the dockerd configuration in `options`.
/// Never fails: whatever cannot be read or tested is reported as such.
pub fn examine(options: &DoctorOptions) -> DoctorReport {
    let started = Instant::now();
    let snap = ProcSnapshot::read(&options.proc_root);
    let (config, config_problem) = match config::resolve(&options.dockerd_argv) {
        Ok(config) => (config, None),
        Err(err) => (config::from_args(&options.dockerd_argv), Some(err)),
    };
    let gvisor = findings::is_gvisor(&snap);
    let dockerd_name = config
        .binary
        .clone()
        .unwrap_or_else(|| "dockerd".to_owned());
    let names = [dockerd_name.as_str(), "containerd", "runc"];
    let given = options.dockerd_version.as_deref();
    let mut queries: Vec<VersionQuery> = match options.versions {
        VersionQueries::All => names
            .iter()
            .enumerate()
            .map(|(i, name)| match given {
                Some(version) if i == 0 => VersionQuery::given(name, version),
                _ => VersionQuery::start(name),
            })
            .collect(),
        VersionQueries::Predictive => Vec::new(),
    };
    let iptables = locate_iptables();
    let before = findings::cgroups(
        &snap,
        ProbeResult::Skipped {
            reason: "not needed".to_owned(),
        },
    );
    let plan = plan(&snap, &config, &iptables, gvisor, before.devices);
    let probes = if !options.probes {
        ProbeReport::skipped(&plan, "probes were turned off (--no-probes)")
    } else if options.probe_process == ProbeProcess::Current {
        run_child(&plan)
    } else {
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
        match run_probes(&exe, &plan, options.probe_timeout) {
            Ok(report) => report,
            Err(err) => ProbeReport::skipped(&plan, &crate::error_text::error_chain(&err)),
        }
    };
    let devices_probe =
        probes
            .cgroup
            .get("devices")
            .cloned()
            .unwrap_or_else(|| ProbeResult::Skipped {
                reason: "not needed: dockerd's check passes already".to_owned(),
            });
    let markers: Vec<String> = CONTAINER_MARKERS
        .iter()
        .filter(|m| Path::new(m).exists())
        .map(|m| (*m).to_owned())
        .collect();
    let deadline = Instant::now() + VERSION_TIMEOUT;
    let binaries: Vec<BinaryFinding> = match options.versions {
        VersionQueries::All => queries.iter_mut().map(|q| q.finish(deadline)).collect(),
        VersionQueries::Predictive => names
            .iter()
            .enumerate()
            .map(|(i, name)| match given {
                Some(version) if i == 0 => VersionQuery::given(name, version).finish(deadline),
                _ => BinaryFinding {
                    name: String::new(),
                    path: which(name),
                    version: None,
                    not_queried: Some(NOT_PREDICTIVE.to_owned()),
                },
            })
            .collect(),
    };
    let binaries = binaries
        .into_iter()
        .zip(["dockerd", "containerd", "runc"])
        .map(|(mut finding, name)| {
            finding.name = name.to_owned();
            finding
        })
        .collect();
    let mut env = Environment {
        runtime: findings::runtime(&snap, &markers),
        kernel: findings::kernel(&snap),
        capabilities: findings::capabilities(&snap),
        cgroups: findings::cgroups(&snap, devices_probe),
        userns: findings::userns(&snap),
        systemd: SystemdFinding {
            pid1: snap.pid1_comm.clone(),
            running: Path::new("/run/systemd/system").is_dir(),
        },
        iptables: IptablesFinding {
            modprobe_helper: snap.modprobe.clone(),
            nft_nat: probes.nft_nat.clone(),
            legacy_nat: probes.legacy_nat.clone(),
            ..iptables
        },
        bridge: BridgeFinding {
            netlink: probes.bridge_netlink.clone(),
            ioctl: probes.bridge_ioctl.clone(),
        },
        storage: StorageFinding {
            data_root: config.data_root.clone(),
            backing_fs: findings::backing_fs(&snap, &config.data_root),
            overlay: probes.overlay.clone(),
            root_slave: probes.root_slave.clone(),
        },
        binaries,
        namespaces: NamespaceFinding {
            network: probes.network_namespace.clone(),
            mount: probes.mount_namespace.clone(),
        },
    };
    if options.versions == VersionQueries::Predictive
        && given.is_none()
        && dockerd_version_matters(&env, &config)
        && let Some(dockerd) = env
            .binaries
            .iter_mut()
            .find(|b| b.name == "dockerd" && b.path.is_some())
    {
        *dockerd = BinaryFinding {
            name: "dockerd".to_owned(),
            ..VersionQuery::start(&dockerd_name).finish(deadline)
        };
    }
    let mut assessment = assess(&env, &config);
    let with_flags = assess_with_flags(&env, &config, &assessment.recommended_flags);
    if let Some(problem) = config_problem {
        let check = daemon_json_check(&problem);
        if let Some(fix) = &check.fix {
            assessment.recommendations.push(super::recommend::unproven(
                crate::report_format::doctor::RecommendationKind::Advice,
                fix,
                &check.name,
                None,
            ));
        }
        assessment.checks.insert(0, check);
    }
    if options.prove {
        super::recommend::prove(&mut assessment.recommendations);
    } else {
        assessment.recommendations.clear();
    }
    DoctorReport {
        schema: SCHEMA.to_owned(),
        dockerd_args: options.dockerd_argv.clone(),
        config,
        environment: env,
        checks: assessment.checks,
        recommended_flags: assessment.recommended_flags,
        recommended_actions: assessment.recommended_actions,
        recommendations: assessment.recommendations,
        prediction: assessment.prediction,
        prediction_with_recommended_flags: with_flags.prediction,
        elapsed_ms: millis(started.elapsed()),
    }
}

fn daemon_json_check(problem: &ConfigError) -> Check {
    Check {
        name: "daemon-json".to_owned(),
        found: format!(
            "{}; its settings are ignored here, but dockerd refuses to start with it",
            crate::error_text::error_chain(problem)
        ),
        verdict: Verdict::Warning,
        signature: None,
        fix: Some("fix or remove the file, or point --config-file at a valid one".to_owned()),
    }
}

/// Decides which probes to run. A probe that would make a host kernel load
/// a module this configuration does not need is left out: the doctor looks
/// and must not change the machine (dockerd would load the modules it needs
/// anyway). gVisor and kernels without module support load nothing.
fn plan(
    snap: &ProcSnapshot,
    config: &crate::report_format::doctor::DockerdConfig,
    iptables: &IptablesFinding,
    gvisor: bool,
    devices: DevicesState,
) -> ProbePlan {
    let no_autoload = |modules: &[&str]| {
        gvisor
            || snap
                .modules
                .as_ref()
                .is_none_or(|loaded| modules.iter().all(|m| loaded.iter().any(|l| l == m)))
    };
    let mut plan = ProbePlan::default();
    let reason = |modules: &[&str]| {
        format!(
            "this configuration does not need it, and probing would load {} on the host",
            modules.join(", ")
        )
    };
    // A probe whose answer no check reads for this configuration is not
    // run at all. With --iptables=false dockerd programs no rules and with
    // --bridge=none it creates no bridge, and no recommended flag turns
    // either back on, so neither prediction depends on those probes.
    let backend = iptables.backend.unwrap_or(IptablesBackend::Legacy);
    let nft_modules = ["nf_tables", "nft_chain_nat"];
    let legacy_modules = ["ip_tables", "iptable_nat", "xt_MASQUERADE"];
    if config.iptables {
        plan.nft = backend == IptablesBackend::Nft || no_autoload(&nft_modules);
        if !plan.nft {
            plan.skipped.insert("nft".to_owned(), reason(&nft_modules));
        }
        plan.legacy = backend == IptablesBackend::Legacy || no_autoload(&legacy_modules);
        if !plan.legacy {
            plan.skipped
                .insert("legacy".to_owned(), reason(&legacy_modules));
        }
    } else {
        for probe in ["nft", "legacy"] {
            plan.skipped.insert(
                probe.to_owned(),
                "not needed: dockerd runs with --iptables=false".to_owned(),
            );
        }
    }
    if config.bridge.as_deref() == Some("none") {
        for probe in ["bridge", "bridge-ioctl"] {
            plan.skipped.insert(
                probe.to_owned(),
                "not needed: dockerd runs with --bridge=none".to_owned(),
            );
        }
    } else {
        plan.bridge = true;
    }
    let overlay_wanted = config
        .storage_driver
        .as_deref()
        .is_none_or(|d| d.starts_with("overlay"));
    plan.overlay = overlay_wanted || no_autoload(&["overlay"]);
    if !plan.overlay {
        plan.skipped
            .insert("overlay".to_owned(), reason(&["overlay"]));
    }
    if !matches!(devices, DevicesState::Mounted | DevicesState::Unified) {
        plan.cgroup_controllers.push("devices".to_owned());
    }
    plan
}

/// `iptables` as dockerd will find it, and the backends installed.
fn locate_iptables() -> IptablesFinding {
    let path = which("iptables");
    let mut resolves_to = Vec::new();
    if let Some(start) = &path {
        let mut current = start.clone();
        // Debian's alternatives chain is two links deep; stop at 16 in case
        // of a loop.
        for _ in 0..16 {
            let Ok(target) = std::fs::read_link(&current) else {
                break;
            };
            let next = match current.parent() {
                Some(dir) if target.is_relative() => dir.join(&target),
                _ => target,
            };
            resolves_to.push(next.clone());
            current = next;
        }
    }
    let real = resolves_to.last().or(path.as_ref());
    let backend = real.map(|p| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // xtables-nft-multi / iptables-nft; anything else (xtables-legacy-multi,
        // iptables-legacy, or iptables before 1.8) is the legacy interface.
        if name.contains("nft") {
            IptablesBackend::Nft
        } else {
            IptablesBackend::Legacy
        }
    });
    let not_run = || ProbeResult::Skipped {
        reason: "not run".to_owned(),
    };
    IptablesFinding {
        path,
        resolves_to,
        backend,
        nft_binary: which("iptables-nft"),
        legacy_binary: which("iptables-legacy"),
        modprobe_helper: None,
        nft_nat: not_run(),
        legacy_nat: not_run(),
    }
}

/// A `--version` query running in the background, or a version given.
struct VersionQuery {
    path: Option<PathBuf>,
    child: Option<Supervised>,
    dir: Option<tempfile::TempDir>,
    given: Option<String>,
}

impl VersionQuery {
    /// A version the caller knows: nothing runs.
    fn given(name: &str, version: &str) -> VersionQuery {
        VersionQuery {
            path: which(name),
            child: None,
            dir: None,
            given: Some(version.to_owned()),
        }
    }

    fn start(name: &str) -> VersionQuery {
        let path = which(name);
        let mut query = VersionQuery {
            path: path.clone(),
            child: None,
            dir: None,
            given: None,
        };
        let (Some(path), Ok(dir)) = (
            path,
            tempfile::Builder::new()
                .prefix("dindcheck-doctor-")
                .tempdir(),
        ) else {
            return query;
        };
        let spec = SpawnSpec {
            argv: vec![OsString::from(path), OsString::from("--version")],
            env: Vec::new(),
            stdout: Output::File(dir.path().join("out")),
            stderr: Output::File(dir.path().join("err")),
            isolate: false,
        };
        query.child = Supervised::spawn(&spec).ok();
        query.dir = Some(dir);
        query
    }

    fn finish(&mut self, deadline: Instant) -> BinaryFinding {
        if let Some(version) = &self.given {
            return BinaryFinding {
                name: String::new(),
                path: self.path.clone(),
                version: Some(version.clone()),
                not_queried: Some(GIVEN.to_owned()),
            };
        }
        let mut version = None;
        if let (Some(child), Some(dir)) = (self.child.as_mut(), self.dir.as_ref()) {
            if child.wait_until(deadline).is_some_and(|s| s.success()) {
                version = std::fs::read_to_string(dir.path().join("out"))
                    .ok()
                    .and_then(|t| t.lines().next().map(|l| l.trim().to_owned()))
                    .filter(|l| !l.is_empty());
            } else {
                child.terminate(Duration::ZERO);
            }
        }
        BinaryFinding {
            name: String::new(),
            path: self.path.clone(),
            version,
            not_queried: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::config::from_args;
    use rstest::rstest;

    fn snap_with_modules(modules: Option<&[&str]>) -> ProcSnapshot {
        ProcSnapshot {
            modules: modules.map(|m| m.iter().map(|s| (*s).to_owned()).collect()),
            ..ProcSnapshot::default()
        }
    }

    fn nft() -> IptablesFinding {
        IptablesFinding {
            path: Some(PathBuf::from("/usr/sbin/iptables")),
            resolves_to: Vec::new(),
            backend: Some(IptablesBackend::Nft),
            nft_binary: None,
            legacy_binary: None,
            modprobe_helper: None,
            nft_nat: ProbeResult::Ok,
            legacy_nat: ProbeResult::Ok,
        }
    }

    #[test]
    fn probes_never_load_modules_a_configuration_does_not_need() {
        let config = from_args(&["--storage-driver=vfs".to_owned()]);
        let snap = snap_with_modules(Some(&["bridge"]));
        let plan = plan(&snap, &config, &nft(), false, DevicesState::Mounted);
        assert!(plan.nft && !plan.legacy && plan.bridge && !plan.overlay);
        assert!(plan.cgroup_controllers.is_empty());
        assert!(
            plan.skipped["legacy"].contains("iptable_nat"),
            "{:?}",
            plan.skipped
        );
        assert!(plan.skipped["overlay"].contains("overlay"));
    }

    #[rstest]
    #[case("--iptables=false", &["nft", "legacy"])]
    #[case("--bridge=none", &["bridge", "bridge-ioctl"])]
    #[case("--iptables=false --bridge=none", &["nft", "legacy", "bridge", "bridge-ioctl"])]
    fn probes_no_check_reads_for_the_configuration_are_not_run(
        #[case] line: &str,
        #[case] left_out: &[&str],
    ) {
        let argv: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        let config = from_args(&argv);
        // Even in gVisor, where a probe can load no module on the host.
        let plan = plan(
            &snap_with_modules(None),
            &config,
            &nft(),
            true,
            DevicesState::Absent,
        );
        let planned = [
            ("nft", plan.nft),
            ("legacy", plan.legacy),
            ("bridge", plan.bridge),
            ("bridge-ioctl", plan.bridge),
        ];
        for (probe, run) in planned {
            assert_eq!(run, !left_out.contains(&probe), "{probe} for {line}");
        }
        for probe in left_out {
            let flag = if probe.starts_with("bridge") {
                "--bridge=none"
            } else {
                "--iptables=false"
            };
            assert!(plan.skipped[*probe].contains(flag), "{:?}", plan.skipped);
        }
        assert!(plan.overlay);
        assert_eq!(plan.cgroup_controllers, ["devices"]);
    }

    #[test]
    fn without_module_support_or_in_gvisor_everything_is_probed() {
        let config = from_args(&[]);
        for (snap, gvisor) in [
            (snap_with_modules(None), false),
            (snap_with_modules(Some(&[])), true),
        ] {
            let plan = plan(&snap, &config, &nft(), gvisor, DevicesState::Absent);
            assert!(plan.nft && plan.legacy && plan.bridge && plan.overlay);
            assert_eq!(plan.cgroup_controllers, ["devices"]);
        }
    }

    #[test]
    fn dockerds_own_backend_is_probed_even_when_it_would_load_modules() {
        let config = from_args(&[]);
        let plan = plan(
            &snap_with_modules(Some(&[])),
            &config,
            &nft(),
            false,
            DevicesState::Mounted,
        );
        assert!(plan.nft);
        assert!(!plan.legacy);
        assert!(plan.bridge);
    }
}
