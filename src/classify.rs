//! The catalogue of known failures, and naming a log's failure with it.
//!
//! Signatures are data (`src/signatures.yaml`, embedded), compiled once.
//! Order is precedence: the first entry whose pattern matches wins. A log is
//! classified by its fatal line (the line that ended the daemon, not the
//! first warning); when no entry matches that line, the other error lines are
//! tried from the last one back. No match is the explicit `unknown`.

use std::path::Path;

use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};

use crate::logline::{self, Level};
use crate::scenario::{LoadError, parse_yaml};

/// The id given to a failure no catalogue entry explains.
pub const UNKNOWN: &str = "unknown";

const BUILTIN: &str = include_str!("signatures.yaml");

/// One catalogue entry as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureEntry {
    /// Stable kebab-case id.
    pub id: String,
    /// A regular expression (Rust `regex` syntax) matched against a line.
    pub pattern: String,
    /// A coarse grouping: cgroup, iptables, systemd, storage, …
    pub category: String,
    /// A one-line title.
    pub title: String,
    /// Why it happens.
    pub root_cause: String,
    /// What to change.
    pub fix: String,
    /// Where the message comes from (repository, file, function).
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    signatures: Vec<SignatureEntry>,
}

/// Why a catalogue cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The YAML is wrong.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A pattern does not compile.
    #[error("{path}: signature `{id}` has an invalid pattern")]
    Pattern {
        /// The file.
        path: String,
        /// The entry.
        id: String,
        /// The regex error.
        #[source]
        source: regex::Error,
    },
    /// Two entries share an id.
    #[error("{path}: signature id `{id}` appears twice")]
    Duplicate {
        /// The file.
        path: String,
        /// The id.
        id: String,
    },
}

/// A compiled catalogue.
#[derive(Debug, Clone)]
pub struct SignatureSet {
    entries: Vec<SignatureEntry>,
    regexes: Vec<Regex>,
    set: RegexSet,
}

/// How a log was classified.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// The entry id, [`UNKNOWN`], or `None` when the log shows no failure.
    pub signature: Option<String>,
    /// The line that ended the daemon (or the evidence line).
    pub fatal_line: Option<String>,
    /// 1-based line number of the evidence in the log.
    pub line_number: Option<usize>,
}

impl SignatureSet {
    /// The catalogue shipped inside the binary.
    pub fn builtin() -> SignatureSet {
        SignatureSet::parse(Path::new("src/signatures.yaml"), BUILTIN)
            .expect("the embedded catalogue is valid (tested by classify::tests)")
    }

    /// Parses and compiles a catalogue.
    ///
    /// # Errors
    /// [`CatalogueError`] naming the file and the entry.
    pub fn parse(path: &Path, text: &str) -> Result<SignatureSet, CatalogueError> {
        let file: CatalogueFile = parse_yaml(path, text)?;
        SignatureSet::from_entries(&path.display().to_string(), file.signatures)
    }

    fn from_entries(
        path: &str,
        entries: Vec<SignatureEntry>,
    ) -> Result<SignatureSet, CatalogueError> {
        let mut regexes = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            if entries[..i].iter().any(|e| e.id == entry.id) {
                return Err(CatalogueError::Duplicate {
                    path: path.to_owned(),
                    id: entry.id.clone(),
                });
            }
            let regex = Regex::new(&entry.pattern).map_err(|source| CatalogueError::Pattern {
                path: path.to_owned(),
                id: entry.id.clone(),
                source,
            })?;
            regexes.push(regex);
        }
        let set = RegexSet::new(entries.iter().map(|e| &e.pattern)).map_err(|source| {
            CatalogueError::Pattern {
                path: path.to_owned(),
                id: "(set)".to_owned(),
                source,
            }
        })?;
        Ok(SignatureSet {
            entries,
            regexes,
            set,
        })
    }

    /// Every entry, in precedence order.
    pub fn entries(&self) -> &[SignatureEntry] {
        &self.entries
    }

    /// Every id, in precedence order.
    pub fn ids(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.id.as_str()).collect()
    }

    /// The entry with `id`.
    pub fn get(&self, id: &str) -> Option<&SignatureEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// The first entry (by precedence) whose pattern matches `line`.
    pub fn match_line(&self, line: &str) -> Option<&SignatureEntry> {
        let first = self.set.matches(line).into_iter().next()?;
        debug_assert!(self.regexes[first].is_match(line));
        Some(&self.entries[first])
    }

    /// Classifies a failed daemon's log: finds the fatal line and names it.
    pub fn classify_log(&self, log: &str) -> Classification {
        let lines: Vec<&str> = log.lines().collect();
        let Some(fatal) = fatal_line_index(&lines) else {
            return Classification::default();
        };
        let mut result = Classification {
            signature: Some(UNKNOWN.to_owned()),
            fatal_line: Some(lines[fatal].trim().to_owned()),
            line_number: Some(fatal + 1),
        };
        if let Some(entry) = self.match_line(lines[fatal]) {
            result.signature = Some(entry.id.clone());
            return result;
        }
        // The fatal line may be generic; look at the error lines before it,
        // the nearest first.
        for index in (0..fatal).rev() {
            let line = logline::parse(lines[index]);
            if line.level >= Some(Level::Error)
                && let Some(entry) = self.match_line(lines[index])
            {
                result.signature = Some(entry.id.clone());
                result.fatal_line = Some(lines[index].trim().to_owned());
                result.line_number = Some(index + 1);
                return result;
            }
        }
        result
    }

    /// Classifies one message (a container start error from the API).
    pub fn classify_message(&self, message: &str) -> Classification {
        Classification {
            signature: Some(
                self.match_line(message)
                    .map_or(UNKNOWN.to_owned(), |e| e.id.clone()),
            ),
            fatal_line: Some(message.trim().to_owned()),
            line_number: None,
        }
    }
}

/// The index of the line that ended the daemon: the last fatal line, else
/// the last error line, else the last non-empty line.
fn fatal_line_index(lines: &[&str]) -> Option<usize> {
    let levels: Vec<Option<Level>> = lines.iter().map(|l| logline::parse(l).level).collect();
    let last_with = |level: Level| levels.iter().rposition(|l| *l == Some(level));
    last_with(Level::Fatal)
        .or_else(|| last_with(Level::Error))
        .or_else(|| lines.iter().rposition(|l| !l.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_compiles_and_has_the_required_ids() {
        let set = SignatureSet::builtin();
        for id in [
            "devices-cgroup-missing",
            "iptables-nft-unsupported",
            "iptables-nat-table-missing",
            "systemd-cgroup-parent-not-slice",
            "systemd-not-running",
        ] {
            assert!(set.get(id).is_some(), "missing {id}");
        }
    }

    #[test]
    fn fatal_line_wins_over_earlier_errors() {
        let set = SignatureSet::builtin();
        let log = "time=\"2026-11-28T19:08:37Z\" level=error msg=\"failed to mount overlay: invalid argument\" storage-driver=overlay2\n\
                   time=\"2026-11-28T19:08:37Z\" level=warning msg=\"Your kernel does not support swap memory limit\"\n\
                   failed to start daemon: Devices cgroup isn't mounted\n";
        let c = set.classify_log(log);
        assert_eq!(c.signature.as_deref(), Some("devices-cgroup-missing"));
        assert_eq!(c.line_number, Some(3));
    }

    #[test]
    fn unknown_failure_keeps_its_fatal_line() {
        let set = SignatureSet::builtin();
        let c = set.classify_log("level=info msg=x\nfailed to start daemon: something new\n");
        assert_eq!(c.signature.as_deref(), Some(UNKNOWN));
        assert_eq!(
            c.fatal_line.as_deref(),
            Some("failed to start daemon: something new")
        );
    }

    /// Logs kept by real runs classify to the signature they are filed under.
    #[rstest::rstest]
    fn captured_failure_logs_classify_to_their_directory(
        #[files("fixtures/logs/*/match/*.log")] path: std::path::PathBuf,
    ) {
        let expected = path
            .parent()
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let log = std::fs::read_to_string(&path).unwrap();
        let got = SignatureSet::builtin().classify_log(&log);
        assert_eq!(
            got.signature.as_deref(),
            Some(expected.as_str()),
            "{}",
            path.display()
        );
        assert!(log.contains(got.fatal_line.as_deref().unwrap()));
    }

    /// Healthy logs carry harmless error lines (overlay fallbacks, missing
    /// modprobe); no catalogue entry may claim them.
    #[rstest::rstest]
    fn healthy_logs_match_no_signature(
        #[files("fixtures/logs/ready/*.log")] path: std::path::PathBuf,
    ) {
        let set = SignatureSet::builtin();
        let log = std::fs::read_to_string(&path).unwrap();
        for line in log.lines() {
            assert_eq!(set.match_line(line).map(|e| &e.id), None, "{line}");
        }
    }

    #[test]
    fn bad_pattern_names_its_id() {
        let text = "signatures:\n  - {id: a, pattern: '(', category: c, title: t, root_cause: r, fix: f, source: s}\n";
        let err = SignatureSet::parse(Path::new("mine.yaml"), text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "mine.yaml: signature `a` has an invalid pattern"
        );
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let entry = "{id: a, pattern: x, category: c, title: t, root_cause: r, fix: f, source: s}";
        let text = format!("signatures:\n  - {entry}\n  - {entry}\n");
        let err = SignatureSet::parse(Path::new("m.yaml"), &text).unwrap_err();
        assert_eq!(err.to_string(), "m.yaml: signature id `a` appears twice");
    }
}
