//! The in-sandbox call the agent makes for every cell before it starts
//! dockerd: the doctor in a forked copy of the agent, with dockerd's
//! environment.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::gather::{DoctorOptions, ProbeProcess, VersionQueries, examine};
use crate::process::envprobe::{self, ForkError};
use crate::report_format::doctor::DoctorReport;

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
    /// `dockerd --version` of the cell's dockerd, known on the host: the
    /// doctor predicts for that release without running it.
    pub dockerd_version: Option<&'a str>,
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
        dockerd_version: request.dockerd_version.map(str::to_owned),
        prove: false,
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
