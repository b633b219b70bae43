//! The results of a run as plain data: what every reporter reads.
//!
//! Nothing here runs or renders anything. The JSON that `--format json` prints
//! is exactly these types serialised, so renaming a field is a schema change
//! (bump [`SCHEMA`]).

use std::path::PathBuf;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::report_format::DaemonInfo;

/// The schema identifier at the top of every JSON report.
pub const SCHEMA: &str = "dindcheck/report/v2";

/// The schemas a report may be read in: v2, and v1 (without cell indices,
/// axis values in order and dockerd versions), which `diff` and `explain`
/// still take; `merge` needs v2.
pub const READABLE_SCHEMAS: [&str; 2] = [SCHEMA, "dindcheck/report/v1"];

/// How far a cell got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// dockerd exited before its API answered.
    DaemonFailed,
    /// The API answered `GET /_ping` (depth `ready`).
    Ready,
    /// The API answered but the probe container did not run.
    ContainerFailed,
    /// The probe container ran and printed its token.
    ContainerOk,
    /// The container ran, but pushing the image to the in-sandbox registry,
    /// pulling it back or running the pulled image failed.
    PullFailed,
    /// The image went to the in-sandbox registry and back, and ran.
    PullOk,
    /// The pull worked, but a container on the default bridge got no
    /// address, or could not reach the gateway or another container, or its
    /// published port did not answer.
    NetworkFailed,
    /// Containers on the default bridge reached the gateway, each other and
    /// the sandbox through a published port.
    NetworkOk,
    /// The network worked, but building a Dockerfile FROM the probe image,
    /// or running the built image, failed.
    BuildFailed,
    /// A two-step Dockerfile was built and the image ran.
    BuildOk,
    /// Nothing conclusive happened before the deadline.
    Timeout,
    /// The harness or the sandbox itself failed; dockerd was not judged.
    Error,
}

impl Outcome {
    /// Every outcome, best last. A failure at one depth ranks above the
    /// success of the depth before it (the cell got that far and further),
    /// and below its own depth's success; `container-failed` stays below
    /// `ready`, as it always ranked. Within one report every cell has the
    /// same depth, so the order among the outcomes one depth can give is
    /// what explain and diff rely on: daemon-failed < container-failed <
    /// pull-failed < network-failed < build-failed < build-ok.
    pub const ALL: [Outcome; 12] = [
        Outcome::Error,
        Outcome::Timeout,
        Outcome::DaemonFailed,
        Outcome::ContainerFailed,
        Outcome::Ready,
        Outcome::ContainerOk,
        Outcome::PullFailed,
        Outcome::PullOk,
        Outcome::NetworkFailed,
        Outcome::NetworkOk,
        Outcome::BuildFailed,
        Outcome::BuildOk,
    ];

    /// The name used in YAML, JSON and tables.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::DaemonFailed => "daemon-failed",
            Outcome::Ready => "ready",
            Outcome::ContainerFailed => "container-failed",
            Outcome::ContainerOk => "container-ok",
            Outcome::PullFailed => "pull-failed",
            Outcome::PullOk => "pull-ok",
            Outcome::NetworkFailed => "network-failed",
            Outcome::NetworkOk => "network-ok",
            Outcome::BuildFailed => "build-failed",
            Outcome::BuildOk => "build-ok",
            Outcome::Timeout => "timeout",
            Outcome::Error => "error",
        }
    }

    /// Parses a name as written in `expect:` rules.
    pub fn from_name(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.name() == name)
    }

    /// Whether dockerd reached readiness (with or without a container).
    pub fn is_daemon_up(self) -> bool {
        !matches!(
            self,
            Outcome::DaemonFailed | Outcome::Timeout | Outcome::Error
        )
    }

    /// Whether the outcome names a failure that a signature can explain.
    pub fn is_failure(self) -> bool {
        !self.is_success()
    }

    /// Whether the cell reached its depth without a failure.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            Outcome::Ready
                | Outcome::ContainerOk
                | Outcome::PullOk
                | Outcome::NetworkOk
                | Outcome::BuildOk
        )
    }

    /// Whether a probe past readiness failed (`container-failed`,
    /// `pull-failed`, `network-failed`, `build-failed`): the failure comes
    /// from the API's message rather than dockerd's last words.
    pub fn is_probe_failure(self) -> bool {
        matches!(
            self,
            Outcome::ContainerFailed
                | Outcome::PullFailed
                | Outcome::NetworkFailed
                | Outcome::BuildFailed
        )
    }
}

/// Which event decided a cell's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecidedBy {
    /// dockerd's last words: a terminal line of its output (`failed to
    /// start daemon: …`, a `level=fatal` line) before its API answered.
    FatalLine,
    /// dockerd's exit.
    Exit,
    /// The API's first answer on `/_ping`.
    ApiReady,
    /// The end of the container probe (depth `container`).
    ContainerProbe,
    /// The deadline: the probe timeout inside the sandbox, or the
    /// runner's allowance on top of it.
    Timeout,
    /// The harness: its own failure, the sandbox's exit before a verdict,
    /// or an interrupt. dockerd was not judged.
    Harness,
}

impl DecidedBy {
    /// The name used in JSON and tables.
    pub fn name(self) -> &'static str {
        match self {
            DecidedBy::FatalLine => "fatal-line",
            DecidedBy::Exit => "exit",
            DecidedBy::ApiReady => "api-ready",
            DecidedBy::ContainerProbe => "container-probe",
            DecidedBy::Timeout => "timeout",
            DecidedBy::Harness => "harness",
        }
    }
}

/// A duration in whole milliseconds, as reports carry them.
pub fn millis(d: std::time::Duration) -> u64 {
    d.as_millis().try_into().unwrap_or(u64::MAX)
}

/// Phase durations of one cell, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// From spawning the sandbox to the agent's first word inside it.
    pub sandbox_start: Option<u64>,
    /// The agent's mounts before dockerd starts (agent clock).
    pub agent_setup: Option<u64>,
    /// The doctor's checks before dockerd starts (agent clock); absent
    /// with `--no-doctor`.
    #[serde(default)]
    pub doctor: Option<u64>,
    /// From spawning dockerd to the first `200 OK` on `/_ping` (agent clock).
    pub dockerd_start_to_api: Option<u64>,
    /// dockerd's own time from its first log line to `API listen on`.
    pub dockerd_log_to_api_listen: Option<u64>,
    /// From spawning dockerd to its exit, for a daemon that failed (also
    /// when its exit came after a verdict its last words gave, within the
    /// teardown).
    pub dockerd_start_to_exit: Option<u64>,
    /// From spawning dockerd to the agent reading its last words (a
    /// terminal line), for a daemon that printed them (agent clock).
    #[serde(default)]
    pub dockerd_start_to_fatal_line: Option<u64>,
    /// dockerd's own time from its first timestamped log line to its last
    /// words, read by the agent (both on the sandbox's wall clock).
    #[serde(default)]
    pub dockerd_log_to_fatal_line: Option<u64>,
    /// From the agent reading dockerd's last words to the host's verdict
    /// (wall clock): how long it took to act on them.
    #[serde(default)]
    pub fatal_line_to_verdict: Option<u64>,
    /// For a daemon that failed: from the last timestamped line of its log
    /// to the host's verdict (wall clock). For a daemon that logs just
    /// before it exits, this is how long exit detection took.
    #[serde(default)]
    pub last_log_line_to_verdict: Option<u64>,
    /// The `GET /info` round trip after readiness.
    pub info: Option<u64>,
    /// The container probe: image load, create, start, wait.
    pub container: Option<u64>,
    /// The pull probe: registry start, tag, push, remove, pull, run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<u64>,
    /// The network probe: containers on the default bridge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<u64>,
    /// The build probe: build a Dockerfile and run its image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<u64>,
    /// From spawning the sandbox to the verdict.
    pub verdict: u64,
    /// Teardown and leak sweep after the verdict.
    pub teardown: u64,
    /// The whole cell, spawn to clean.
    pub total: u64,
}

/// What the runner learned about one cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    /// `scenario[axis=value,…]`.
    pub id: String,
    /// The cell's position in the full matrix (0-based), also under
    /// `--shard` and `--filter`; absent only in v1 reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// Axis name to value label, in axis order, including `runsc`.
    pub axes: IndexMap<String, String>,
    /// `runsc --version`'s first line, for runsc cells.
    pub runsc_version: Option<String>,
    /// `dockerd --version` of the cell's dockerd binary, known before the
    /// cell starts (`dockerd.server_version` is what the daemon said, when
    /// it answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerd_version: Option<String>,
    /// How far the cell got.
    pub outcome: Outcome,
    /// The catalogue signature that explains a failure (`unknown` if none does).
    pub signature: Option<String>,
    /// The failure's family (`cgroup`, `firewall`, …): the signature's, or
    /// the one the fatal line's words name; absent when none is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The line that ended the daemon or the container start.
    pub fatal_line: Option<String>,
    /// A sentence from the harness when the sandbox or probe itself failed.
    pub detail: Option<String>,
    /// Which event decided the verdict; absent in reports written before
    /// it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<DecidedBy>,
    /// What dockerd told `GET /info`, when it answered.
    pub dockerd: Option<DaemonInfo>,
    /// Phase durations.
    pub timings_ms: Timings,
    /// The kept dockerd log.
    pub log: PathBuf,
    /// The kept sandbox log (runsc messages and the agent's events).
    pub sandbox_log: PathBuf,
    /// The cgroup controllers the agent mounted, and the ones it could not.
    pub cgroups: Option<CgroupReport>,
    /// Processes, mounts or directories the sweep had to remove after teardown.
    pub leaked: Vec<String>,
    /// Later attempts, when `--retries` re-ran this failed cell.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retries: Vec<Attempt>,
    /// Container starts a probe retried once because the container's init
    /// process had exited before the start (a chance failure under gVisor),
    /// each as the daemon answered the first attempt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retried_starts: Vec<String>,
    /// A retry's verdict differed from the first: the cell is flaky. The
    /// cell keeps its first verdict, so a flaky failure never passes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flaky: bool,
    /// What `dindcheck doctor` found in the cell's sandbox before dockerd
    /// started, and what it predicted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctor: Option<Box<crate::report_format::doctor::DoctorReport>>,
    /// The expectation that applied, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Expectation>,
    /// Whether the expectation held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expectation_met: Option<bool>,
}

/// One re-run of a cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// The attempt's outcome.
    pub outcome: Outcome,
    /// Its signature.
    pub signature: Option<String>,
    /// Its kept dockerd log.
    pub log: PathBuf,
}

/// What the agent mounted at `/sys/fs/cgroup`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CgroupReport {
    /// The layout asked for.
    pub layout: String,
    /// Controllers (or `cgroup2`) mounted.
    pub mounted: Vec<String>,
    /// Controllers that failed to mount, with the error.
    pub failed: Vec<(String, String)>,
}

/// An expectation from the scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    /// The expected outcome.
    pub outcome: Option<String>,
    /// The expected signature (`none` for no signature).
    pub signature: Option<String>,
}

impl Expectation {
    /// Whether a result meets the expectation.
    pub fn is_met_by(&self, outcome: Outcome, signature: Option<&str>) -> bool {
        let outcome_ok = self.outcome.as_deref().is_none_or(|o| o == outcome.name());
        let signature_ok = match self.signature.as_deref() {
            None => true,
            Some("none") => signature.is_none(),
            Some(want) => signature == Some(want),
        };
        outcome_ok && signature_ok
    }
}

/// Facts about a scenario that a report repeats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// The scenario's name.
    pub name: String,
    /// The file it came from.
    pub path: PathBuf,
    /// What it shows.
    pub description: Option<String>,
    /// `runsc` or `native`.
    pub sandbox: String,
    /// `ready` or `container`.
    pub depth: String,
    /// Axis names in order.
    pub axes: Vec<String>,
    /// Each axis's value labels in matrix order (the runtime axis included);
    /// empty only in v1 reports.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub axis_values: IndexMap<String, Vec<String>>,
}

/// One scenario's run: the document `--format json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Which scenario ran.
    pub scenario: ScenarioInfo,
    /// When the run started, RFC 3339 in UTC.
    pub started_at: String,
    /// The machine's hostname and kernel, for context.
    pub host: HostInfo,
    /// Whether the run was cut short by a signal.
    pub interrupted: bool,
    /// The cells, in matrix order.
    pub cells: Vec<CellResult>,
}

/// The machine a report was made on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// Number of cells run at once (`--jobs` or its default).
    pub jobs: usize,
    /// The most cells that did run at once: more than `jobs` when the
    /// default schedule started cells while the CPUs idled (absent in
    /// reports from before it could).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub most_at_once: Option<usize>,
}

impl RunReport {
    /// How many cells show each signature, by signature id (sorted).
    pub fn signature_counts(&self) -> std::collections::BTreeMap<&str, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for cell in &self.cells {
            if let Some(sig) = &cell.signature {
                *counts.entry(sig.as_str()).or_default() += 1;
            }
        }
        counts
    }

    /// How many cells missed their expectation.
    pub fn unmet_expectations(&self) -> usize {
        self.cells
            .iter()
            .filter(|c| c.expectation_met == Some(false))
            .count()
    }

    /// How many cells no `expect:` rule covers (none applied to them).
    pub fn uncovered_cells(&self) -> usize {
        self.cells.iter().filter(|c| c.expected.is_none()).count()
    }

    /// Whether any cell missed its expectation or turned out flaky: what
    /// makes `run` exit 1.
    pub fn has_failed_expectation(&self) -> bool {
        self.cells
            .iter()
            .any(|c| c.expectation_met == Some(false) || c.flaky)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(Some("ready"), None, Outcome::Ready, None, true)]
    #[case(Some("ready"), None, Outcome::DaemonFailed, Some("x"), false)]
    #[case(None, Some("x"), Outcome::DaemonFailed, Some("x"), true)]
    #[case(None, Some("x"), Outcome::DaemonFailed, Some("y"), false)]
    #[case(Some("ready"), Some("none"), Outcome::Ready, None, true)]
    #[case(
        Some("daemon-failed"),
        Some("none"),
        Outcome::DaemonFailed,
        Some("x"),
        false
    )]
    fn expectation_matching(
        #[case] outcome: Option<&str>,
        #[case] signature: Option<&str>,
        #[case] got: Outcome,
        #[case] got_sig: Option<&str>,
        #[case] met: bool,
    ) {
        let e = Expectation {
            outcome: outcome.map(str::to_owned),
            signature: signature.map(str::to_owned),
        };
        assert_eq!(e.is_met_by(got, got_sig), met);
    }

    #[test]
    fn outcome_names_round_trip() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::from_name(o.name()), Some(o));
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(json, format!("\"{}\"", o.name()));
        }
    }
}
