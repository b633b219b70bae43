//! The JSON report: `RunReport` serialised as is, one document.

use std::io::Write;
use std::path::Path;

use crate::report_format::{READABLE_SCHEMAS, RunReport};

use super::ReportError;

/// JSON: one pretty document per report, or with `compact` one line each.
#[derive(Debug)]
pub struct JsonReporter {
    /// One line per report instead of pretty documents.
    pub compact: bool,
}

impl super::Reporter for JsonReporter {
    fn write(&self, reports: &[RunReport], out: &mut dyn Write) -> Result<(), ReportError> {
        for report in reports {
            if self.compact {
                serde_json::to_writer(&mut *out, report).map_err(ReportError::Serialize)?;
                writeln!(out).map_err(super::stdout_error)?;
            } else {
                write(report, out)?;
            }
        }
        Ok(())
    }
}

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
    let report: RunReport = serde_json::from_str(&text).map_err(|source| ReportError::Parse {
        path: path.to_owned(),
        source,
    })?;
    if !READABLE_SCHEMAS.contains(&report.schema.as_str()) {
        return Err(ReportError::Schema {
            path: path.to_owned(),
            found: report.schema,
        });
    }
    Ok(report)
}
