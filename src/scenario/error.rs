//! Why a scenario (or another YAML file of ours) could not be loaded, and
//! where in the file.
//!
//! Plain error data shared by loading and validation; it reads nothing.

use std::fmt;
use std::path::PathBuf;

/// Why a scenario (or another YAML file of ours) could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("failed to read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The YAML is malformed or has the wrong shape.
    #[error("{path}:{position}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where the parser stopped.
        position: Position,
        /// What the parser expected.
        message: String,
    },
    /// The YAML parsed but says something impossible.
    #[error("{path}: {key}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key path, such as `axes.iptables[2]`.
        key: String,
        /// What is wrong and what is accepted.
        message: String,
    },
}

/// A `line:column` position in a file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}
