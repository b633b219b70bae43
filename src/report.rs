//! Reporters: each renders finished reports and nothing else.
//!
//! Every run-report format sits behind one interface, [`Render`]: reports
//! in, bytes out. A command says which format goes where with a list of
//! [`Output`]s and hands it to [`emit`]. Files are written to a temporary
//! file in the target directory and renamed into place, so a reader never
//! sees half a report. The other renderers here (`diff`, `explain`,
//! `doctor`, `triage`) render their own analyses; `progress` and `styles`
//! serve the terminal.

pub mod diff;
pub mod doctor;
pub mod explain;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod progress;
pub mod styles;
pub mod table;
pub mod triage;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::classify::SignatureSet;
use crate::report_format::RunReport;

use self::junit::JunitOptions;
use self::styles::Styles;

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Writing failed.
    #[error("failed to write report {path}")]
    Write {
        /// The file (`-` for stdout).
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Serialising failed.
    #[error("failed to serialise the report")]
    Serialize(#[source] serde_json::Error),
    /// A report file could not be read.
    #[error("failed to read report {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A report of a schema this version cannot read.
    #[error("{path} has schema `{found}`; this dindcheck reads dindcheck/report/v2 and v1")]
    Schema {
        /// The file.
        path: PathBuf,
        /// The schema it declares.
        found: String,
    },
    /// A file is not a dindcheck report.
    #[error("{path} is not a dindcheck report (schema dindcheck/report/v2)")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

/// A renderer's I/O error: renderers write to stdout or to the temporary
/// file [`write_atomic`] names on its own failure paths.
impl From<std::io::Error> for ReportError {
    fn from(source: std::io::Error) -> ReportError {
        stdout_error(source)
    }
}

/// Writes `render`'s output to `path` atomically (temp file, then rename).
///
/// # Errors
/// [`ReportError::Write`] naming `path`.
pub fn write_atomic(
    path: &Path,
    render: impl FnOnce(&mut dyn Write) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io_err = |source| ReportError::Write {
        path: path.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io_err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err)?;
    render(tmp.as_file_mut())?;
    tmp.as_file_mut().flush().map_err(io_err)?;
    tmp.persist(path).map_err(|e| io_err(e.error))?;
    Ok(())
}

/// The formats a run report can be rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The terminal table, its legend and the minimal-fix analysis.
    Table,
    /// Pretty JSON, one document (schema `dindcheck/report/v2`).
    Json,
    /// JSON, one compact document per line (several scenarios on stdout).
    JsonLines,
    /// JUnit XML, one testsuite per scenario.
    Junit,
    /// A Markdown matrix, one section per scenario.
    Markdown,
}

/// Where one format goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Standard output (a closed pipe ends the output quietly).
    Stdout,
    /// A file, written atomically.
    File(PathBuf),
}

/// One format to one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// What to render.
    pub format: Format,
    /// Where to put it.
    pub destination: Destination,
}

/// The one reporter interface: reports in (in order), bytes out. Every
/// format module has one such function, `render`.
pub type Render = fn(&[RunReport], &RenderContext<'_>, &mut dyn Write) -> Result<(), ReportError>;

/// What the reporters need besides the reports.
#[derive(Debug, Clone, Copy)]
pub struct RenderContext<'a> {
    /// The catalogue, for legends and fixes.
    pub signatures: &'a SignatureSet,
    /// Colours for the terminal table (files never get colour).
    pub styles: Styles,
    /// JUnit's failure policy and log tail.
    pub junit: JunitOptions,
}

/// The reporter for `format`.
pub fn reporter(format: Format) -> Render {
    match format {
        Format::Table => table::render,
        Format::Json => json::render,
        Format::JsonLines => json::render_lines,
        Format::Junit => junit::render,
        Format::Markdown => markdown::render,
    }
}

/// Renders `reports` to every output in turn. Files never get colour.
///
/// # Errors
/// The first [`ReportError`]; a closed stdout is not one.
pub fn emit(
    reports: &[RunReport],
    outputs: &[Output],
    ctx: &RenderContext<'_>,
) -> Result<(), ReportError> {
    for output in outputs {
        let render = reporter(output.format);
        match &output.destination {
            Destination::Stdout => {
                let written = render(reports, ctx, &mut std::io::stdout().lock());
                ignore_broken_pipe(written)?;
            }
            Destination::File(path) => {
                let plain = RenderContext {
                    styles: Styles::default(),
                    ..*ctx
                };
                write_atomic(path, |w| render(reports, &plain, w))?;
            }
        }
    }
    Ok(())
}

/// A closed stdout (`| head`) is a normal end, as in ripgrep.
///
/// # Errors
/// Any other [`ReportError`].
pub fn ignore_broken_pipe(result: Result<(), ReportError>) -> Result<(), ReportError> {
    match result {
        Err(ReportError::Write { source, .. })
            if source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Ok(())
        }
        other => other,
    }
}

/// [`ReportError::Write`] for standard output.
pub fn stdout_error(source: std::io::Error) -> ReportError {
    ReportError::Write {
        path: "-".into(),
        source,
    }
}
