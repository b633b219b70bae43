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
use crate::process::mounts;
use crate::process::signals::{Shutdown, shutdown_level};
use crate::process::sweep::{self, MARKER_VAR, Marker};
use crate::report_format::{CellResult, Outcome, Timings, millis};
use crate::sandbox::{CellPaths, agent_spec, backend_for};

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
        dockerd: None,
        timings_ms: Timings::default(),
        log: artifacts.join("dockerd.log"),
        sandbox_log: artifacts.join("sandbox.log"),
        cgroups: None,
        leaked: Vec::new(),
        retries: Vec::new(),
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
    match Supervised::spawn(&spec) {
        Err(err) => result.detail = Some(crate::error_text::error_chain(&err)),
        Ok(mut sandbox) => {
            pgid = Some(sandbox.pid());
            let followed = follow(&mut sandbox, &result.sandbox_log, deadline);
            result.timings_ms.verdict = millis(started.elapsed());
            verdict_at = Some(jiff::Timestamp::now());
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
            // down itself; give it the grace period to do so cleanly.
            if sandbox.wait_until(Instant::now() + grace).is_none() {
                sandbox.terminate(grace);
            }
            result.timings_ms.teardown = millis(teardown_started.elapsed());
        }
    }
    let teardown_started = Instant::now();
    result.leaked = sweep_cell(&marker, pgid, &paths);
    result.timings_ms.teardown += millis(teardown_started.elapsed());
    result.timings_ms.total = millis(started.elapsed());
    classify(ctx.signatures, &mut result, verdict_at);
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
    let spec = agent_spec(cell, &paths);
    let json = serde_json::to_vec_pretty(&spec).map_err(|e| e.to_string())?;
    std::fs::write(&paths.spec_file, json)
        .map_err(|e| format!("failed to write {}: {e}", paths.spec_file.display()))?;
    backend_for(cell.settings.sandbox).prepare(cell, &paths)?;
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

/// Reads the agent's events as they are written, until its result, the
/// sandbox's exit, the deadline or a shutdown request.
fn follow(sandbox: &mut Supervised, events_file: &Path, deadline: Instant) -> Followed {
    let mut followed = Followed::default();
    let mut reader = File::open(events_file).ok();
    let mut pending = Vec::new();
    let mut backoff = Duration::from_millis(1);
    loop {
        let exited = sandbox.try_wait();
        if let Some(file) = reader.as_mut() {
            let mut chunk = Vec::new();
            if file.read_to_end(&mut chunk).is_ok() && !chunk.is_empty() {
                pending.extend_from_slice(&chunk);
                backoff = Duration::from_millis(1);
            }
        }
        while let Some(newline) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=newline).collect();
            match parse_event(String::from_utf8_lossy(&line).trim_end()) {
                Some(AgentEvent::Started) => followed.started_at = Some(Instant::now()),
                Some(AgentEvent::Result(result)) => {
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
        backoff = (backoff * 2).min(Duration::from_millis(10));
    }
}

fn apply_verdict(result: &mut CellResult, followed: Followed, cell: &Cell) {
    if let Some(agent) = followed.result {
        result.outcome = agent.outcome;
        result.detail = agent.detail;
        result.dockerd = agent.dockerd;
        result.cgroups = Some(agent.cgroups);
        result.timings_ms.agent_setup = Some(agent.setup_ms);
        result.timings_ms.doctor = agent.doctor_ms;
        result.timings_ms.dockerd_start_to_api = agent.dockerd_start_to_api_ms;
        result.timings_ms.dockerd_start_to_exit = agent.dockerd_start_to_exit_ms;
        result.timings_ms.info = agent.info_ms;
        result.timings_ms.container = agent.container_ms;
        result.doctor = agent.doctor;
        if let Some(exit) = agent.dockerd_exit
            && result.outcome == Outcome::DaemonFailed
        {
            let detail = format!("dockerd exited with {exit}");
            result.detail = Some(detail);
        }
    } else if followed.interrupted {
        result.outcome = Outcome::Error;
        result.detail = Some("interrupted before a verdict".to_owned());
    } else if followed.timed_out {
        result.outcome = Outcome::Timeout;
        result.detail = Some(format!(
            "no verdict from the sandbox within {} s",
            cell.settings.timeout_secs + SANDBOX_ALLOWANCE.as_secs()
        ));
    } else {
        result.outcome = Outcome::Error;
        result.detail = Some(format!(
            "the sandbox exited with {} before the agent gave a verdict",
            followed.exit.as_deref().unwrap_or("an unknown status")
        ));
    }
}

/// Removes what is left of a cell and returns a line per leak.
fn sweep_cell(marker: &str, pgid: Option<i32>, paths: &CellPaths) -> Vec<String> {
    let mut leaked = Vec::new();
    let settle_until = Instant::now() + LEAK_SETTLE;
    while !sweep::find_marked(Marker::Cell(marker), pgid).is_empty()
        && Instant::now() < settle_until
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    for leftover in sweep::kill_leftovers(Marker::Cell(marker), pgid) {
        leaked.push(leftover.to_string());
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
) {
    let log = std::fs::read_to_string(&result.log).unwrap_or_default();
    result.timings_ms.dockerd_log_to_api_listen = logline::start_to_api_listen_ms(&log);
    if result.outcome == Outcome::DaemonFailed
        && let Some(verdict_at) = verdict_at
        && let Some(last) = log.lines().rev().find_map(|l| logline::parse(l).time)
    {
        let span = verdict_at.duration_since(last);
        result.timings_ms.last_log_line_to_verdict = u64::try_from(span.as_millis()).ok();
    }
    let classification: Classification = match result.outcome {
        Outcome::Ready | Outcome::ContainerOk => return,
        Outcome::DaemonFailed => signatures.classify_log(&log),
        Outcome::ContainerFailed => match &result.detail {
            Some(detail) => signatures.classify_message(detail),
            None => signatures.classify_log(&log),
        },
        Outcome::Timeout | Outcome::Error => {
            let sandbox_log = std::fs::read_to_string(&result.sandbox_log).unwrap_or_default();
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
