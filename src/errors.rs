//! The top-level error type and the exit codes it maps to.
//!
//! Every layer keeps its own error enum; this file gathers them into
//! [`HarnessError`] for the commands and decides which exit code each one
//! means. It must not format messages for the terminal: `main` prints the
//! source chain and the hint.

use std::path::PathBuf;

use crate::agent::AgentError;
use crate::analysis::diff::DiffError;
use crate::analysis::merge::MergeError;
use crate::binaries::BinaryError;
use crate::report::ReportError;
use crate::sandbox::PreflightError;
use crate::scenario::LoadError;

/// Every cell ran and every expectation held (or there were none).
pub const EXIT_OK: u8 = 0;
/// At least one cell did not meet its expectation.
pub const EXIT_EXPECTATION_FAILED: u8 = 1;
/// The command line or a scenario file is wrong.
pub const EXIT_USAGE: u8 = 2;
/// The machine cannot run cells: not root, runsc or dockerd missing, or a
/// binary given as runsc that does not answer `--version` like runsc.
pub const EXIT_ENVIRONMENT: u8 = 3;
/// The run finished, but at least one cell could not run (outcome `error`:
/// the sandbox or the harness failed before dockerd gave a verdict). It wins
/// over [`EXIT_EXPECTATION_FAILED`], whatever the expectations say, so a CI
/// job with a broken runtime never passes.
pub const EXIT_CELLS_ERRORED: u8 = 4;
/// The run was interrupted by SIGINT or SIGTERM.
pub const EXIT_INTERRUPTED: u8 = 130;

/// A command-line value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// Some scenario files given to `validate` are invalid (each was reported).
    #[error("{bad} of {total} scenarios are invalid")]
    InvalidScenarios {
        /// How many are invalid.
        bad: usize,
        /// How many were given.
        total: usize,
    },
    /// A `--filter` is not `AXIS=VALUE`.
    #[error("--filter `{filter}` is not AXIS=VALUE")]
    FilterSyntax {
        /// The flag's value.
        filter: String,
    },
    /// A `--filter` names an axis or value the matrix does not have.
    #[error("--filter: {detail}")]
    FilterUnknown {
        /// Which axis or value, and the known ones.
        detail: String,
    },
    /// A scenario expands past the hard limit.
    #[error(
        "scenario `{scenario}` expands to more than {limit} cells; split it or narrow its axes"
    )]
    MatrixTooLarge {
        /// The scenario.
        scenario: String,
        /// The hard limit.
        limit: usize,
    },
    /// More cells selected than `--max-cells` allows.
    #[error(
        "scenario `{scenario}` selects {selected} of its {size} cells, more than --max-cells \
         {max}; pass --max-cells {selected} to confirm, or narrow it with --filter or --shard"
    )]
    TooManyCells {
        /// The scenario.
        scenario: String,
        /// Cells selected.
        selected: usize,
        /// The full matrix.
        size: usize,
        /// `--max-cells`.
        max: usize,
    },
    /// Two values of one axis resolve to the same label.
    #[error("two values of axis `{axis}` are both labelled `{label}`; name them with LABEL=PATH")]
    DuplicateLabel {
        /// The axis.
        axis: String,
        /// The shared label.
        label: String,
    },
    /// A scenario has no cells after its selectors and `--filter`.
    #[error("scenario `{scenario}` has no cells left after include/exclude and --filter")]
    NoCells {
        /// The scenario.
        scenario: String,
    },
    /// `--update-expectations` with a narrowed matrix.
    #[error(
        "--update-expectations needs the full matrix; drop --filter, --shard and --rerun-failed"
    )]
    UpdateNeedsFullMatrix,
    /// `--rerun-failed` with a report of another scenario.
    #[error("--rerun-failed: the report is of scenario `{report}`, not `{scenario}`")]
    RerunOtherScenario {
        /// The report's scenario.
        report: String,
        /// The scenario being run.
        scenario: String,
    },
    /// `list --shards 0`.
    #[error("--shards must be at least 1")]
    ZeroShards,
    /// `__doctor-probe` got a plan that is not valid JSON.
    #[error("__doctor-probe: bad plan")]
    ProbePlan(#[source] serde_json::Error),
}

/// What the machine lacks for the command.
#[derive(Debug, thiserror::Error)]
pub enum EnvironmentError {
    /// The command needs root.
    #[error("dindcheck {command} needs root")]
    NotRoot {
        /// The subcommand.
        command: &'static str,
    },
    /// runsc, dockerd or another binary is missing or does not run.
    #[error(transparent)]
    Binary(#[from] BinaryError),
    /// A sandbox backend's program is missing.
    #[error(transparent)]
    Backend(#[from] PreflightError),
    /// The container probe's binary is missing or not static.
    #[error("{} is missing or not a static binary (the container probe needs one)", path.display())]
    ProbeBinary {
        /// The file.
        path: PathBuf,
    },
    /// The registry the `pull` depth needs is missing.
    #[error("{} is missing (the pull probe runs a registry on loopback in the sandbox)", path.display())]
    Registry {
        /// The file.
        path: PathBuf,
    },
}

impl EnvironmentError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        use crate::binaries::install_hint;
        match self {
            EnvironmentError::NotRoot { command: "run" } => {
                "runsc, the sandbox's namespaces and the agent's mounts need root; run it as \
                 root (e.g. with sudo); `dindcheck validate` and `list` do not"
                    .to_owned()
            }
            EnvironmentError::NotRoot { .. } => {
                "a dead run's processes and mounts belong to root; run it as root".to_owned()
            }
            EnvironmentError::Binary(crate::binaries::BinaryError::NotRunsc { .. }) => {
                "give --runsc (or the scenario's runsc.binaries) the path of a runsc binary, \
                 e.g. /usr/bin/runsc from `apt-get install runsc`"
                    .to_owned()
            }
            EnvironmentError::Binary(err) => install_hint(&err.name()),
            EnvironmentError::Backend(PreflightError::MissingProgram { program, .. }) => {
                install_hint(program)
            }
            EnvironmentError::ProbeBinary { .. } => install_hint("busybox"),
            EnvironmentError::Registry { .. } => install_hint("docker-registry"),
        }
    }
}

/// A report given as input that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Unreadable, or not a report.
    #[error("cannot use {} as a report", path.display())]
    Report {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: ReportError,
    },
    /// A `--pair` is malformed.
    #[error("bad --pair")]
    Pair(#[source] DiffError),
    /// Two reports that cannot be compared.
    #[error("cannot compare {} with {}", base.display(), new.display())]
    Diff {
        /// The baseline.
        base: PathBuf,
        /// The new report.
        new: PathBuf,
        /// Why.
        #[source]
        source: DiffError,
    },
    /// Shard reports that cannot be merged.
    #[error("cannot merge the shard reports")]
    Merge(#[source] MergeError),
}

/// A fault of the harness or its input, as opposed to a daemon that failed
/// (which is data in the report, never an error).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A scenario could not be read, parsed or validated.
    #[error(transparent)]
    Scenario(#[from] LoadError),
    /// A command-line value is wrong.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// The machine lacks something the command needs.
    #[error(transparent)]
    Environment(#[from] EnvironmentError),
    /// A report could not be written.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A report given as input cannot be used (boxed: its causes are large).
    #[error(transparent)]
    Input(Box<InputError>),
    /// The run's scratch space could not be prepared.
    #[error("failed to prepare {path}")]
    Scratch {
        /// The directory or file that could not be created.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The harness could not install its signal handlers or subreaper.
    #[error("failed to set up process supervision")]
    Supervision(#[source] nix::Error),
    /// The in-sandbox agent could not do its work.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// The run was interrupted; the partial report was written.
    #[error("interrupted")]
    Interrupted,
}

impl From<InputError> for HarnessError {
    fn from(err: InputError) -> HarnessError {
        HarnessError::Input(Box::new(err))
    }
}

impl HarnessError {
    /// The process exit code that this error stands for.
    pub fn exit_code(&self) -> u8 {
        match self {
            HarnessError::Scenario(_) | HarnessError::Usage(_) | HarnessError::Input(_) => {
                EXIT_USAGE
            }
            HarnessError::Interrupted => EXIT_INTERRUPTED,
            HarnessError::Environment(_)
            | HarnessError::Report(_)
            | HarnessError::Scratch { .. }
            | HarnessError::Supervision(_)
            | HarnessError::Agent(_) => EXIT_ENVIRONMENT,
        }
    }

    /// A line telling the user what to do, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            HarnessError::Environment(err) => Some(err.hint()),
            HarnessError::Agent(AgentError::EnterUserns(_)) => {
                Some("the sandbox must allow user namespaces".to_owned())
            }
            _ => None,
        }
    }
}
