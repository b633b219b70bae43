//! The hidden subcommands dindcheck runs itself: `__agent SPEC` (inside a
//! cell's sandbox), `__userns-exec PROGRAM…` (dockerd in a mapped user
//! namespace) and `__doctor-probe PLAN` (the doctor's probes for a caller
//! that cannot fork).

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::Path;

use crate::doctor::{ProbePlan, run_probe_plan};
use crate::errors::{EXIT_OK, HarnessError, UsageError};
use crate::report::{ReportError, stdout_error};

/// `__agent SPEC`.
///
/// # Errors
/// [`HarnessError::Agent`] when the spec cannot be read; every later
/// failure is part of the agent's result.
pub fn agent(spec: &Path) -> Result<u8, HarnessError> {
    crate::agent::run_agent(spec)?;
    Ok(EXIT_OK)
}

/// `__userns-exec PROGRAM…`: returns only on failure.
pub fn userns_exec(argv: &[OsString]) -> HarnessError {
    crate::agent::userns_exec(argv).into()
}

/// `__doctor-probe PLAN`: the probes, in fresh namespaces, with one JSON
/// report on stdout.
///
/// # Errors
/// [`UsageError::ProbePlan`] for a plan that is not valid JSON.
pub fn doctor_probe(plan: &str) -> Result<u8, HarnessError> {
    let plan: ProbePlan = serde_json::from_str(plan).map_err(UsageError::ProbePlan)?;
    let report = run_probe_plan(&plan);
    let json = serde_json::to_string(&report).map_err(ReportError::Serialize)?;
    let mut out = io::stdout().lock();
    match writeln!(out, "{json}").and_then(|()| out.flush()) {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => Err(stdout_error(err).into()),
        _ => Ok(EXIT_OK),
    }
}
