//! The top-level error type and the exit codes it maps to.
//!
//! Every module keeps its own error enum; this file only gathers them into
//! [`HarnessError`] and decides which exit code each one means. It must not
//! format messages for the terminal: `main` prints the source chain.

use std::path::PathBuf;

use crate::report::ReportError;
use crate::scenario::LoadError;

/// Every cell ran and every expectation held (or there were none).
pub const EXIT_OK: u8 = 0;
/// At least one cell did not meet its expectation.
pub const EXIT_EXPECTATION_FAILED: u8 = 1;
/// The command line or a scenario file is wrong.
pub const EXIT_USAGE: u8 = 2;
/// The machine cannot run cells: not root, runsc or dockerd missing.
pub const EXIT_ENVIRONMENT: u8 = 3;
/// The run was interrupted by SIGINT or SIGTERM.
pub const EXIT_INTERRUPTED: u8 = 130;

/// A fault of the harness or its input, as opposed to a daemon that failed
/// (which is data in the report, never an error).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A scenario could not be read, parsed or validated.
    #[error(transparent)]
    Scenario(#[from] LoadError),
    /// A command-line value is wrong.
    #[error("{message}")]
    Usage {
        /// What is wrong and what is accepted.
        message: String,
    },
    /// The machine lacks something the run needs.
    #[error("{message}")]
    Environment {
        /// What is missing.
        message: String,
        /// How to get it.
        hint: String,
    },
    /// A report could not be written.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A report given as input cannot be used (unreadable, not a report,
    /// reports that do not fit together).
    #[error("{message}")]
    Input {
        /// What was being done.
        message: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
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
    Agent(#[from] crate::agent::AgentError),
    /// The run was interrupted; the partial report was written.
    #[error("interrupted")]
    Interrupted,
}

impl HarnessError {
    /// The process exit code that this error stands for.
    pub fn exit_code(&self) -> u8 {
        match self {
            HarnessError::Scenario(_) | HarnessError::Usage { .. } | HarnessError::Input { .. } => {
                EXIT_USAGE
            }
            HarnessError::Environment { .. } => EXIT_ENVIRONMENT,
            HarnessError::Interrupted => EXIT_INTERRUPTED,
            HarnessError::Report(_)
            | HarnessError::Scratch { .. }
            | HarnessError::Supervision(_)
            | HarnessError::Agent(_) => EXIT_ENVIRONMENT,
        }
    }

    /// A line telling the user what to do, when there is one.
    pub fn hint(&self) -> Option<&str> {
        match self {
            HarnessError::Environment { hint, .. } => Some(hint),
            _ => None,
        }
    }
}
