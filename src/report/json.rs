//! The JSON report: `RunReport` serialised as is, one document.

use std::io::Write;
use std::path::Path;

use crate::report_format::{READABLE_SCHEMAS, RunReport};

use super::ReportError;

/// JSON, one pretty document per report: the [`super::Render`] of
/// `Format::Json`.
///
/// # Errors
/// [`ReportError`] on serialisation or write failure.
pub fn render(
    reports: &[RunReport],
    _ctx: &super::RenderContext<'_>,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    reports.iter().try_for_each(|report| write(report, out))
}

/// JSON, one compact document per line: the [`super::Render`] of
/// `Format::JsonLines`.
///
/// # Errors
/// [`ReportError`] on serialisation or write failure.
pub fn render_lines(
    reports: &[RunReport],
    _ctx: &super::RenderContext<'_>,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    reports.iter().try_for_each(|report| {
        serde_json::to_writer(&mut *out, report).map_err(ReportError::Serialize)?;
        writeln!(out).map_err(super::stdout_error)
    })
}

/// Writes `report` as pretty JSON followed by a newline.
///
/// # Errors
/// [`ReportError`] on serialisation or write failure.
pub fn write(report: &RunReport, out: &mut dyn Write) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(ReportError::Serialize)?;
    writeln!(out).map_err(super::stdout_error)
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
    serde_json::from_str(&text)
        .map_err(|source| ReportError::Parse {
            path: path.to_owned(),
            source,
        })
        .and_then(|report: RunReport| {
            if READABLE_SCHEMAS.contains(&report.schema.as_str()) {
                Ok(report)
            } else {
                Err(ReportError::Schema {
                    path: path.to_owned(),
                    found: report.schema,
                })
            }
        })
}
