//! `dindcheck explain REPORT`: which axis values are necessary, irrelevant
//! or fatal, each claim backed by the cells that show it.

use std::io::Write;
use std::path::PathBuf;

use crate::errors::{EXIT_OK, HarnessError};
use crate::report::{ReportError, ignore_broken_pipe, stdout_error};

use super::{AnalysisFormat, read_report};

/// What `dindcheck explain` was asked to explain.
#[derive(Debug, Clone)]
pub struct ExplainConfig {
    /// A report written by `dindcheck run`.
    pub report: PathBuf,
    /// What to print.
    pub format: AnalysisFormat,
}

/// Runs `dindcheck explain`.
///
/// # Errors
/// An unreadable report (exit 2).
pub fn run(config: &ExplainConfig) -> Result<u8, HarnessError> {
    let report = read_report(&config.report)?;
    let explanation = crate::analysis::explain::explain(&report);
    let mut out = std::io::stdout().lock();
    let written = match config.format {
        AnalysisFormat::Text => crate::report::explain::write_text(&explanation, &mut out),
        AnalysisFormat::Json => serde_json::to_writer_pretty(&mut out, &explanation)
            .map_err(ReportError::Serialize)
            .and_then(|()| writeln!(out).map_err(stdout_error)),
        AnalysisFormat::Markdown => {
            crate::report::explain::write_markdown(&explanation, "##", &mut out)
        }
    };
    ignore_broken_pipe(written)?;
    Ok(EXIT_OK)
}
