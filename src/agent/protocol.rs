//! The agent's protocol with the host: the spec the runner writes before a
//! cell starts, and the `dindcheck-agent {json}` event lines the agent
//! writes to stderr while it runs.
//!
//! Plain data and its encoding; both sides (the runner on the host, the
//! agent in the sandbox) import it, and it imports neither.

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::report_format::doctor::DoctorReport;
use crate::report_format::{CgroupReport, DaemonInfo, DecidedBy, Outcome};
use crate::scenario::{CgroupLayout, Depth};

/// Host directories a dockerd or containerd may write to whatever its flags
/// say (dockerd 20.10 writes `/etc/docker/key.json` unconditionally): the
/// agent hides them behind empty tmpfs mounts, an OCI bundle mounts tmpfs
/// there.
pub const HOST_DOCKER_STATE: &[&str] = &[
    "/etc/docker",
    "/var/lib/docker",
    "/run/docker",
    "/var/lib/containerd",
    "/run/containerd",
];

/// The prefix of every protocol line the agent writes to stderr.
pub const EVENT_PREFIX: &str = "dindcheck-agent ";

/// The text the probe container must print.
pub const PROBE_TOKEN: &str = "dindcheck-probe-ok";

/// The image tag of the probe image.
pub const PROBE_IMAGE: &str = "dindcheck/probe:latest";

/// What the host asks the agent to do; written as JSON into the cell's dir.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSpec {
    /// The cell, for messages.
    pub cell_id: String,
    /// Where the agent mounts a tmpfs for dockerd's state.
    pub work_dir: PathBuf,
    /// dockerd's unix socket (inside `work_dir`).
    pub socket: PathBuf,
    /// The cgroup layout to mount at `/sys/fs/cgroup`.
    pub cgroups: CgroupLayout,
    /// The sandbox made every mount the agent would (an OCI bundle: its
    /// cgroup mount, a tmpfs at `work_dir` and at each of
    /// [`HOST_DOCKER_STATE`]), so the agent needs no capability to mount:
    /// mount nothing, record what is at `/sys/fs/cgroup`.
    #[serde(default)]
    pub mounts_from_sandbox: bool,
    /// Shell commands to run with `/bin/sh -c`, in order, after the cgroup
    /// layout and before the doctor and dockerd; the first that fails ends
    /// the cell as `error`, its exit status and stderr in the detail.
    #[serde(default)]
    pub setup: Vec<String>,
    /// Start dockerd in a user namespace.
    pub userns: bool,
    /// The complete dockerd command line, harness paths included.
    pub dockerd_argv: Vec<String>,
    /// Extra environment for dockerd.
    pub env: Vec<(String, String)>,
    /// Symbolic links (name, target) the agent makes in `work_dir/bin`,
    /// which then comes first in dockerd's PATH: the containerd and runc a
    /// scenario chose. A link whose target does not exist is left out.
    #[serde(default)]
    pub path_links: Vec<(String, PathBuf)>,
    /// How far to probe.
    pub depth: Depth,
    /// From dockerd's start to the verdict, in milliseconds.
    pub timeout_ms: u64,
    /// The static binary for the probe image.
    pub busybox: PathBuf,
    /// The registry binary the `pull` depth starts on loopback.
    #[serde(default)]
    pub registry: PathBuf,
    /// Size of the work tmpfs in MiB, when limited.
    #[serde(default)]
    pub work_size_mb: Option<u64>,
    /// Run the doctor's checks before dockerd starts.
    #[serde(default)]
    pub doctor: bool,
    /// `dockerd --version` of the cell's dockerd, as the host read it, for
    /// the doctor.
    #[serde(default)]
    pub dockerd_version: Option<String>,
}

/// One protocol line from the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum AgentEvent {
    /// The agent is running inside the sandbox.
    Started,
    /// dockerd was spawned.
    DockerdSpawned {
        /// Its PID inside the sandbox.
        pid: i32,
    },
    /// The API answered `/_ping`.
    ApiReady {
        /// Milliseconds from spawn to answer.
        ms: u64,
    },
    /// The verdict.
    Result(Box<AgentResult>),
    /// dockerd exited after a verdict its last words gave, while the agent
    /// was still watching (within the teardown); the last line then.
    DockerdExited {
        /// How it exited (`exit status 1`).
        status: String,
        /// Milliseconds from spawn to exit.
        ms: u64,
    },
}

/// The agent's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentResult {
    /// How far dockerd got.
    pub outcome: Outcome,
    /// A sentence for `error`, `timeout` and `container-failed` outcomes.
    pub detail: Option<String>,
    /// How dockerd exited, if it did.
    pub dockerd_exit: Option<String>,
    /// What `GET /info` said.
    pub dockerd: Option<DaemonInfo>,
    /// What was mounted at /sys/fs/cgroup.
    pub cgroups: CgroupReport,
    /// From the agent's start to dockerd's spawn: mounts and cgroup layout.
    pub setup_ms: u64,
    /// Spawn to first `/_ping` answer.
    pub dockerd_start_to_api_ms: Option<u64>,
    /// Spawn to exit, for a daemon that died.
    pub dockerd_start_to_exit_ms: Option<u64>,
    /// Which event decided the verdict.
    #[serde(default)]
    pub decided_by: Option<DecidedBy>,
    /// Spawn to the agent reading dockerd's last words (a terminal line).
    #[serde(default)]
    pub dockerd_start_to_fatal_line_ms: Option<u64>,
    /// When the agent read dockerd's last words: microseconds since the
    /// Unix epoch on the sandbox's wall clock, which is the host's.
    #[serde(default)]
    pub fatal_line_at_us: Option<i64>,
    /// The `GET /info` round trip after readiness.
    pub info_ms: Option<u64>,
    /// The container probe's duration.
    pub container_ms: Option<u64>,
    /// The pull probe's duration.
    #[serde(default)]
    pub pull_ms: Option<u64>,
    /// The network probe's duration.
    #[serde(default)]
    pub network_ms: Option<u64>,
    /// The build probe's duration.
    #[serde(default)]
    pub build_ms: Option<u64>,
    /// How long the doctor's checks took, before dockerd started.
    #[serde(default)]
    pub doctor_ms: Option<u64>,
    /// What `dindcheck doctor` found and predicted in the sandbox, after the
    /// cgroup layout was mounted and before dockerd started.
    #[serde(default)]
    pub doctor: Option<Box<DoctorReport>>,
    /// Container starts the probes retried because the container's init
    /// process had exited before the start (see `EngineClient::start_container`),
    /// each as the daemon answered the first attempt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retried_starts: Vec<String>,
}

/// Writes one protocol line to stderr.
pub fn emit(event: &AgentEvent) {
    if let Ok(json) = serde_json::to_string(event) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{EVENT_PREFIX}{json}");
        let _ = err.flush();
    }
}

/// Parses a protocol line, if it is one.
pub fn parse_event(line: &str) -> Option<AgentEvent> {
    serde_json::from_str(line.strip_prefix(EVENT_PREFIX)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_the_protocol_line() {
        let event = AgentEvent::ApiReady { ms: 42 };
        let line = format!("{EVENT_PREFIX}{}", serde_json::to_string(&event).unwrap());
        assert_eq!(parse_event(&line), Some(event));
        assert_eq!(parse_event("time=\"x\" level=info msg=\"y\""), None);
    }

    #[test]
    fn cgroup_layouts_survive_the_spec_round_trip() {
        for layout in [
            CgroupLayout::Auto,
            CgroupLayout::None,
            CgroupLayout::V2,
            CgroupLayout::Controllers(vec!["devices".to_owned(), "auto".to_owned()]),
        ] {
            let json = serde_json::to_string(&layout).unwrap();
            let back: CgroupLayout = serde_json::from_str(&json).unwrap();
            assert_eq!(back, layout, "{json}");
        }
    }
}
