//! `dindcheck triage [FILE…]`: load the catalogue, triage each log in turn,
//! print, and decide the exit code.
//!
//! Exit codes: 0 when every log shows a known signature or a daemon that
//! started, 1 when some log shows a failure no entry explains, 2 for usage
//! errors (a log that cannot be read or is compressed, or a `--signatures`
//! file that cannot be read or is invalid; each is reported, and the other
//! logs are still triaged).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::classify::{CatalogueError, SignatureSet};
use crate::error_text::print_error_chain;
use crate::errors::{EXIT_OK, EXIT_USAGE, HarnessError};
use crate::report::stdout_error;
use crate::report::triage::{write_json, write_text};
use crate::triage::{Triage, triage_reader};

use super::Terminal;

/// Read buffer per log: big reads keep the line splitter fed.
const READ_BUFFER: usize = 1 << 20;

/// Why a log could not be triaged.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    /// The log could not be opened.
    #[error("failed to open log {path}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Reading the log failed part-way (or it is a directory).
    #[error("failed to read log {path}")]
    Read {
        /// The file (`-` for stdin).
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The log is compressed; triage reads text.
    #[error(
        "{path} is {format}-compressed; decompress it first, e.g. `{tool} {path} | dindcheck triage`"
    )]
    Compressed {
        /// The file (`-` for stdin).
        path: PathBuf,
        /// `gzip`, `zstd`, …
        format: &'static str,
        /// The command that decompresses it to stdout.
        tool: &'static str,
    },
    /// A `--signatures` file is unreadable or invalid.
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
}

/// `dindcheck triage --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriageFormat {
    /// A summary for people.
    Text,
    /// One JSON document per log (schema dindcheck/triage/v2).
    Json,
}

/// What `dindcheck triage` was asked to read.
#[derive(Debug, Clone)]
pub struct TriageConfig {
    /// Log files; `-` (or none) is stdin.
    pub files: Vec<PathBuf>,
    /// Extra catalogue files, in front of the built-in entries.
    pub signatures: Vec<PathBuf>,
    /// What to print.
    pub format: TriageFormat,
}

/// Runs `dindcheck triage`; returns the exit code.
///
/// # Errors
/// [`HarnessError::Report`]-style write failures on stdout other than a
/// broken pipe (which ends the command quietly).
pub fn run(config: &TriageConfig, terminal: &Terminal) -> Result<u8, HarnessError> {
    let set = match load_catalogue(&config.signatures) {
        Ok(set) => set,
        Err(err) => {
            print_error_chain(&err);
            return Ok(EXIT_USAGE);
        }
    };
    let sources: Vec<PathBuf> = if config.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        config.files.clone()
    };
    let several = sources.len() > 1;
    let mut worst = EXIT_OK;
    let mut unreadable = false;
    let mut out = io::stdout().lock();
    for (i, source) in sources.iter().enumerate() {
        let triage = match triage_source(&set, source) {
            Ok(triage) => triage,
            Err(err) => {
                print_error_chain(&err);
                unreadable = true;
                continue;
            }
        };
        worst = worst.max(triage.exit_code());
        let written = match config.format {
            TriageFormat::Json => write_json(&triage, !several, &mut out),
            TriageFormat::Text => {
                let gap = if i > 0 { writeln!(out) } else { Ok(()) };
                gap.and_then(|()| write_text(&triage, &terminal.stdout, &mut out))
            }
        };
        match written.and_then(|()| out.flush()) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return Ok(worst),
            Err(source) => return Err(stdout_error(source).into()),
        }
    }
    Ok(if unreadable { EXIT_USAGE } else { worst })
}

/// The built-in catalogue with each `--signatures` file's entries in
/// front, the last file first. Without such files it is the process's
/// shared catalogue, which the fixes' proofs read too: built once, not
/// twice.
fn load_catalogue(paths: &[PathBuf]) -> Result<Cow<'static, SignatureSet>, TriageError> {
    let mut set = Cow::Borrowed(SignatureSet::shared());
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogueError::Read {
            path: path.display().to_string(),
            source,
        })?;
        set = Cow::Owned(set.with_user_entries(path, &text)?);
    }
    Ok(set)
}

fn triage_source(set: &SignatureSet, source: &Path) -> Result<Triage, TriageError> {
    let read_error = |source_err| TriageError::Read {
        path: source.to_owned(),
        source: source_err,
    };
    if source == Path::new("-") {
        let mut stdin = BufReader::with_capacity(READ_BUFFER, io::stdin().lock());
        refuse_compressed(source, &mut stdin)?;
        return triage_reader(set, "-", stdin).map_err(read_error);
    }
    let file = File::open(source).map_err(|err| TriageError::Open {
        path: source.to_owned(),
        source: err,
    })?;
    let mut reader = BufReader::with_capacity(READ_BUFFER, file);
    refuse_compressed(source, &mut reader)?;
    let name = source.display().to_string();
    triage_reader(set, &name, reader).map_err(read_error)
}

/// Support bundles are often compressed; say so instead of reporting the
/// compressed bytes as an unknown failure.
fn refuse_compressed(path: &Path, reader: &mut impl BufRead) -> Result<(), TriageError> {
    const MAGIC: [(&[u8], &str, &str); 3] = [
        (&[0x1f, 0x8b], "gzip", "zcat"),
        (&[0x28, 0xb5, 0x2f, 0xfd], "zstd", "zstdcat"),
        (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], "xz", "xzcat"),
    ];
    let head = reader.fill_buf().map_err(|source| TriageError::Read {
        path: path.to_owned(),
        source,
    })?;
    match MAGIC.iter().find(|(magic, _, _)| head.starts_with(magic)) {
        Some((_, format, tool)) => Err(TriageError::Compressed {
            path: path.to_owned(),
            format,
            tool,
        }),
        None => Ok(()),
    }
}
