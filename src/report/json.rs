//! The JSON report: `RunReport` serialised as is, one document.

use std::io::Write;
use std::path::Path;

use crate::report_format::RunReport;

use super::ReportError;

/// Writes `report` as pretty JSON followed by a newline.
///
/// # Errors
/// [`ReportError`] on serialisation or write failure.
pub fn write(report: &RunReport, out: &mut dyn Write) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(ReportError::Serialize)?;
    writeln!(out).map_err(|source| ReportError::Write {
        path: "-".into(),
        source,
    })
}

/// Reads a report written by [`write`].
///
/// # Errors
/// [`ReportError`] when the file cannot be read or is not a report.
pub fn read(path: &Path) -> Result<RunReport, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ReportError::Parse {
        path: path.to_owned(),
        source,
    })
}
