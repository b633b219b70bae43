//! `dindcheck run`: prepare the matrices, check the machine, run every
//! cell, write each scenario's report and print it, then the `--junit` and
//! `--markdown` files over all scenarios.
//!
//! Exit codes: 0 when every expectation held, 1 when one did not (or a cell
//! was flaky, or with `--strict` a cell no rule covers), 2 for usage
//! errors, 3 for environment errors (a runsc that does not answer like one
//! included), 4 when a cell could not run (`error`, whatever the
//! expectations say), 130 when interrupted (the partial report is written).

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::classify::SignatureSet;
use crate::errors::{
    EXIT_CELLS_ERRORED, EXIT_EXPECTATION_FAILED, EXIT_OK, EnvironmentError, HarnessError,
    UsageError,
};
use crate::matrix::Cell;
use crate::process::signals::{self, Shutdown, shutdown_level};
use crate::process::{stale, sweep};
use crate::report::junit::{JunitOptions, JunitPolicy};
use crate::report::progress::{Progress, ProgressMode};
use crate::report::{self, Destination, Format, Output, RenderContext, json};
use crate::report_format::{HostInfo, Outcome, RunReport, SCHEMA, ScenarioInfo};
use crate::runner::RunContext;
use crate::sandbox::backend_for;
use crate::scenario::{Depth, ExpectationRule, replace_expectations};
use crate::schedule::{self, Schedule};

use super::Terminal;
use super::cleanup::describe_cleaned;
use super::prepare::{MatrixConfig, Prepared, prepare};

/// What every selected cell gets on top of its scenario's settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct CellOverrides {
    /// `--depth`: override the scenarios' probe depth.
    pub depth: Option<Depth>,
    /// `--timeout`: override the scenarios' probe timeout, in seconds.
    pub timeout_secs: Option<u64>,
    /// Run the doctor inside each cell (off with `--no-doctor`).
    pub doctor: bool,
}

/// What `dindcheck run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Scenarios, runsc binaries and filters.
    pub matrix: MatrixConfig,
    /// Depth, timeout and doctor for every cell.
    pub cells: CellOverrides,
    /// Cells at once, and retries of a failed cell.
    pub schedule: Schedule,
    /// How long a sandbox gets between SIGTERM and SIGKILL at teardown
    /// (a second Ctrl-C skips it).
    pub grace: Duration,
    /// Where each cell's logs and the scenario's report.json go; with
    /// several scenarios, one folder each below it. None means
    /// `reports/<scenario>/<stamp>/`.
    pub out: Option<PathBuf>,
    /// What stdout shows ([`Format::Table`] or [`Format::Json`]), and the
    /// extra files over all scenarios (`--junit`, `--markdown`).
    pub outputs: Vec<Output>,
    /// Which cells JUnit marks as failed.
    pub junit_policy: JunitPolicy,
    /// No progress on stderr.
    pub quiet: bool,
    /// Run only the cells that failed, missed their expectation or were
    /// flaky in this earlier report of the same scenario.
    pub rerun_failed: Option<PathBuf>,
    /// Rewrite each scenario's `expect:` block from this run.
    pub update_expectations: bool,
    /// A cell that no `expect:` rule covers fails the run (exit 1).
    pub strict: bool,
}

/// Runs `dindcheck run`; returns the exit code.
///
/// # Errors
/// [`HarnessError`] for usage, scenario and environment faults, and
/// [`HarnessError::Interrupted`] after a signal.
pub fn run(config: &RunConfig, terminal: &Terminal) -> Result<u8, HarnessError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(EnvironmentError::NotRoot { command: "run" }.into());
    }
    let signatures = SignatureSet::shared();
    let mut prepared = prepare(&config.matrix, signatures, true)?;
    let narrowed = config.matrix.shard.is_some()
        || config.rerun_failed.is_some()
        || !config.matrix.filter.is_empty();
    if config.update_expectations && narrowed {
        return Err(UsageError::UpdateNeedsFullMatrix.into());
    }
    let rerun = match &config.rerun_failed {
        Some(path) => Some(json::read(path)?),
        None => None,
    };
    for p in &mut prepared {
        if let Some(previous) = &rerun {
            p.cells = failed_cells_of(previous, &p.scenario.name, std::mem::take(&mut p.cells))?;
        }
        // The expectations were measured at the scenario's own depth: at
        // another, a `ready` cell is `container-ok` or `container-failed`,
        // so they do not apply (the cells count as uncovered).
        let other_depth = config.cells.depth.filter(|d| *d != p.scenario.depth);
        if other_depth.is_some() && p.cells.iter().any(|c| c.expectation.is_some()) && !config.quiet
        {
            eprintln!(
                "note: {}'s expect: rules were written for depth {}; they do not apply at \
                 --depth {}",
                p.scenario.name,
                p.scenario.depth,
                config.cells.depth.unwrap_or_default()
            );
        }
        for cell in &mut p.cells {
            if let Some(depth) = config.cells.depth {
                cell.settings.depth = depth;
            }
            if other_depth.is_some() {
                cell.expectation = None;
            }
            if let Some(timeout) = config.cells.timeout_secs {
                cell.settings.timeout_secs = timeout;
            }
            cell.settings.doctor = config.cells.doctor;
        }
        preflight(p, config.matrix.shard.is_some())?;
    }
    signals::install().map_err(HarnessError::Supervision)?;
    sweep::become_subreaper().map_err(HarnessError::Supervision)?;
    let jobs = config.schedule.jobs.max(1);
    let cleaned = stale::clean_stale_runs();
    if !cleaned.is_empty() && !config.quiet {
        eprintln!("{}", describe_cleaned(&cleaned));
    }
    let stale::Scratch {
        dir: scratch,
        run_id,
    } = stale::create_scratch().map_err(|source| HarnessError::Scratch {
        path: PathBuf::from(stale::SCRATCH_PARENT).join(format!("{}*", stale::SCRATCH_PREFIX)),
        source,
    })?;
    let agent_exe = std::env::current_exe().map_err(|source| HarnessError::Scratch {
        path: PathBuf::from("/proc/self/exe"),
        source,
    })?;
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let several = prepared.len() > 1;
    let progress_mode = if config.quiet {
        ProgressMode::Quiet
    } else if std::io::stderr().is_terminal() {
        ProgressMode::Bar(terminal.stderr)
    } else {
        ProgressMode::Lines(terminal.stderr)
    };
    let render = RenderContext {
        signatures,
        styles: terminal.stdout,
        junit: JunitOptions {
            policy: config.junit_policy,
            ..JunitOptions::default()
        },
    };
    // Several scenarios print one JSON document per line on stdout.
    let (stdout, files): (Vec<Output>, Vec<Output>) = config
        .outputs
        .iter()
        .cloned()
        .map(|mut output| {
            if several && output.format == Format::Json {
                output.format = Format::JsonLines;
            }
            output
        })
        .partition(|o| o.destination == Destination::Stdout);
    let mut exit = EXIT_OK;
    let mut reports = Vec::new();
    let mut interrupted = false;
    for p in &prepared {
        let out_dir = match &config.out {
            Some(dir) if several => dir.join(&p.scenario.name),
            Some(dir) => dir.clone(),
            None => Path::new("reports").join(&p.scenario.name).join(&stamp),
        };
        let ctx = RunContext {
            run_id: format!("{run_id}.{}", p.scenario.name),
            scratch: scratch.clone(),
            out_dir: out_dir.clone(),
            agent_exe: agent_exe.clone(),
            signatures,
            grace: config.grace,
            runsc_versions: &p.runsc_versions,
            dockerd_versions: &p.dockerd_versions,
        };
        let started_at = jiff::Timestamp::now().to_string();
        let progress = Progress::new(progress_mode, p.cells.len(), &p.scenario.name);
        let schedule = Schedule {
            jobs,
            ..config.schedule
        };
        let ran = schedule::run_all(&ctx, &p.cells, schedule, &progress);
        let report = RunReport {
            schema: SCHEMA.to_owned(),
            scenario: scenario_info(p),
            started_at,
            host: HostInfo {
                kernel: nix::sys::utsname::uname()
                    .map(|u| u.release().to_string_lossy().into_owned())
                    .unwrap_or_default(),
                jobs,
                most_at_once: Some(ran.most_at_once),
            },
            interrupted: shutdown_level() != Shutdown::None,
            cells: ran.results,
        };
        let report_path = out_dir.join("report.json");
        let mut outputs = vec![Output {
            format: Format::Json,
            destination: Destination::File(report_path.clone()),
        }];
        outputs.extend(stdout.iter().cloned());
        report::emit(std::slice::from_ref(&report), &outputs, &render)?;
        if !config.quiet {
            eprintln!("report: {}", report_path.display());
        }
        let errors = report
            .cells
            .iter()
            .filter(|c| c.outcome == Outcome::Error)
            .count();
        if config.update_expectations && !report.interrupted {
            // A cell that could not run says nothing about dockerd: never
            // bless it as what the scenario expects.
            if errors > 0 {
                eprintln!(
                    "expectations not written to {}: {errors} cells could not run",
                    p.scenario.path.display()
                );
            } else {
                update_expectations(&p.scenario.path, &report)?;
                if !config.quiet {
                    eprintln!("expectations written to {}", p.scenario.path.display());
                }
            }
        }
        let uncovered = report.uncovered_cells();
        if uncovered > 0 && (config.strict || !config.quiet) {
            eprintln!(
                "{}: {uncovered} of {} cells are covered by no expect: rule{}",
                p.scenario.name,
                report.cells.len(),
                if config.strict {
                    " (--strict: the run fails)"
                } else {
                    ""
                }
            );
        }
        exit = exit.max(exit_code(&report, config.strict));
        let stop = report.interrupted;
        reports.push(report);
        if stop {
            interrupted = true;
            break;
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    report::emit(&reports, &files, &render)?;
    if interrupted {
        return Err(HarnessError::Interrupted);
    }
    Ok(exit)
}

/// The exit code one scenario's report stands for: a cell that could not
/// run ([`EXIT_CELLS_ERRORED`]) wins over any expectation, then an unmet
/// expectation or flaky cell, then (with `strict`) an uncovered cell.
fn exit_code(report: &RunReport, strict: bool) -> u8 {
    if report.cells.iter().any(|c| c.outcome == Outcome::Error) {
        EXIT_CELLS_ERRORED
    } else if report.has_failed_expectation() || (strict && report.uncovered_cells() > 0) {
        EXIT_EXPECTATION_FAILED
    } else {
        EXIT_OK
    }
}

/// The scenario facts a report repeats, with every axis's values in
/// matrix order (so `merge` and `diff` need not reconstruct them).
fn scenario_info(p: &Prepared) -> ScenarioInfo {
    ScenarioInfo {
        name: p.scenario.name.clone(),
        path: p.scenario.path.clone(),
        description: p.scenario.description.clone(),
        sandbox: p.scenario.sandbox.to_string(),
        depth: p
            .cells
            .first()
            .map_or(p.scenario.depth, |c| c.settings.depth)
            .to_string(),
        axes: p.axes.iter().map(|a| a.name.clone()).collect(),
        axis_values: p
            .axes
            .iter()
            .map(|a| {
                let labels = a.values.iter().map(|v| v.label.clone()).collect();
                (a.name.clone(), labels)
            })
            .collect(),
    }
}

/// Checks what the cells need before any of them starts.
fn preflight(p: &Prepared, sharded: bool) -> Result<(), HarnessError> {
    // A shard of a small matrix may be empty; that is not a mistake.
    if p.cells.is_empty() && !sharded {
        return Err(UsageError::NoCells {
            scenario: p.scenario.name.clone(),
        }
        .into());
    }
    backend_for(p.scenario.sandbox)
        .preflight()
        .map_err(EnvironmentError::Backend)?;
    for cell in &p.cells {
        if cell.settings.depth >= Depth::Container {
            let busybox = &cell.settings.busybox;
            if !crate::engine::image::is_static_elf(busybox).unwrap_or(false) {
                return Err(EnvironmentError::ProbeBinary {
                    path: busybox.clone(),
                }
                .into());
            }
        }
        if cell.settings.depth >= Depth::Pull {
            let registry = &cell.settings.registry;
            if crate::binaries::which(&registry.display().to_string()).is_none() {
                return Err(EnvironmentError::Registry {
                    path: registry.clone(),
                }
                .into());
            }
        }
    }
    Ok(())
}

/// The cells of `scenario` that failed or missed their expectation in an
/// earlier report, for `--rerun-failed`.
fn failed_cells_of(
    previous: &RunReport,
    scenario: &str,
    cells: Vec<Cell>,
) -> Result<Vec<Cell>, UsageError> {
    if previous.scenario.name != scenario {
        return Err(UsageError::RerunOtherScenario {
            report: previous.scenario.name.clone(),
            scenario: scenario.to_owned(),
        });
    }
    let failed: HashSet<&str> = previous
        .cells
        .iter()
        .filter(|c| c.outcome.is_failure() || c.expectation_met == Some(false) || c.flaky)
        .map(|c| c.id.as_str())
        .collect();
    Ok(cells
        .into_iter()
        .filter(|c| failed.contains(c.id.as_str()))
        .collect())
}

/// Rewrites the scenario's `expect:` block so each cell expects what it
/// just did (`--update-expectations`).
fn update_expectations(path: &Path, report: &RunReport) -> Result<(), HarnessError> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        HarnessError::Scenario(crate::scenario::LoadError::Read {
            path: path.to_owned(),
            source,
        })
    })?;
    let rules: Vec<ExpectationRule> = report
        .cells
        .iter()
        .map(|c| ExpectationRule {
            when: c.axes.clone(),
            outcome: c.outcome.name().to_owned(),
            signature: c.signature.clone().unwrap_or_else(|| "none".to_owned()),
        })
        .collect();
    let note = format!(
        "Written by `dindcheck run --update-expectations` from the run of {}.",
        report.started_at
    );
    let new = replace_expectations(&text, &rules, &note);
    let permissions = std::fs::metadata(path).map(|m| m.permissions()).ok();
    report::write_atomic(path, |out| {
        out.write_all(new.as_bytes())
            .map_err(|source| report::ReportError::Write {
                path: path.to_owned(),
                source,
            })
    })?;
    // The temporary file was created 0600; give the scenario its mode back.
    if let Some(permissions) = permissions {
        let _ = std::fs::set_permissions(path, permissions);
    }
    Ok(())
}
