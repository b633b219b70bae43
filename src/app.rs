//! Wires the stages: load → resolve → expand → run → report.
//!
//! This module decides what each subcommand does and in which order; it
//! owns no I/O details (those live in the stage modules) beyond choosing
//! where output goes.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::binaries::{self, Binary, install_hint, version_label};
use crate::classify::SignatureSet;
use crate::cli::{
    Cli, ColorChoice, Command, Format, JunitPolicyArg, ListArgs, ListFormat, MatrixArgs, RunArgs,
    parse_filters,
};
use crate::errors::{EXIT_EXPECTATION_FAILED, EXIT_OK, HarnessError};
use crate::matrix::{self, Cell};
use crate::process::signals::{self, Shutdown, shutdown_level};
use crate::process::{stale, sweep};
use crate::report::junit::{JunitOptions, JunitPolicy};
use crate::report::progress::{Progress, ProgressMode};
use crate::report::{self, json, styles::Styles, table};
use crate::report_commands::{ignore_broken_pipe, write_extra_reports};
use crate::report_format::{HostInfo, RunReport, SCHEMA, ScenarioInfo};
use crate::runner::RunContext;
use crate::scenario::{
    Axis, AxisValue, ExpectationRule, RUNSC_AXIS, SandboxKind, Scenario, ValueSpec, check_selector,
    load_scenario, replace_expectations, split_label,
};
use crate::schedule::{self, Schedule};

/// The scenario `run` and `list` use when none is given.
pub const DEFAULT_SCENARIO: &str = "scenarios/devices-cgroup.yaml";

/// Runs the parsed command line and returns the exit code.
///
/// # Errors
/// [`HarnessError`] for usage, scenario and environment faults.
pub fn run(cli: Cli) -> Result<u8, HarnessError> {
    let styles_for = |tty: bool| {
        let mut styles = Styles::default();
        let on = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        };
        if on {
            styles.colorize();
        }
        styles
    };
    let stdout_styles = styles_for(std::io::stdout().is_terminal());
    let stderr_styles = styles_for(std::io::stderr().is_terminal());
    match cli.command {
        Command::Agent { spec } => {
            crate::agent::run_agent(&spec)?;
            Ok(EXIT_OK)
        }
        Command::UsernsExec { argv } => Err(crate::agent::userns_exec(&argv).into()),
        Command::Cleanup => cleanup(),
        Command::Diff(args) => crate::report_commands::diff(&args, &stdout_styles),
        Command::Explain(args) => crate::report_commands::explain(&args),
        Command::Merge(args) => crate::report_commands::merge(&args),
        Command::Triage(args) => crate::triage::run(&args, &stdout_styles),
        Command::Doctor(args) => crate::doctor::run(&args, &stdout_styles),
        Command::DoctorProbe { plan } => crate::doctor::run_probe_child(&plan),
        Command::Validate(args) => validate(&args.scenarios),
        Command::List(args) => list(&args, &stdout_styles),
        Command::Run(args) => run_matrix(&args, &stdout_styles, &stderr_styles),
    }
}

fn validate(paths: &[PathBuf]) -> Result<u8, HarnessError> {
    let signatures = SignatureSet::builtin();
    let mut bad = 0;
    for path in paths {
        match load_scenario(path, &signatures.ids()) {
            Ok(scenario)
                if matrix::checked_size(&scenario.axes).is_none_or(|n| n > matrix::HARD_LIMIT) =>
            {
                bad += 1;
                eprintln!(
                    "error: {}: expands to more than {} cells; split it or narrow its axes",
                    path.display(),
                    matrix::HARD_LIMIT
                );
            }
            Ok(scenario) => {
                let cells = matrix::expand(&scenario, &scenario.axes, &[]).len();
                let runtime = match scenario.sandbox {
                    SandboxKind::Runsc => format!(" × {} runsc", scenario.runsc_binaries.len()),
                    SandboxKind::Native => String::new(),
                };
                println!("ok {} ({cells} cells{runtime})", path.display());
            }
            Err(err) => {
                bad += 1;
                crate::error_text::print_error_chain(&err);
            }
        }
    }
    if bad > 0 {
        return Err(HarnessError::Usage {
            message: format!("{bad} of {} scenarios are invalid", paths.len()),
        });
    }
    Ok(EXIT_OK)
}

/// A scenario with its runtime axis and binary labels resolved.
struct Prepared {
    scenario: Scenario,
    axes: Vec<Axis>,
    cells: Vec<Cell>,
    runsc_versions: HashMap<String, String>,
}

fn prepare(
    matrix_args: &MatrixArgs,
    signatures: &SignatureSet,
    strict: bool,
) -> Result<Vec<Prepared>, HarnessError> {
    let paths = if matrix_args.scenarios.is_empty() {
        vec![PathBuf::from(DEFAULT_SCENARIO)]
    } else {
        matrix_args.scenarios.clone()
    };
    let filter =
        parse_filters(&matrix_args.filter).map_err(|message| HarnessError::Usage { message })?;
    let mut prepared = Vec::new();
    for path in paths {
        let mut scenario = load_scenario(&path, &signatures.ids())?;
        let (axes, runsc_versions) = resolve_axes(&mut scenario, &matrix_args.runsc, strict)?;
        if !filter.is_empty() {
            // The runtime axis is resolved by now, so check its labels like
            // any other axis's (`check_selector` only waives them for a
            // runsc scenario's own selectors, written before resolution).
            check_selector(&axes, SandboxKind::Native, &filter).map_err(|message| {
                HarnessError::Usage {
                    message: format!("--filter: {message}"),
                }
            })?;
        }
        let filters: Vec<_> = (!filter.is_empty())
            .then(|| filter.clone())
            .into_iter()
            .collect();
        let size = matrix::checked_size(&axes).filter(|n| *n <= matrix::HARD_LIMIT);
        let Some(size) = size else {
            return Err(HarnessError::Usage {
                message: format!(
                    "scenario `{}` expands to more than {} cells; split it or narrow its axes",
                    scenario.name,
                    matrix::HARD_LIMIT
                ),
            });
        };
        let mut cells = matrix::expand(&scenario, &axes, &filters);
        if let Some(shard) = matrix_args.shard {
            cells = matrix::shard(cells, shard);
        }
        if cells.len() > matrix_args.max_cells {
            return Err(HarnessError::Usage {
                message: format!(
                    "scenario `{}` selects {} of its {size} cells, more than --max-cells {}; \
                     pass --max-cells {} to confirm, or narrow it with --filter or --shard",
                    scenario.name,
                    cells.len(),
                    matrix_args.max_cells,
                    cells.len()
                ),
            });
        }
        prepared.push(Prepared {
            scenario,
            axes,
            cells,
            runsc_versions,
        });
    }
    Ok(prepared)
}

/// Resolves binary paths and version labels, and appends the runtime axis.
/// With `strict`, a missing binary is an environment error; without it
/// (for `list`), the path stands in for the label.
fn resolve_axes(
    scenario: &mut Scenario,
    runsc_override: &[String],
    strict: bool,
) -> Result<(Vec<Axis>, HashMap<String, String>), HarnessError> {
    let locate = |name: &str| -> Result<Option<Binary>, HarnessError> {
        match binaries::locate(name) {
            Ok(binary) => Ok(Some(binary)),
            Err(err) if strict => Err(HarnessError::Environment {
                message: err.to_string(),
                hint: install_hint(name),
            }),
            Err(_) => Ok(None),
        }
    };
    if let Some(dockerd) = locate(&scenario.dockerd)? {
        scenario.dockerd = dockerd.path.display().to_string();
    }
    let mut axes = scenario.axes.clone();
    for axis in &mut axes {
        for value in &mut axis.values {
            let Some(path) = value.spec.dockerd.clone() else {
                continue;
            };
            if let Some(binary) = locate(&path)? {
                value.spec.dockerd = Some(binary.path.display().to_string());
                if value.label_from_version {
                    value.label = version_label(&binary.version).unwrap_or(path);
                }
            }
            value.label_from_version = false;
        }
        check_unique_labels(axis)?;
    }
    let mut versions = HashMap::new();
    if scenario.sandbox == SandboxKind::Runsc {
        let given = if runsc_override.is_empty() {
            scenario.runsc_binaries.clone()
        } else {
            runsc_override.to_vec()
        };
        let mut values = Vec::new();
        for text in given {
            let (label, path) = split_label(&text);
            let (path, version) = match locate(path)? {
                Some(binary) => (binary.path.display().to_string(), Some(binary.version)),
                None => (path.to_owned(), None),
            };
            let label = label
                .map(str::to_owned)
                .or_else(|| version.as_deref().and_then(version_label))
                .unwrap_or_else(|| path.clone());
            if let Some(version) = version {
                versions.insert(path.clone(), version);
            }
            values.push(AxisValue {
                label,
                spec: ValueSpec {
                    runsc: Some(path),
                    ..ValueSpec::default()
                },
                label_from_version: false,
            });
        }
        let axis = Axis {
            name: RUNSC_AXIS.to_owned(),
            values,
        };
        check_unique_labels(&axis)?;
        axes.push(axis);
    }
    Ok((axes, versions))
}

fn check_unique_labels(axis: &Axis) -> Result<(), HarnessError> {
    for (i, value) in axis.values.iter().enumerate() {
        if axis.values[..i].iter().any(|v| v.label == value.label) {
            return Err(HarnessError::Usage {
                message: format!(
                    "two values of axis `{}` are both labelled `{}`; name them with LABEL=PATH",
                    axis.name, value.label
                ),
            });
        }
    }
    Ok(())
}

fn list(args: &ListArgs, styles: &Styles) -> Result<u8, HarnessError> {
    let signatures = SignatureSet::builtin();
    let prepared = prepare(&args.matrix, &signatures, false)?;
    if args.shards == Some(0) {
        return Err(HarnessError::Usage {
            message: "--shards must be at least 1".to_owned(),
        });
    }
    let mut out = std::io::stdout().lock();
    let result: std::io::Result<()> = (|| {
        for p in &prepared {
            match args.format {
                ListFormat::Json => {
                    let cells: Vec<serde_json::Value> = p.cells.iter().map(cell_json).collect();
                    let doc = serde_json::json!({"scenario": p.scenario.name, "cells": cells});
                    writeln!(out, "{doc}")?;
                }
                ListFormat::GithubMatrix => {
                    writeln!(out, "{}", github_matrix(p, args.shards))?;
                }
                ListFormat::Table => {
                    use owo_colors::OwoColorize;
                    writeln!(
                        out,
                        "{} ({} of {} cells)",
                        p.scenario.name.style(styles.bold),
                        p.cells.len(),
                        matrix::full_size(&p.axes)
                    )?;
                    for cell in &p.cells {
                        writeln!(out, "  {}", cell.id)?;
                    }
                }
            }
        }
        Ok(())
    })();
    match result {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(HarnessError::Report(report::ReportError::Write {
                path: "-".into(),
                source: err,
            }))
        }
        _ => Ok(EXIT_OK),
    }
}

fn cell_json(c: &Cell) -> serde_json::Value {
    serde_json::json!({
        "id": c.id,
        "index": c.index,
        "axes": c.axes,
        "sandbox": c.settings.sandbox.to_string(),
        "runsc": c.settings.runsc,
        "runsc_flags": c.settings.runsc_flags,
        "cgroups": c.settings.cgroups.to_string(),
        "dockerd": c.settings.dockerd,
        "dockerd_args": c.settings.dockerd_args,
    })
}

/// The JSON a GitHub Actions `strategy.matrix` takes (`fromJSON(…)`): one
/// `include` entry per shard (`--shard` value) or per cell (its `--filter`
/// arguments and id).
fn github_matrix(p: &Prepared, shards: Option<usize>) -> serde_json::Value {
    let include: Vec<serde_json::Value> = match shards {
        Some(n) => (1..=n)
            .map(|k| serde_json::json!({"scenario": p.scenario.path, "shard": format!("{k}/{n}")}))
            .collect(),
        None => p
            .cells
            .iter()
            .map(|c| {
                let filter: Vec<String> = c
                    .axes
                    .iter()
                    .map(|(k, v)| format!("--filter={k}={v}"))
                    .collect();
                serde_json::json!({
                    "scenario": p.scenario.path,
                    "cell": c.id,
                    "filter": filter.join(" "),
                })
            })
            .collect(),
    };
    serde_json::json!({ "include": include })
}

fn run_matrix(
    args: &RunArgs,
    styles: &Styles,
    progress_styles: &Styles,
) -> Result<u8, HarnessError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(HarnessError::Environment {
            message: "dindcheck run needs root".to_owned(),
            hint: "runsc, the sandbox's namespaces and the agent's mounts need root; run it as \
                   root (e.g. with sudo); `dindcheck validate` and `list` do not"
                .to_owned(),
        });
    }
    let signatures = SignatureSet::builtin();
    let mut prepared = prepare(&args.matrix, &signatures, true)?;
    let narrowed = args.matrix.shard.is_some()
        || args.rerun_failed.is_some()
        || !args.matrix.filter.is_empty();
    if args.update_expectations && narrowed {
        return Err(HarnessError::Usage {
            message: "--update-expectations needs the full matrix; drop --filter, --shard and \
                      --rerun-failed"
                .to_owned(),
        });
    }
    let rerun = match &args.rerun_failed {
        Some(path) => Some(json::read(path)?),
        None => None,
    };
    for p in &mut prepared {
        if let Some(previous) = &rerun {
            p.cells = failed_cells_of(previous, &p.scenario.name, std::mem::take(&mut p.cells))?;
        }
        for cell in &mut p.cells {
            if let Some(depth) = args.depth {
                cell.settings.depth = depth.into();
            }
            if let Some(timeout) = args.timeout {
                cell.settings.timeout_secs = timeout.max(1);
            }
            cell.settings.doctor = !args.no_doctor;
        }
        preflight(p, args.matrix.shard.is_some())?;
    }
    signals::install().map_err(HarnessError::Supervision)?;
    sweep::become_subreaper().map_err(HarnessError::Supervision)?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let run_id = format!(
        "{}-{:x}",
        std::process::id(),
        jiff::Timestamp::now().as_millisecond() & 0xff_ffff
    );
    let scratch = PathBuf::from(format!("/tmp/dindcheck-{run_id}"));
    let cleaned = stale::clean_stale_runs();
    if !cleaned.is_empty() && !args.quiet {
        eprintln!("{}", describe_cleaned(&cleaned));
    }
    std::fs::create_dir_all(&scratch)
        .and_then(|()| stale::claim(&scratch))
        .map_err(|source| HarnessError::Scratch {
            path: scratch.clone(),
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
    let progress_mode = if args.quiet {
        ProgressMode::Quiet
    } else if std::io::stderr().is_terminal() {
        ProgressMode::Bar(*progress_styles)
    } else {
        ProgressMode::Lines(*progress_styles)
    };
    let mut exit = EXIT_OK;
    let mut reports = Vec::new();
    let mut interrupted = false;
    for p in &prepared {
        let out_dir = match &args.out {
            Some(dir) if several => dir.join(&p.scenario.name),
            Some(dir) => dir.clone(),
            None => Path::new("reports").join(&p.scenario.name).join(&stamp),
        };
        let ctx = RunContext {
            run_id: format!("{run_id}.{}", p.scenario.name),
            scratch: scratch.clone(),
            out_dir: out_dir.clone(),
            agent_exe: agent_exe.clone(),
            signatures: &signatures,
            grace: Duration::from_secs(args.grace),
            runsc_versions: &p.runsc_versions,
        };
        let started_at = jiff::Timestamp::now().to_string();
        let progress = Progress::new(progress_mode, p.cells.len(), &p.scenario.name);
        let schedule = Schedule {
            jobs,
            retries: args.retries,
        };
        let cells = schedule::run_all(&ctx, &p.cells, schedule, &progress);
        let report = RunReport {
            schema: SCHEMA.to_owned(),
            scenario: ScenarioInfo {
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
            },
            started_at,
            host: HostInfo {
                kernel: nix::sys::utsname::uname()
                    .map(|u| u.release().to_string_lossy().into_owned())
                    .unwrap_or_default(),
                jobs,
            },
            interrupted: shutdown_level() != Shutdown::None,
            cells,
        };
        let report_path = out_dir.join("report.json");
        report::write_atomic(&report_path, |w| json::write(&report, w))?;
        let printed = match args.format {
            Format::Json if several => {
                let line =
                    serde_json::to_string(&report).map_err(report::ReportError::Serialize)?;
                writeln!(std::io::stdout(), "{line}").map_err(|source| report::ReportError::Write {
                    path: "-".into(),
                    source,
                })
            }
            Format::Json => json::write(&report, &mut std::io::stdout().lock()),
            Format::Table => {
                let mut out = std::io::stdout().lock();
                table::write(&report, &signatures, styles, &mut out).and_then(|()| {
                    // The minimal-fix analysis is part of every table.
                    writeln!(out).map_err(|source| report::ReportError::Write {
                        path: "-".into(),
                        source,
                    })?;
                    crate::report::explain::write_text(
                        &crate::analysis::explain::explain(&report),
                        &mut out,
                    )
                })
            }
        };
        ignore_broken_pipe(printed)?;
        if !args.quiet {
            eprintln!("report: {}", report_path.display());
        }
        if args.update_expectations && !report.interrupted {
            update_expectations(&p.scenario.path, &report)?;
            if !args.quiet {
                eprintln!("expectations written to {}", p.scenario.path.display());
            }
        }
        if report.has_failed_expectation() {
            exit = EXIT_EXPECTATION_FAILED;
        }
        let stop = report.interrupted;
        reports.push(report);
        if stop {
            interrupted = true;
            break;
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let junit_options = JunitOptions {
        policy: match args.junit_policy {
            JunitPolicyArg::Auto => JunitPolicy::Auto,
            JunitPolicyArg::Expectations => JunitPolicy::Expectations,
            JunitPolicyArg::Outcomes => JunitPolicy::Outcomes,
        },
        ..JunitOptions::default()
    };
    write_extra_reports(
        &reports,
        args.junit.as_deref(),
        junit_options,
        args.markdown.as_deref(),
    )?;
    if interrupted {
        return Err(HarnessError::Interrupted);
    }
    Ok(exit)
}

/// Checks what the cells need before any of them starts.
fn preflight(p: &Prepared, sharded: bool) -> Result<(), HarnessError> {
    // A shard of a small matrix may be empty; that is not a mistake.
    if p.cells.is_empty() && !sharded {
        return Err(HarnessError::Usage {
            message: format!(
                "scenario `{}` has no cells left after include/exclude and --filter",
                p.scenario.name
            ),
        });
    }
    if p.scenario.sandbox == SandboxKind::Native && binaries::which("unshare").is_none() {
        return Err(HarnessError::Environment {
            message: "`unshare` not found (native cells need it)".to_owned(),
            hint: install_hint("unshare"),
        });
    }
    for cell in &p.cells {
        if cell.settings.depth == crate::scenario::Depth::Container {
            let busybox = &cell.settings.busybox;
            let is_static = crate::engine::image::is_static_elf(busybox).unwrap_or(false);
            if !is_static {
                return Err(HarnessError::Environment {
                    message: format!(
                        "{} is missing or not a static binary (the container probe needs one)",
                        busybox.display()
                    ),
                    hint: install_hint("busybox"),
                });
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
) -> Result<Vec<Cell>, HarnessError> {
    if previous.scenario.name != scenario {
        return Err(HarnessError::Usage {
            message: format!(
                "--rerun-failed: the report is of scenario `{}`, not `{scenario}`",
                previous.scenario.name
            ),
        });
    }
    let failed: std::collections::HashSet<&str> = previous
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

fn cleanup() -> Result<u8, HarnessError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(HarnessError::Environment {
            message: "dindcheck cleanup needs root".to_owned(),
            hint: "a dead run's processes and mounts belong to root; run it as root".to_owned(),
        });
    }
    let cleaned = stale::clean_stale_runs();
    println!("{}", describe_cleaned(&cleaned));
    Ok(EXIT_OK)
}

/// One paragraph about what a cleanup of dead runs removed.
fn describe_cleaned(cleaned: &stale::Cleaned) -> String {
    if cleaned.is_empty() {
        return "cleanup: no dead run left anything behind".to_owned();
    }
    let mut lines = vec![format!(
        "cleanup: removed what dead runs left: {} processes, {} mounts, {} directories",
        cleaned.processes.len(),
        cleaned.mounts.len(),
        cleaned.dirs.len()
    )];
    lines.extend(cleaned.processes.iter().map(|p| format!("  killed {p}")));
    lines.extend(
        cleaned
            .mounts
            .iter()
            .map(|m| format!("  unmounted {}", m.display())),
    );
    lines.extend(
        cleaned
            .dirs
            .iter()
            .map(|d| format!("  removed {}", d.display())),
    );
    lines.join("\n")
}
