//! The subcommands, one file each. `cli.rs` turns the command line into
//! one [`Command`] with a validated config; [`dispatch`] runs it. Nothing
//! below this floor sees clap, and nothing here parses flags.

pub mod cleanup;
pub mod diff;
pub mod doctor;
pub mod explain;
pub mod internal;
pub mod list;
pub mod merge;
pub mod prepare;
pub mod run;
pub mod triage;
pub mod validate;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::errors::{HarnessError, InputError};
use crate::report::json;
use crate::report::styles::Styles;
use crate::report_format::RunReport;

/// A subcommand with its validated configuration.
#[derive(Debug, Clone)]
pub enum Command {
    /// `run`.
    Run(run::RunConfig),
    /// `list`.
    List(list::ListConfig),
    /// `validate`.
    Validate(validate::ValidateConfig),
    /// `cleanup`.
    Cleanup,
    /// `diff`.
    Diff(diff::DiffConfig),
    /// `explain`.
    Explain(explain::ExplainConfig),
    /// `merge`.
    Merge(merge::MergeConfig),
    /// `triage`.
    Triage(triage::TriageConfig),
    /// `doctor`.
    Doctor(doctor::DoctorConfig),
    /// `__doctor-probe PLAN`.
    DoctorProbe(String),
    /// `__userns-exec PROGRAM…`.
    UsernsExec(Vec<OsString>),
    /// `__agent SPEC`.
    Agent(PathBuf),
}

/// The terminal's colours, decided once from `--color`, `NO_COLOR` and
/// whether each stream is a terminal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Terminal {
    /// For results on stdout.
    pub stdout: Styles,
    /// For progress on stderr.
    pub stderr: Styles,
}

/// Output formats of the commands over finished reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalysisFormat {
    /// For people.
    Text,
    /// For tools.
    Json,
    /// For a PR comment.
    Markdown,
}

/// Runs `command`; returns the exit code.
///
/// # Errors
/// [`HarnessError`] for usage, scenario, input and environment faults.
pub fn dispatch(command: &Command, terminal: &Terminal) -> Result<u8, HarnessError> {
    match command {
        Command::Run(config) => run::run(config, terminal),
        Command::List(config) => list::run(config, terminal),
        Command::Validate(config) => validate::run(config),
        Command::Cleanup => cleanup::run(),
        Command::Diff(config) => diff::run(config, terminal),
        Command::Explain(config) => explain::run(config),
        Command::Merge(config) => merge::run(config),
        Command::Triage(config) => triage::run(config, terminal),
        Command::Doctor(config) => doctor::run(config, terminal),
        Command::DoctorProbe(plan) => internal::doctor_probe(plan),
        Command::UsernsExec(argv) => Err(internal::userns_exec(argv)),
        Command::Agent(spec) => internal::agent(spec),
    }
}

/// Reads a report given on the command line; a bad one is an input error.
///
/// # Errors
/// [`InputError::Report`] naming the file.
pub fn read_report(path: &Path) -> Result<RunReport, HarnessError> {
    json::read(path).map_err(|source| {
        InputError::Report {
            path: path.to_owned(),
            source,
        }
        .into()
    })
}
