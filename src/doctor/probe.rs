//! The doctor's active probes, run in a child process that first enters a
//! fresh network namespace and a private mount namespace of its own.
//!
//! The parent (`run_probes`) forks a copy of itself that runs the whole plan
//! and sends back one JSON [`ProbeReport`] over a pipe; a multi-threaded
//! caller, which must not fork without exec, starts `dindcheck
//! __doctor-probe PLAN` through `Supervised` instead, with its output in a
//! file. Either way the parent waits with a deadline. The in-cell doctor,
//! already a forked copy of the agent, calls `run_child` itself. All probes
//! run in that one process, one after the other: each takes a millisecond
//! or two, less than a second child would cost to start inside gVisor.
//!
//! The child (`run_child`) never probes in the caller's namespaces: when it
//! cannot get a fresh network namespace the iptables and bridge probes are
//! skipped, and when its mounts could propagate elsewhere the mount probes
//! are skipped. Mounts go on a tmpfs
//! laid over the temporary directory in the child's own mount namespace, so
//! no file is ever created outside it, and are undone again; the nat table
//! and the bridges stay in the child's network namespace, which dies with it
//! (see `envprobe` for why they are not deleted one by one).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::procread;
use crate::process::child::{Output, SpawnSpec, Supervised, describe_status};
use crate::process::envprobe::{self, ForkError, SysError};
use crate::report_format::doctor::ProbeResult;

/// The nf_tables table the probe creates in its namespace.
const PROBE_TABLE: &str = "dindcheck_probe";
/// The bridge the netlink probe creates in its namespace.
const PROBE_BRIDGE: &str = "dcprobe0";
/// The bridge the ioctl probe creates in its namespace (the netlink one is
/// still there: the namespace, not the probe, removes them).
const PROBE_BRIDGE_IOCTL: &str = "dcprobe1";

/// Which probes to run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbePlan {
    /// Create a nat chain over nf_tables.
    pub nft: bool,
    /// Read the legacy nat table.
    pub legacy: bool,
    /// Create a bridge (netlink, then the ioctl).
    pub bridge: bool,
    /// Mount overlay.
    pub overlay: bool,
    /// cgroup v1 controllers to try mounting.
    pub cgroup_controllers: Vec<String>,
    /// Reasons for probes left out of the plan, by probe name.
    pub skipped: BTreeMap<String, String>,
}

/// What the probes found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// Entering a fresh network namespace.
    pub network_namespace: ProbeResult,
    /// Entering a private mount namespace.
    pub mount_namespace: ProbeResult,
    /// nf_tables nat chain.
    pub nft_nat: ProbeResult,
    /// Legacy nat table.
    pub legacy_nat: ProbeResult,
    /// Bridge over netlink.
    pub bridge_netlink: ProbeResult,
    /// Bridge over SIOCBRADDBR.
    pub bridge_ioctl: ProbeResult,
    /// Overlay mount.
    pub overlay: ProbeResult,
    /// `/` made a recursive slave mount in the private mount namespace.
    #[serde(default = "not_run")]
    pub root_slave: ProbeResult,
    /// cgroup v1 controller mounts, by controller.
    pub cgroup: BTreeMap<String, ProbeResult>,
}

impl ProbeReport {
    /// A report in which every probe was skipped for `reason`.
    pub fn skipped(plan: &ProbePlan, reason: &str) -> ProbeReport {
        let skip = || ProbeResult::Skipped {
            reason: reason.to_owned(),
        };
        let mut report = ProbeReport {
            network_namespace: skip(),
            mount_namespace: skip(),
            nft_nat: skip(),
            legacy_nat: skip(),
            bridge_netlink: skip(),
            bridge_ioctl: skip(),
            overlay: skip(),
            root_slave: skip(),
            cgroup: plan
                .cgroup_controllers
                .iter()
                .map(|c| (c.clone(), skip()))
                .collect(),
        };
        report.apply_plan_skips(plan);
        report
    }

    /// Replaces the results of probes the plan left out with its reasons.
    fn apply_plan_skips(&mut self, plan: &ProbePlan) {
        let reason = |name: &str| {
            plan.skipped
                .get(name)
                .map(|r| ProbeResult::Skipped { reason: r.clone() })
        };
        let pairs: [(&str, bool, &mut ProbeResult); 5] = [
            ("nft", plan.nft, &mut self.nft_nat),
            ("legacy", plan.legacy, &mut self.legacy_nat),
            ("bridge", plan.bridge, &mut self.bridge_netlink),
            ("bridge-ioctl", plan.bridge, &mut self.bridge_ioctl),
            ("overlay", plan.overlay, &mut self.overlay),
        ];
        for (name, planned, slot) in pairs {
            if !planned {
                *slot = reason(name).unwrap_or_else(|| ProbeResult::Skipped {
                    reason: "not needed for this configuration".to_owned(),
                });
            }
        }
    }
}

/// Why the probe child could not report.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Its scratch files could not be created.
    #[error("failed to create a scratch directory for the probes")]
    Scratch(#[source] std::io::Error),
    /// It could not be started.
    #[error("failed to start the probe child")]
    Spawn(#[source] crate::process::child::SpawnError),
    /// The forked child failed.
    #[error("the probe child failed")]
    Fork(#[source] ForkError),
    /// It did not finish in time.
    #[error("the probe child did not finish within {0:?}")]
    Timeout(Duration),
    /// The forked child sent something that is not a report.
    #[error("the probe child sent no report: {answer}")]
    BadAnswer {
        /// What it sent.
        answer: String,
    },
    /// It printed no report.
    #[error("the probe child exited with {status} without a report: {stderr}")]
    NoReport {
        /// How it exited.
        status: String,
        /// What it wrote to stderr.
        stderr: String,
    },
}

/// Runs `plan` in a child process and returns its report, waiting at most
/// `timeout`: a forked copy of this process when it is single-threaded,
/// else `exe __doctor-probe PLAN`.
///
/// # Errors
/// [`ProbeError`] when the child cannot be started, hangs, or reports
/// nothing; the child itself turns every failed probe into data.
pub fn run_probes(
    exe: &Path,
    plan: &ProbePlan,
    timeout: Duration,
) -> Result<ProbeReport, ProbeError> {
    let forked = envprobe::fork_with(&[], || {
        serde_json::to_vec(&run_child(plan)).map_err(|err| err.to_string())
    });
    match forked {
        Ok(child) => {
            let answer = child.finish(timeout).map_err(|err| match err {
                ForkError::Timeout(t) => ProbeError::Timeout(t),
                other => ProbeError::Fork(other),
            })?;
            serde_json::from_slice(&answer).map_err(|_| ProbeError::BadAnswer {
                answer: String::from_utf8_lossy(&answer).trim().to_owned(),
            })
        }
        Err(ForkError::Threaded { .. } | ForkError::ThreadCount(_)) => {
            exec_probes(exe, plan, timeout)
        }
        Err(other) => Err(ProbeError::Fork(other)),
    }
}

/// `exe __doctor-probe PLAN`, for a caller that must not fork without exec.
fn exec_probes(exe: &Path, plan: &ProbePlan, timeout: Duration) -> Result<ProbeReport, ProbeError> {
    let dir = tempfile::Builder::new()
        .prefix("dindcheck-doctor-")
        .tempdir()
        .map_err(ProbeError::Scratch)?;
    let plan_json = serde_json::to_string(plan).unwrap_or_default();
    let out = dir.path().join("probe.json");
    let err = dir.path().join("probe.err");
    let spec = SpawnSpec {
        argv: vec![exe.into(), "__doctor-probe".into(), plan_json.into()],
        env: Vec::new(),
        stdout: Output::File(out.clone()),
        stderr: Output::File(err.clone()),
        isolate: false,
    };
    let mut child = Supervised::spawn(&spec).map_err(ProbeError::Spawn)?;
    let Some(status) = child.wait_until(Instant::now() + timeout) else {
        child.terminate(Duration::ZERO);
        return Err(ProbeError::Timeout(timeout));
    };
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    serde_json::from_str(text.trim()).map_err(|_| ProbeError::NoReport {
        status: describe_status(status),
        stderr: std::fs::read_to_string(&err)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    })
}

fn result(r: Result<(), SysError>) -> ProbeResult {
    match r {
        Ok(()) => ProbeResult::Ok,
        Err(err) => ProbeResult::Failed {
            step: err.step.to_owned(),
            errno: err.errno_name(),
            message: err.description().to_owned(),
        },
    }
}

/// The probe child's work (a forked copy, `dindcheck __doctor-probe PLAN`,
/// or the in-cell doctor's own process): enters fresh namespaces, runs the
/// plan, and returns the report. Call it only in a dedicated child process:
/// it leaves the process in the new namespaces.
pub fn run_child(plan: &ProbePlan) -> ProbeReport {
    let mut report = ProbeReport::skipped(plan, "not run");
    report.network_namespace = result(envprobe::unshare_network());
    if report.network_namespace.is_ok() {
        if plan.nft {
            report.nft_nat = result(envprobe::nft_nat_chain(PROBE_TABLE));
        }
        if plan.legacy {
            // dockerd's first nat rule is a MASQUERADE for docker0, so the
            // table alone is not enough: gVisor has the nat table (with
            // --net-raw) but not that target.
            report.legacy_nat = result(
                envprobe::legacy_table_info("nat")
                    .and_then(|()| envprobe::legacy_masquerade_target()),
            );
        }
        if plan.bridge {
            report.bridge_netlink = result(envprobe::netlink_bridge(PROBE_BRIDGE));
            report.bridge_ioctl = result(envprobe::ioctl_bridge(PROBE_BRIDGE_IOCTL));
        }
    } else {
        let reason = format!(
            "no fresh network namespace ({}); never probed in the caller's",
            report.network_namespace.describe()
        );
        for slot in [
            &mut report.nft_nat,
            &mut report.legacy_nat,
            &mut report.bridge_netlink,
            &mut report.bridge_ioctl,
        ] {
            *slot = ProbeResult::Skipped {
                reason: reason.clone(),
            };
        }
    }
    report.mount_namespace = enter_private_mounts();
    if report.mount_namespace.is_ok() {
        // In this namespace of our own: nothing propagates out of it.
        report.root_slave = result(envprobe::make_root_rslave());
        if let Err(failed) = mount_probes(plan, &mut report) {
            report.overlay = failed.clone();
            for slot in report.cgroup.values_mut() {
                *slot = failed.clone();
            }
        }
    } else {
        let reason = format!(
            "no private mount namespace ({})",
            report.mount_namespace.describe()
        );
        report.overlay = ProbeResult::Skipped {
            reason: reason.clone(),
        };
        report.root_slave = ProbeResult::Skipped {
            reason: reason.clone(),
        };
        for slot in report.cgroup.values_mut() {
            *slot = ProbeResult::Skipped {
                reason: reason.clone(),
            };
        }
    }
    report.apply_plan_skips(plan);
    report
}

fn not_run() -> ProbeResult {
    ProbeResult::Skipped {
        reason: "not run".to_owned(),
    }
}

/// Enters a new mount namespace whose mounts cannot propagate anywhere.
fn enter_private_mounts() -> ProbeResult {
    if let Err(err) = envprobe::unshare_mounts() {
        return result(Err(err));
    }
    match envprobe::make_mounts_private() {
        Ok(()) => ProbeResult::Ok,
        // runsc 20221219 rejects propagation changes: it has no shared
        // subtrees. Check that nothing is shared before relying on that.
        Err(_) if procread::live_has_shared_mounts() == Some(false) => ProbeResult::Ok,
        Err(err) => result(Err(err)),
    }
}

/// The overlay and cgroup mounts, on a tmpfs laid over the temp directory.
fn mount_probes(plan: &ProbePlan, report: &mut ProbeReport) -> Result<(), ProbeResult> {
    if !plan.overlay && plan.cgroup_controllers.is_empty() {
        return Ok(());
    }
    let scratch: PathBuf = std::env::temp_dir();
    envprobe::mount_tmpfs(&scratch).map_err(|e| result(Err(e)))?;
    if plan.overlay {
        report.overlay = overlay_probe(&scratch);
    }
    for controller in &plan.cgroup_controllers {
        let target = scratch.join(format!("cgroup-{controller}"));
        let outcome = envprobe::make_dir(&target)
            .and_then(|()| envprobe::mount_cgroup_v1(controller, &target))
            .and_then(|()| envprobe::unmount(&target));
        report.cgroup.insert(controller.clone(), result(outcome));
    }
    // The tmpfs (and everything on it) goes; the directory under it is
    // untouched. The namespace would take it anyway when the child exits.
    let _ = envprobe::unmount(&scratch);
    Ok(())
}

fn overlay_probe(scratch: &Path) -> ProbeResult {
    let dirs = ["lower", "upper", "work", "merged"].map(|d| scratch.join(format!("overlay-{d}")));
    for dir in &dirs {
        if let Err(err) = envprobe::make_dir(dir) {
            return result(Err(err));
        }
    }
    let [lower, upper, work, merged] = &dirs;
    let mounted = envprobe::mount_overlay(lower, upper, work, merged);
    if mounted.is_ok() {
        let _ = envprobe::unmount(merged);
    }
    result(mounted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_and_reports_round_trip() {
        let plan = ProbePlan {
            nft: true,
            cgroup_controllers: vec!["devices".to_owned()],
            skipped: [("legacy".to_owned(), "dockerd uses nft".to_owned())].into(),
            ..ProbePlan::default()
        };
        let json = serde_json::to_string(&plan).unwrap();
        assert_eq!(serde_json::from_str::<ProbePlan>(&json).unwrap(), plan);
        let report = ProbeReport::skipped(&plan, "no root");
        assert_eq!(
            report.legacy_nat,
            ProbeResult::Skipped {
                reason: "dockerd uses nft".to_owned()
            }
        );
        assert_eq!(
            report.nft_nat,
            ProbeResult::Skipped {
                reason: "no root".to_owned()
            }
        );
        assert!(report.cgroup.contains_key("devices"));
    }

    #[test]
    fn errors_become_named_errnos() {
        let r = result(Err(SysError::from_raw("socket", 93)));
        assert_eq!(r.errno(), Some("EPROTONOSUPPORT"));
        assert_eq!(
            r.describe(),
            "socket: EPROTONOSUPPORT (Protocol not supported)"
        );
    }
}
