//! The doctor's entry points: `dindcheck doctor [-- DOCKERD ARGS…]`, the
//! hidden `dindcheck __doctor-probe PLAN` (the probes for a caller that
//! cannot fork), and the in-sandbox call the agent makes for every cell
//! before it starts dockerd.
//!
//! Exit codes of `doctor`: 0 when dockerd is predicted to start, 1 when it is
//! predicted to fail; a stdout that went away is a normal exit.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use super::gather::{DoctorOptions, ProbeProcess, VersionQueries, examine};
use super::probe::{ProbePlan, run_child};
use super::render::{write_json, write_text};
use crate::cli::{DoctorArgs, DoctorFormat};
use crate::errors::{EXIT_EXPECTATION_FAILED, EXIT_OK, HarnessError};
use crate::process::envprobe::{self, ForkError};
use crate::report::styles::Styles;
use crate::report_format::doctor::DoctorReport;

/// Runs `dindcheck doctor`; returns the exit code.
///
/// # Errors
/// [`HarnessError::Report`] when stdout fails for a reason other than a
/// broken pipe.
pub fn run(args: &DoctorArgs, styles: &Styles) -> Result<u8, HarnessError> {
    let mut argv: Vec<String> = args
        .dockerd_args
        .as_deref()
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    argv.extend(args.dockerd.iter().cloned());
    let options = DoctorOptions {
        dockerd_argv: argv,
        probes: !args.no_probes,
        ..DoctorOptions::default()
    };
    let report = examine(&options);
    let mut out = io::stdout().lock();
    let written = match args.format {
        DoctorFormat::Json => write_json(&report, &mut out),
        DoctorFormat::Text => write_text(&report, styles, &mut out),
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {}
        Err(source) => {
            return Err(HarnessError::Report(crate::report::ReportError::Write {
                path: "-".into(),
                source,
            }));
        }
    }
    Ok(if report.prediction.daemon_starts() {
        EXIT_OK
    } else {
        EXIT_EXPECTATION_FAILED
    })
}

/// Runs `dindcheck __doctor-probe PLAN`: the probes, in fresh namespaces,
/// with one JSON report on stdout.
///
/// # Errors
/// [`HarnessError::Usage`] for a plan that is not valid JSON.
pub fn run_probe_child(plan: &str) -> Result<u8, HarnessError> {
    let plan: ProbePlan = serde_json::from_str(plan).map_err(|err| HarnessError::Usage {
        message: format!("__doctor-probe: bad plan: {err}"),
    })?;
    let report = run_child(&plan);
    let json = serde_json::to_string(&report).map_err(crate::report::ReportError::Serialize)?;
    let mut out = io::stdout().lock();
    match writeln!(out, "{json}").and_then(|()| out.flush()) {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => {
            Err(HarnessError::Report(crate::report::ReportError::Write {
                path: "-".into(),
                source: err,
            }))
        }
        _ => Ok(EXIT_OK),
    }
}

/// What the agent asks the doctor for, inside a cell's sandbox.
#[derive(Debug, Clone)]
pub struct CellRequest<'a> {
    /// The cell's complete dockerd command line.
    pub dockerd_argv: &'a [String],
    /// The environment dockerd will get (its PATH decides which iptables,
    /// containerd and runc it finds).
    pub env: &'a [(OsString, OsString)],
    /// When dockerd will run in a new user namespace, the number of ids its
    /// `__userns-exec` wrapper maps (`0..n` onto themselves): the doctor then
    /// runs in the same kind of namespace.
    pub userns: Option<u32>,
    /// A scratch directory for the doctor's files (the cell's work tmpfs).
    pub scratch: &'a Path,
    /// How long the doctor may take.
    pub timeout: Duration,
}

/// Why the in-sandbox doctor gave no report.
#[derive(Debug, thiserror::Error)]
pub enum CellDoctorError {
    /// Its child failed, hung, or could not be forked.
    #[error("the doctor's child failed")]
    Child(#[source] ForkError),
    /// It sent something that is not a report.
    #[error("the doctor's child sent no report: {answer}")]
    NoReport {
        /// The start of what it sent.
        answer: String,
    },
}

/// Examines the cell's sandbox as dockerd will find it and returns the
/// report: `dindcheck doctor --format json -- DOCKERD ARGV`, run in one
/// forked copy of the (single-threaded) agent rather than a new process,
/// with dockerd's environment, in a user namespace when dockerd gets one,
/// and with only the `--version` queries that can change the prediction
/// ([`VersionQueries::Predictive`]). The copy reads /proc first and then
/// runs the probes itself, in fresh namespaces of its own
/// ([`ProbeProcess::Current`]): inside gVisor every process saved is
/// milliseconds, every exec saved tens of them, per cell.
///
/// # Errors
/// [`CellDoctorError`] when the caller is not single-threaded, or the
/// doctor fails, hangs, or sends no report.
pub fn examine_cell(request: &CellRequest<'_>) -> Result<DoctorReport, CellDoctorError> {
    let options = DoctorOptions {
        dockerd_argv: request.dockerd_argv.to_vec(),
        versions: VersionQueries::Predictive,
        probe_process: ProbeProcess::Current,
        ..DoctorOptions::default()
    };
    let mut env: Vec<(OsString, OsString)> = request.env.to_vec();
    // The probes' tmpfs and any version query's files go there.
    env.push(("TMPDIR".into(), request.scratch.as_os_str().to_owned()));
    let userns = request.userns;
    let child = envprobe::fork_with(&env, || {
        if let Some(ids) = userns {
            crate::process::userns::enter_mapped_userns(ids)
                .map_err(|err| crate::error_text::error_chain(&err))?;
        }
        serde_json::to_vec(&examine(&options)).map_err(|err| err.to_string())
    })
    .map_err(CellDoctorError::Child)?;
    let answer = child
        .finish(request.timeout)
        .map_err(CellDoctorError::Child)?;
    serde_json::from_slice(&answer).map_err(|_| CellDoctorError::NoReport {
        answer: String::from_utf8_lossy(&answer).chars().take(200).collect(),
    })
}
