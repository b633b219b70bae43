//! Runs one cell on the host: spawn the sandbox, follow the agent, tear
//! down, sweep, classify. Returns a `CellResult`, never an `Err` for a bad
//! daemon: a daemon that fails is data.
//!
//! The agent's events arrive as lines in the sandbox's stderr file, which the
//! runner follows while polling the sandbox process, so a verdict is seen the
//! moment the agent writes it. Every wait has a deadline; cleanup runs in
//! `Supervised`'s `Drop` too, so a panic cannot skip it.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::agent::{AgentEvent, AgentResult, parse_event};
use crate::classify::logline;
use crate::classify::{Classification, SignatureSet};
use crate::matrix::Cell;
use crate::process::child::{Output, SpawnSpec, Supervised, describe_status};
use crate::process::signals::{Shutdown, shutdown_level};
use crate::process::sweep::{self, MARKER_VAR, Marker};
use crate::process::{cgroupdirs, mounts};
use crate::report_format::{CellResult, DecidedBy, Outcome, Timings, millis};
use crate::sandbox::{CellPaths, PrepareContext, agent_spec, backend_for};

/// Time the sandbox gets on top of the probe timeout: runsc start-up and
/// teardown, which the agent's own deadline does not cover.
const SANDBOX_ALLOWANCE: Duration = Duration::from_secs(30);

/// How long marked processes may take to vanish after teardown before they
/// count as leaked.
const LEAK_SETTLE: Duration = Duration::from_secs(2);

/// What every cell of a run shares.
#[derive(Debug)]
pub struct RunContext<'a> {
    /// Unique per run; part of every marker.
    pub run_id: String,
    /// `/tmp/dindcheck-<run-id>`: the cells' scratch space.
    pub scratch: PathBuf,
    /// Where logs are kept.
    pub out_dir: PathBuf,
    /// This binary, run inside the sandbox as the agent.
    pub agent_exe: PathBuf,
    /// The failure catalogue.
    pub signatures: &'a SignatureSet,
    /// SIGTERM-to-SIGKILL grace for the sandbox.
    pub grace: Duration,
    /// `runsc --version` by runsc path.
    pub runsc_versions: &'a HashMap<String, String>,
    /// `dockerd --version` by dockerd path.
    pub dockerd_versions: &'a HashMap<String, String>,
}

/// The marker value of a cell's attempt (0 for the first run).
pub fn marker(run_id: &str, index: usize, attempt: usize) -> String {
    match attempt {
        0 => format!("{run_id}/{index}"),
        n => format!("{run_id}/{index}.{n}"),
    }
}

/// Runs `cell` to a verdict and cleans up after it. `attempt` is 0 for the
/// first run and counts `--retries`; each attempt keeps its own logs.
pub fn run_cell(ctx: &RunContext<'_>, cell: &Cell, attempt: usize) -> CellResult {
    let started = Instant::now();
    let mut dir_name = artifact_dir_name(cell);
    if attempt > 0 {
        dir_name.push_str(&format!(".retry{attempt}"));
    }
    let artifacts = ctx.out_dir.join("cells").join(dir_name);
    let mut result = CellResult {
        id: cell.id.clone(),
        index: Some(cell.index),
        axes: cell.axes.clone(),
        runsc_version: cell
            .settings
            .runsc
            .as_ref()
            .filter(|_| cell.settings.sandbox.uses_runsc())
            .and_then(|p| ctx.runsc_versions.get(p).cloned()),
        dockerd_version: ctx.dockerd_versions.get(&cell.settings.dockerd).cloned(),
        outcome: Outcome::Error,
        signature: None,
        family: None,
        fatal_line: None,
        detail: None,
        decided_by: None,
        dockerd: None,
        timings_ms: Timings::default(),
        log: artifacts.join("dockerd.log"),
        sandbox_log: artifacts.join("sandbox.log"),
        cgroups: None,
        leaked: Vec::new(),
        retries: Vec::new(),
        retried_starts: Vec::new(),
        flaky: false,
        doctor: None,
        expected: cell.expectation.clone(),
        expectation_met: None,
    };
    let paths = match prepare(ctx, cell, &artifacts) {
        Ok(paths) => paths,
        Err(message) => {
            result.detail = Some(message);
            result.timings_ms.total = millis(started.elapsed());
            return finish(ctx, result);
        }
    };
    let marker = marker(&ctx.run_id, cell.index, attempt);
    let spec = SpawnSpec {
        argv: backend_for(cell.settings.sandbox).host_argv(cell, &paths, &ctx.agent_exe),
        env: vec![
            (MARKER_VAR.into(), marker.clone().into()),
            ("TMPDIR".into(), paths.tmp.clone().into()),
        ],
        stdout: Output::File(result.log.clone()),
        stderr: Output::File(result.sandbox_log.clone()),
        isolate: true,
    };
    let deadline = started + Duration::from_secs(cell.settings.timeout_secs) + SANDBOX_ALLOWANCE;
    let mut pgid = None;
    let mut verdict_at = None;
    let mut fatal_line_at = None;
    match Supervised::spawn(&spec) {
        Err(err) => {
            result.detail = Some(crate::error_text::error_chain(&err));
            result.decided_by = Some(DecidedBy::Harness);
        }
        Ok(mut sandbox) => {
            pgid = Some(sandbox.pid());
            let mut events = EventReader::open(&result.sandbox_log);
            let followed = follow(&mut sandbox, &mut events, deadline);
            result.timings_ms.verdict = millis(started.elapsed());
            let now = jiff::Timestamp::now();
            verdict_at = Some(now);
            fatal_line_at = followed.result.as_ref().and_then(|r| r.fatal_line_at_us);
            result.timings_ms.fatal_line_to_verdict =
                fatal_line_at.and_then(|at| u64::try_from((now.as_microsecond() - at) / 1000).ok());
            result.timings_ms.sandbox_start = followed
                .started_at
                .map(|t| millis(t.duration_since(sandbox.started())));
            apply_verdict(&mut result, followed, cell);
            let teardown_started = Instant::now();
            let grace = match shutdown_level() {
                Shutdown::Immediate => Duration::ZERO,
                _ => ctx.grace,
            };
            // After its verdict the agent exits and runsc tears the sandbox
            // down itself; give it the grace period to do so cleanly, and
            // keep what the agent still reports meanwhile (dockerd's exit
            // after a verdict its last words gave).
            let exited = follow_teardown(&mut sandbox, &mut events, Instant::now() + grace);
            if sandbox.try_wait().is_none() {
                sandbox.terminate(grace);
            }
            remove_runtime_state(cell, &paths, &spec, &artifacts, grace);
            apply_late_exit(&mut result, exited);
            result.timings_ms.teardown = millis(teardown_started.elapsed());
        }
    }
    let teardown_started = Instant::now();
    let cgroup_name = backend_for(cell.settings.sandbox).host_cgroup_name(cell, &paths);
    result.leaked = sweep_cell(&marker, pgid, &paths, cgroup_name.as_deref());
    result.timings_ms.teardown += millis(teardown_started.elapsed());
    result.timings_ms.total = millis(started.elapsed());
    classify(ctx.signatures, &mut result, verdict_at, fatal_line_at);
    finish(ctx, result)
}

fn finish(_ctx: &RunContext<'_>, mut result: CellResult) -> CellResult {
    if let Some(expected) = &result.expected {
        result.expectation_met =
            Some(expected.is_met_by(result.outcome, result.signature.as_deref()));
    }
    result
}

/// `07-cgroupfs-none-true-20221219`: index plus labels, safe as a file name.
fn artifact_dir_name(cell: &Cell) -> String {
    let mut name = format!("{:02}", cell.index);
    for label in cell.axes.values() {
        name.push('-');
        name.extend(label.chars().map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        }));
    }
    name
}

fn prepare(ctx: &RunContext<'_>, cell: &Cell, artifacts: &Path) -> Result<CellPaths, String> {
    let paths = CellPaths::new(&ctx.scratch, cell.index).map_err(|e| e.to_string())?;
    for dir in [
        artifacts,
        &paths.scratch,
        &paths.runsc_root,
        &paths.work_dir,
        &paths.tmp,
    ] {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("failed to create {}: {e}", dir.display()))?;
    }
    let backend = backend_for(cell.settings.sandbox);
    let spec = agent_spec(cell, &paths, backend.provides_mounts());
    let json = serde_json::to_vec_pretty(&spec).map_err(|e| e.to_string())?;
    std::fs::write(&paths.spec_file, json)
        .map_err(|e| format!("failed to write {}: {e}", paths.spec_file.display()))?;
    let runsc_version = cell
        .settings
        .runsc
        .as_ref()
        .and_then(|r| ctx.runsc_versions.get(r));
    let backend_ctx = PrepareContext {
        agent_exe: &ctx.agent_exe,
        runsc_version: runsc_version.map(String::as_str),
    };
    backend.prepare(cell, &paths, backend_ctx)?;
    Ok(paths)
}

/// What following the sandbox produced.
#[derive(Debug, Default)]
struct Followed {
    started_at: Option<Instant>,
    result: Option<Box<AgentResult>>,
    exit: Option<String>,
    timed_out: bool,
    interrupted: bool,
}

/// The agent's event lines, read from the sandbox's stderr file as they are
/// written.
struct EventReader {
    file: Option<File>,
    pending: Vec<u8>,
}

impl EventReader {
    fn open(events_file: &Path) -> EventReader {
        EventReader {
            file: File::open(events_file).ok(),
            pending: Vec::new(),
        }
    }

    /// Reads what is new; returns whether there was anything.
    fn read(&mut self) -> bool {
        let Some(file) = self.file.as_mut() else {
            return false;
        };
        let mut chunk = Vec::new();
        if file.read_to_end(&mut chunk).is_ok() && !chunk.is_empty() {
            self.pending.extend_from_slice(&chunk);
            return true;
        }
        false
    }

    /// The next complete event line read so far.
    fn next_event(&mut self) -> Option<AgentEvent> {
        while let Some(newline) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=newline).collect();
            if let Some(event) = parse_event(String::from_utf8_lossy(&line).trim_end()) {
                return Some(event);
            }
        }
        None
    }
}

/// Reads the agent's events as they are written, until its result, the
/// sandbox's exit, the deadline or a shutdown request.
fn follow(sandbox: &mut Supervised, events: &mut EventReader, deadline: Instant) -> Followed {
    let mut followed = Followed::default();
    let mut backoff = Duration::from_millis(1);
    loop {
        let exited = sandbox.try_wait();
        if events.read() {
            backoff = Duration::from_millis(1);
        }
        while let Some(event) = events.next_event() {
            match event {
                AgentEvent::Started => followed.started_at = Some(Instant::now()),
                AgentEvent::Result(result) => {
                    followed.result = Some(result);
                    return followed;
                }
                _ => {}
            }
        }
        if let Some(status) = exited {
            followed.exit = Some(describe_status(status));
            return followed;
        }
        if shutdown_level() != Shutdown::None {
            followed.interrupted = true;
            return followed;
        }
        let now = Instant::now();
        if now >= deadline {
            followed.timed_out = true;
            return followed;
        }
        std::thread::sleep(backoff.min(deadline - now));
        backoff = (backoff * 2).min(FOLLOW_POLL);
    }
}

/// The longest pause between two looks at the sandbox and its events: a
/// read and a `waitpid` on the host, cheap enough to keep the verdict and
/// the teardown's end within a few milliseconds.
const FOLLOW_POLL: Duration = Duration::from_millis(5);

/// dockerd's exit as the agent reported it after its verdict.
#[derive(Debug)]
struct LateExit {
    status: String,
    ms: u64,
}

/// Waits until the sandbox exits or `deadline` passes, reading the events
/// the agent still writes; returns dockerd's exit if it reported one.
fn follow_teardown(
    sandbox: &mut Supervised,
    events: &mut EventReader,
    deadline: Instant,
) -> Option<LateExit> {
    let mut late = None;
    let mut backoff = Duration::from_millis(1);
    loop {
        let exited = sandbox.try_wait();
        events.read();
        while let Some(event) = events.next_event() {
            if let AgentEvent::DockerdExited { status, ms } = event {
                late = Some(LateExit { status, ms });
            }
        }
        let now = Instant::now();
        if exited.is_some() || now >= deadline {
            return late;
        }
        std::thread::sleep(backoff.min(deadline - now));
        backoff = (backoff * 2).min(FOLLOW_POLL);
    }
}

/// Keeps dockerd's exit when it came within the teardown.
fn apply_late_exit(result: &mut CellResult, exited: Option<LateExit>) {
    let Some(exited) = exited else { return };
    result.timings_ms.dockerd_start_to_exit = Some(exited.ms);
    if result.outcome == Outcome::DaemonFailed && result.detail.is_none() {
        result.detail = Some(format!("dockerd exited with {}", exited.status));
    }
}

fn apply_verdict(result: &mut CellResult, followed: Followed, cell: &Cell) {
    if let Some(agent) = followed.result {
        result.outcome = agent.outcome;
        result.detail = agent.detail;
        result.decided_by = agent.decided_by.or(Some(DecidedBy::Harness));
        result.timings_ms.dockerd_start_to_fatal_line = agent.dockerd_start_to_fatal_line_ms;
        result.dockerd = agent.dockerd;
        result.cgroups = Some(agent.cgroups);
        result.timings_ms.agent_setup = Some(agent.setup_ms);
        result.timings_ms.doctor = agent.doctor_ms;
        result.timings_ms.dockerd_start_to_api = agent.dockerd_start_to_api_ms;
        result.timings_ms.dockerd_start_to_exit = agent.dockerd_start_to_exit_ms;
        result.timings_ms.info = agent.info_ms;
        result.timings_ms.container = agent.container_ms;
        result.timings_ms.pull = agent.pull_ms;
        result.timings_ms.network = agent.network_ms;
        result.timings_ms.build = agent.build_ms;
        result.doctor = agent.doctor;
        result.retried_starts = agent.retried_starts;
        if let Some(exit) = agent.dockerd_exit
            && result.outcome == Outcome::DaemonFailed
        {
            let detail = format!("dockerd exited with {exit}");
            result.detail = Some(detail);
        }
    } else if followed.interrupted {
        result.decided_by = Some(DecidedBy::Harness);
        result.outcome = Outcome::Error;
        result.detail = Some("interrupted before a verdict".to_owned());
    } else if followed.timed_out {
        result.decided_by = Some(DecidedBy::Timeout);
        result.outcome = Outcome::Timeout;
        result.detail = Some(format!(
            "no verdict from the sandbox within {} s",
            cell.settings.timeout_secs + SANDBOX_ALLOWANCE.as_secs()
        ));
    } else {
        result.decided_by = Some(DecidedBy::Harness);
        result.outcome = Outcome::Error;
        result.detail = Some(format!(
            "the sandbox exited with {} before the agent gave a verdict",
            followed.exit.as_deref().unwrap_or("an unknown status")
        ));
    }
}

/// Runs the backend's teardown command (`runsc delete --force`) when the
/// runtime left state in the cell's `--root`, with the sandbox's marker (so
/// the sweep finds it if it hangs) and a deadline; its output goes to
/// `teardown.log` beside the cell's other logs.
fn remove_runtime_state(
    cell: &Cell,
    paths: &CellPaths,
    sandbox: &SpawnSpec,
    artifacts: &Path,
    grace: Duration,
) {
    let Some(argv) = backend_for(cell.settings.sandbox).teardown_argv(cell, paths) else {
        return;
    };
    let has_state = std::fs::read_dir(&paths.runsc_root).is_ok_and(|mut d| d.next().is_some());
    if !has_state {
        return;
    }
    let log = artifacts.join("teardown.log");
    let spec = SpawnSpec {
        argv,
        env: sandbox.env.clone(),
        stdout: Output::File(log.clone()),
        stderr: Output::File(log),
        isolate: false,
    };
    if let Ok(mut teardown) = Supervised::spawn(&spec)
        && teardown
            .wait_until(Instant::now() + grace.max(TEARDOWN_MIN))
            .is_none()
    {
        teardown.terminate(Duration::ZERO);
    }
}

/// The least time the runtime's own teardown command gets, even with
/// `--grace 0` or a second Ctrl-C.
const TEARDOWN_MIN: Duration = Duration::from_secs(5);

/// Removes what is left of a cell and returns a line per leak. The host
/// cgroups named `cgroup_name` that the runtime left (runsc does when its
/// sandbox is killed) are removed too; only one that cannot be removed is a
/// leak.
fn sweep_cell(
    marker: &str,
    pgid: Option<i32>,
    paths: &CellPaths,
    cgroup_name: Option<&str>,
) -> Vec<String> {
    let mut leaked = Vec::new();
    let settle_until = Instant::now() + LEAK_SETTLE;
    let mut settled = false;
    while Instant::now() < settle_until {
        if sweep::find_marked(Marker::Cell(marker), pgid).is_empty() {
            settled = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if settled {
        // Nothing marked is alive; a second scan of every process would
        // find nothing more (each costs milliseconds on a busy machine).
        sweep::reap_orphans();
    } else {
        for leftover in sweep::kill_leftovers(Marker::Cell(marker), pgid) {
            leaked.push(leftover.to_string());
        }
    }
    if let Some(name) = cgroup_name {
        let root = Path::new(cgroupdirs::CGROUP_ROOT);
        for (dir, err) in cgroupdirs::remove_named(root, name, LEAK_SETTLE).kept {
            leaked.push(format!("cgroup {} ({err})", dir.display()));
        }
    }
    for mount in mounts::unmount_below(&paths.scratch) {
        leaked.push(format!("mount {}", mount.display()));
    }
    if let Err(err) = std::fs::remove_dir_all(&paths.scratch)
        && err.kind() != std::io::ErrorKind::NotFound
    {
        leaked.push(format!("directory {} ({err})", paths.scratch.display()));
    }
    leaked
}

/// Names the failure from the kept logs.
fn classify(
    signatures: &SignatureSet,
    result: &mut CellResult,
    verdict_at: Option<jiff::Timestamp>,
    fatal_line_at_us: Option<i64>,
) {
    // Lossily, line by line, as triage reads it: a stray byte must not
    // empty the log (and so the signature).
    let log = crate::triage::read_lossy(&result.log).unwrap_or_default();
    result.timings_ms.dockerd_log_to_api_listen = logline::start_to_api_listen_ms(&log);
    if let Some(at) = fatal_line_at_us
        && let Some(first) = log.lines().find_map(|l| logline::parse(l).time)
    {
        let span_us = at - first.as_microsecond();
        result.timings_ms.dockerd_log_to_fatal_line = u64::try_from(span_us / 1000).ok();
    }
    if result.outcome == Outcome::DaemonFailed
        && let Some(verdict_at) = verdict_at
        && let Some(last) = log.lines().rev().find_map(|l| logline::parse(l).time)
    {
        let span = verdict_at.duration_since(last);
        result.timings_ms.last_log_line_to_verdict = u64::try_from(span.as_millis()).ok();
    }
    let classification: Classification = match result.outcome {
        o if o.is_success() => return,
        Outcome::DaemonFailed => signatures.classify_log(&log),
        o if o.is_probe_failure() => match &result.detail {
            Some(detail) => signatures.classify_message(detail),
            None => signatures.classify_log(&log),
        },
        // Timeout and Error.
        _ => {
            let sandbox_log = crate::triage::read_lossy(&result.sandbox_log).unwrap_or_default();
            let from_sandbox = signatures.classify_log(&strip_events(&sandbox_log));
            let from_log = signatures.classify_log(&log);
            let known = |c: &Classification| {
                c.signature
                    .as_deref()
                    .is_some_and(|s| s != crate::classify::UNKNOWN)
            };
            if known(&from_sandbox) {
                from_sandbox
            } else if known(&from_log) {
                from_log
            } else if result.outcome == Outcome::Error {
                // The harness's own sentence is the best evidence left.
                match from_sandbox.fatal_line {
                    Some(_) => from_sandbox,
                    None => Classification::default(),
                }
            } else {
                Classification::default()
            }
        }
    };
    result.signature = classification.signature;
    result.fatal_line = classification.fatal_line;
    result.family = classification.family.map(|f| f.name().to_owned());
}

/// The sandbox log without the agent's protocol lines.
fn strip_events(text: &str) -> String {
    text.lines()
        .filter(|l| parse_event(l).is_none())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::expand;
    use crate::scenario::load_scenario_text;

    #[test]
    fn artifact_names_are_file_safe() {
        let s = load_scenario_text(
            "sandbox: native\naxes:\n  cgroup_parent: [/]\n  cgroup_driver: [cgroupfs]\n",
        )
        .unwrap();
        let cell = &expand(&s, &s.axes, &[])[0];
        assert_eq!(artifact_dir_name(cell), "00-_-cgroupfs");
    }
}
