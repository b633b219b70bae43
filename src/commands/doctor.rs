//! `dindcheck doctor [-- DOCKERD ARGS…]`: read this environment and predict
//! what dockerd will hit here, with the flags that avoid it.
//!
//! Exit codes: 0 when dockerd is predicted to start, 1 when it is predicted
//! to fail; a stdout that went away is a normal exit.

use std::io::{self, Write};

use crate::doctor::{DoctorOptions, examine};
use crate::errors::{EXIT_EXPECTATION_FAILED, EXIT_OK, HarnessError};
use crate::report::doctor::{write_json, write_text};
use crate::report::stdout_error;

use super::Terminal;

/// `dindcheck doctor --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoctorFormat {
    /// A table for people.
    Text,
    /// One JSON document (schema dindcheck/doctor/v1).
    Json,
}

/// What `dindcheck doctor` was asked to predict.
#[derive(Debug, Clone)]
pub struct DoctorConfig {
    /// The dockerd command line to predict for (it may start with the
    /// binary); empty means dockerd's defaults.
    pub dockerd_argv: Vec<String>,
    /// Run the probes that need fresh namespaces (root).
    pub probes: bool,
    /// dockerd's `--version` line, when given (`--dockerd-version`).
    pub dockerd_version: Option<String>,
    /// What to print.
    pub format: DoctorFormat,
}

/// Runs `dindcheck doctor`; returns the exit code.
///
/// # Errors
/// [`HarnessError::Report`] when stdout fails for a reason other than a
/// broken pipe.
pub fn run(config: &DoctorConfig, terminal: &Terminal) -> Result<u8, HarnessError> {
    let options = DoctorOptions {
        dockerd_argv: config.dockerd_argv.clone(),
        probes: config.probes,
        dockerd_version: config.dockerd_version.clone(),
        ..DoctorOptions::default()
    };
    let report = examine(&options);
    let mut out = io::stdout().lock();
    let written = match config.format {
        DoctorFormat::Json => write_json(&report, &mut out),
        DoctorFormat::Text => write_text(&report, &terminal.stdout, &mut out),
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {}
        Err(source) => return Err(stdout_error(source).into()),
    }
    Ok(if report.prediction.daemon_starts() {
        EXIT_OK
    } else {
        EXIT_EXPECTATION_FAILED
    })
}
