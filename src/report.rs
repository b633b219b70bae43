//! Reporters: each renders a `RunReport` and nothing else.
//!
//! Reporters are pure functions of the report and a writer. Files are
//! written to a temporary file in the target directory and renamed into
//! place, so a reader never sees half a report.

pub mod diff;
pub mod explain;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod progress;
pub mod styles;
pub mod table;

use std::io::Write;
use std::path::{Path, PathBuf};

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
    /// A file is not a dindcheck report.
    #[error("{path} is not a dindcheck report (schema dindcheck/report/v1)")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
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
