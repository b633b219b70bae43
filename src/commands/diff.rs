//! `dindcheck diff BASE NEW`: the gVisor upgrade check. Exit 1 when a cell
//! regressed, 2 when the reports cannot be read or compared.

use std::path::PathBuf;

use crate::analysis::diff::{DiffOptions, Pair};
use crate::errors::{EXIT_EXPECTATION_FAILED, EXIT_OK, HarnessError, InputError};
use crate::report::ignore_broken_pipe;

use super::{AnalysisFormat, Terminal, read_report};

/// What `dindcheck diff` was asked to compare.
#[derive(Debug, Clone)]
pub struct DiffConfig {
    /// The baseline report.
    pub base: PathBuf,
    /// The new report.
    pub new: PathBuf,
    /// Renamed values to match, as given (`[AXIS:]OLD=NEW`).
    pub pairs: Vec<String>,
    /// Compare even when the scenario names differ.
    pub force: bool,
    /// What to print.
    pub format: AnalysisFormat,
}

/// Runs `dindcheck diff`.
///
/// # Errors
/// Unreadable reports, bad `--pair`s and reports that cannot be compared.
pub fn run(config: &DiffConfig, terminal: &Terminal) -> Result<u8, HarnessError> {
    let base = read_report(&config.base)?;
    let new = read_report(&config.new)?;
    let pairs = config
        .pairs
        .iter()
        .map(|p| Pair::parse(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(InputError::Pair)?;
    let options = DiffOptions {
        pairs,
        force: config.force,
    };
    let result =
        crate::analysis::diff::diff(&base, &new, &options).map_err(|source| InputError::Diff {
            base: config.base.clone(),
            new: config.new.clone(),
            source,
        })?;
    let mut out = std::io::stdout().lock();
    let written = match config.format {
        AnalysisFormat::Text => {
            crate::report::diff::write_text(&result, &terminal.stdout, &mut out)
        }
        AnalysisFormat::Json => crate::report::diff::write_json(&result, &mut out),
        AnalysisFormat::Markdown => crate::report::diff::write_markdown(&result, &mut out),
    };
    ignore_broken_pipe(written)?;
    Ok(if result.has_regression() {
        EXIT_EXPECTATION_FAILED
    } else {
        EXIT_OK
    })
}
