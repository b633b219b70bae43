//! The catalogue of known failures, and naming a log's failure with it.
//!
//! Signatures are data (`src/signatures.yaml`, embedded), compiled once.
//! Order is precedence: the first entry whose pattern matches wins. A log is
//! classified by its fatal line (the line that ended the daemon, not the
//! first warning); when no entry matches that line, the other error lines are
//! tried from the last one back. No match is the explicit `unknown`.

use std::path::Path;
use std::rc::Rc;

use aho_corasick::packed;
use regex::{Regex, RegexSet};
use regex_syntax::hir::{Hir, HirKind};
use serde::{Deserialize, Serialize};

use crate::logline::{self, Level, Shape};
use crate::scenario::{LoadError, Position, parse_yaml};

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
    /// The file could not be read.
    #[error("failed to read signature catalogue {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The YAML is wrong.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A pattern does not compile.
    #[error("{path}{at}: signature `{id}` has an invalid pattern", at = At(*position))]
    Pattern {
        /// The file.
        path: String,
        /// Where the entry's `pattern:` is, when it can be found.
        position: Option<Position>,
        /// The entry.
        id: String,
        /// The regex error.
        #[source]
        source: regex::Error,
    },
    /// Two entries share an id.
    #[error("{path}{at}: signature id `{id}` appears twice", at = At(*position))]
    Duplicate {
        /// The file.
        path: String,
        /// Where the second entry's `id:` is, when it can be found.
        position: Option<Position>,
        /// The id.
        id: String,
    },
    /// An entry is well-formed YAML but unusable.
    #[error("{path}{at}: signature `{id}`: {message}", at = At(*position))]
    Invalid {
        /// The file.
        path: String,
        /// Where the offending key is, when it can be found.
        position: Option<Position>,
        /// The entry.
        id: String,
        /// What is wrong and what is accepted.
        message: String,
    },
}

/// Formats an optional position as `:line:column`.
struct At(Option<Position>);

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(position) => write!(f, ":{position}"),
            None => Ok(()),
        }
    }
}

/// Ids the triage output uses for its own verdicts; no entry may take them.
const RESERVED_IDS: [&str; 2] = [UNKNOWN, "ready"];

/// A compiled catalogue.
#[derive(Debug, Clone)]
pub struct SignatureSet {
    entries: Vec<SignatureEntry>,
    regexes: Vec<Regex>,
    set: RegexSet,
    /// Literals of which every pattern needs one; `None` when some
    /// pattern needs none (then every candidate line runs the set).
    prefilter: Option<packed::Searcher>,
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

    /// The built-in catalogue, compiled once per process.
    pub fn shared() -> &'static SignatureSet {
        static SHARED: std::sync::LazyLock<SignatureSet> =
            std::sync::LazyLock::new(SignatureSet::builtin);
        &SHARED
    }

    /// Parses and compiles a catalogue.
    ///
    /// # Errors
    /// [`CatalogueError`] naming the file, the entry and, where it can be
    /// found, the `line:column` of the offending key.
    pub fn parse(path: &Path, text: &str) -> Result<SignatureSet, CatalogueError> {
        let entries = parse_entries(path, text)?;
        SignatureSet::from_entries(path, text, entries, Vec::new())
    }

    /// This catalogue with a user's entries (YAML text of the same schema,
    /// read from `path`) in front: a user's entry takes precedence over
    /// every built-in one, and one with a built-in id replaces it.
    ///
    /// # Errors
    /// [`CatalogueError`] naming the user's file, the entry and, where it
    /// can be found, the `line:column` of the offending key.
    pub fn with_user_entries(
        &self,
        path: &Path,
        text: &str,
    ) -> Result<SignatureSet, CatalogueError> {
        let user = parse_entries(path, text)?;
        let kept: Vec<SignatureEntry> = self
            .entries
            .iter()
            .filter(|builtin| !user.iter().any(|u| u.id == builtin.id))
            .cloned()
            .collect();
        SignatureSet::from_entries(path, text, user, kept)
    }

    /// Checks and compiles `checked` (from `path`, whose `text` is used to
    /// point at errors), followed by `trusted` entries already checked.
    fn from_entries(
        path: &Path,
        text: &str,
        checked: Vec<SignatureEntry>,
        trusted: Vec<SignatureEntry>,
    ) -> Result<SignatureSet, CatalogueError> {
        let name = path.display().to_string();
        let mut regexes = Vec::with_capacity(checked.len() + trusted.len());
        for (i, entry) in checked.iter().enumerate() {
            let at = |key: &str, nth: usize| entry_position(text, &entry.id, key, nth);
            if checked[..i].iter().any(|e| e.id == entry.id) {
                return Err(CatalogueError::Duplicate {
                    path: name,
                    position: at("id", 1),
                    id: entry.id.clone(),
                });
            }
            let invalid = |key: &str, message: &str| CatalogueError::Invalid {
                path: name.clone(),
                position: at(key, 0),
                id: entry.id.clone(),
                message: message.to_owned(),
            };
            if !is_kebab_case(&entry.id) {
                return Err(invalid(
                    "id",
                    "ids are kebab-case: lower-case letters, digits and single dashes",
                ));
            }
            if RESERVED_IDS.contains(&entry.id.as_str()) {
                return Err(invalid("id", "`unknown` and `ready` are reserved"));
            }
            if entry.pattern.is_empty() {
                return Err(invalid(
                    "pattern",
                    "the pattern is empty (it would match every line)",
                ));
            }
            let regex = Regex::new(&entry.pattern).map_err(|source| CatalogueError::Pattern {
                path: name.clone(),
                position: at("pattern", 0),
                id: entry.id.clone(),
                source,
            })?;
            regexes.push(regex);
        }
        for entry in &trusted {
            let regex = Regex::new(&entry.pattern).map_err(|source| CatalogueError::Pattern {
                path: name.clone(),
                position: None,
                id: entry.id.clone(),
                source,
            })?;
            regexes.push(regex);
        }
        let mut entries = checked;
        entries.extend(trusted);
        let set = RegexSet::new(entries.iter().map(|e| &e.pattern)).map_err(|source| {
            CatalogueError::Pattern {
                path: name.clone(),
                position: None,
                id: "(set)".to_owned(),
                source,
            }
        })?;
        let prefilter = prefilter(entries.iter().map(|e| e.pattern.as_str()));
        Ok(SignatureSet {
            entries,
            regexes,
            set,
            prefilter,
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
    ///
    /// This is [`Classifier`] fed with every line of `log`, so a kept log
    /// and `dindcheck triage` on the same file always agree.
    pub fn classify_log(&self, log: &str) -> Classification {
        let mut classifier = Classifier::new(self);
        for line in log.lines() {
            classifier.push(line);
        }
        classifier.finish().classification(self)
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

    /// The index of the first entry matching `text`, or the words a
    /// wrapper's line carries in `embedded`.
    fn match_index(&self, text: &str, embedded: Option<&str>) -> Option<usize> {
        // Most error lines match nothing: a literal scan (SIMD) rules most
        // of them out, and a yes/no scan is cheaper than asking which
        // entries matched.
        let first_of = |t: &str| {
            let possible = self.prefilter.as_ref().is_none_or(|p| p.find(t).is_some());
            if possible && self.set.is_match(t) {
                self.set.matches(t).into_iter().next()
            } else {
                None
            }
        };
        let first = first_of(text);
        let inner = embedded.and_then(first_of);
        match (first, inner) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The index of the first entry matching a framed line.
    fn match_framed(&self, text: &str) -> Option<usize> {
        let frame = logline::frame(text);
        let embedded = frame.embedded.map(|e| e.text());
        self.match_index(text, embedded.as_deref())
    }
}

/// One line kept as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceLine {
    /// 1-based line number in the log.
    pub number: usize,
    /// The line, trimmed (and without colour codes).
    pub text: String,
}

/// What the classifier saw in one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineVerdict {
    /// The line's level, as [`logline::frame`] reads it.
    pub level: Option<Level>,
    /// The first matching entry (by index), looked for only on error and
    /// fatal lines.
    pub entry: Option<usize>,
}

/// What a stream of lines comes to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Finding {
    /// The line that ended the daemon: the last fatal line, else the last
    /// error line, else the last non-empty line.
    pub fatal: Option<EvidenceLine>,
    /// The level of the fatal line.
    pub fatal_level: Option<Level>,
    /// The entry (by index) that names the failure and the line it matched:
    /// the fatal line itself, else the nearest earlier error line that
    /// some entry matches.
    pub matched: Option<(usize, EvidenceLine)>,
    /// Whether any error or fatal line matched an entry.
    pub any_match: bool,
}

impl Finding {
    /// The entry that names the failure.
    pub fn entry<'s>(&self, set: &'s SignatureSet) -> Option<&'s SignatureEntry> {
        self.matched.as_ref().map(|(index, _)| &set.entries[*index])
    }

    /// The finding as the runner reports it.
    pub fn classification(&self, set: &SignatureSet) -> Classification {
        let Some(fatal) = &self.fatal else {
            return Classification::default();
        };
        match &self.matched {
            Some((index, line)) => Classification {
                signature: Some(set.entries[*index].id.clone()),
                fatal_line: Some(line.text.clone()),
                line_number: Some(line.number),
            },
            None => Classification {
                signature: Some(UNKNOWN.to_owned()),
                fatal_line: Some(fatal.text.clone()),
                line_number: Some(fatal.number),
            },
        }
    }
}

/// A line that could end up as the fatal line, with what it matched and
/// the nearest earlier matching error line.
#[derive(Debug, Clone)]
struct Candidate {
    line: EvidenceLine,
    entry: Option<usize>,
    earlier: Option<Rc<Matched>>,
}

#[derive(Debug)]
struct Matched {
    entry: usize,
    line: EvidenceLine,
}

/// The streaming classifier: fed one line at a time, it keeps only the
/// candidates for the fatal line, so memory stays flat whatever the log's
/// size. Its result equals looking at the whole log at once: the fatal line
/// is the last fatal-level line, else the last error line, else the last
/// non-empty line; the signature is the first entry (by precedence) that
/// matches the fatal line, else the one matching the nearest earlier error
/// or fatal line, else [`UNKNOWN`]. A line without any level framing
/// (plain text) that an entry matches counts as a fatal line: such bare
/// words are some program's last words.
///
/// Only error, fatal and plain lines are matched against the catalogue;
/// other lines cost one scan for their level.
#[derive(Debug)]
pub struct Classifier<'s> {
    set: &'s SignatureSet,
    lines: usize,
    last_fatal: Option<Candidate>,
    last_error: Option<Candidate>,
    last_matched: Option<Rc<Matched>>,
    last_nonempty: String,
    last_nonempty_number: usize,
}

impl<'s> Classifier<'s> {
    /// A classifier over `set` that has seen no line.
    pub fn new(set: &'s SignatureSet) -> Classifier<'s> {
        Classifier {
            set,
            lines: 0,
            last_fatal: None,
            last_error: None,
            last_matched: None,
            last_nonempty: String::new(),
            last_nonempty_number: 0,
        }
    }

    /// Feeds the next line (without its newline). Lines longer than
    /// [`logline::MAX_LINE_BYTES`] are cut there.
    pub fn push(&mut self, line: &str) -> LineVerdict {
        self.lines += 1;
        let line = truncate(line, logline::MAX_LINE_BYTES);
        let line = logline::strip_ansi(line);
        let frame = logline::frame(&line);
        let mut level = frame.level;
        let mut entry = None;
        if level.is_none() && frame.shape == Shape::Plain {
            // Bare words that name a known failure are last words: dockerd
            // 26.1 prints configuration errors without a prefix
            // (`invalid userland-proxy-path: …`), and runsc and wrappers
            // print runc's error bare.
            entry = self.set.match_index(&line, None);
            if entry.is_some() {
                level = Some(Level::Fatal);
            }
        } else if level >= Some(Level::Error) {
            let embedded = frame.embedded.map(|e| e.text());
            entry = self.set.match_index(&line, embedded.as_deref());
        }
        if level >= Some(Level::Error) {
            let earlier = self.last_matched.clone();
            let slot = if level == Some(Level::Fatal) {
                &mut self.last_fatal
            } else {
                &mut self.last_error
            };
            // Reuse the previous candidate's text buffer: error-heavy logs
            // replace it on every line.
            let candidate = slot.get_or_insert_with(|| Candidate {
                line: EvidenceLine {
                    number: 0,
                    text: String::new(),
                },
                entry: None,
                earlier: None,
            });
            candidate.line.number = self.lines;
            candidate.line.text.clear();
            candidate.line.text.push_str(line.trim());
            candidate.entry = entry;
            candidate.earlier = earlier;
            if let Some(entry) = entry {
                self.last_matched = Some(Rc::new(Matched {
                    entry,
                    line: candidate.line.clone(),
                }));
            }
        }
        if !line.trim().is_empty() {
            self.last_nonempty.clear();
            self.last_nonempty.push_str(&line);
            self.last_nonempty_number = self.lines;
        }
        LineVerdict { level, entry }
    }

    /// Forgets every candidate but keeps counting lines: what follows is
    /// judged on its own (triage restarts after dockerd reported readiness).
    pub fn restart(&mut self) {
        self.last_fatal = None;
        self.last_error = None;
        self.last_matched = None;
        self.last_nonempty.clear();
        self.last_nonempty_number = 0;
    }

    /// How many lines were fed.
    pub fn line_count(&self) -> usize {
        self.lines
    }

    /// What the lines fed so far come to.
    pub fn finish(&self) -> Finding {
        let any_match = self.last_matched.is_some();
        let chosen = match (&self.last_fatal, &self.last_error) {
            (Some(fatal), _) => Some((fatal.clone(), Level::Fatal)),
            (None, Some(error)) => Some((error.clone(), Level::Error)),
            (None, None) => None,
        };
        if let Some((candidate, level)) = chosen {
            let matched = match candidate.entry {
                Some(entry) => Some((entry, candidate.line.clone())),
                None => candidate
                    .earlier
                    .as_ref()
                    .map(|m| (m.entry, m.line.clone())),
            };
            return Finding {
                fatal: Some(candidate.line),
                fatal_level: Some(level),
                matched,
                any_match,
            };
        }
        if self.last_nonempty_number == 0 {
            return Finding::default();
        }
        // No error or fatal line at all: the last words are all there is,
        // and no earlier error line can name them.
        let line = EvidenceLine {
            number: self.last_nonempty_number,
            text: self.last_nonempty.trim().to_owned(),
        };
        let fatal_level = logline::frame(&self.last_nonempty).level;
        let matched = self
            .set
            .match_framed(&self.last_nonempty)
            .map(|entry| (entry, line.clone()));
        Finding {
            fatal: Some(line),
            fatal_level,
            matched,
            any_match,
        }
    }
}

/// Reads a catalogue file's entries.
fn parse_entries(path: &Path, text: &str) -> Result<Vec<SignatureEntry>, CatalogueError> {
    let has_content = text.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#') && l != "---"
    });
    if !has_content {
        return Err(CatalogueError::Load(LoadError::Parse {
            path: path.to_owned(),
            position: Position { line: 1, column: 1 },
            message: "the file has no YAML content; expected `signatures:` with a list of entries"
                .to_owned(),
        }));
    }
    let file: CatalogueFile = parse_yaml(path, text)?;
    Ok(file.signatures)
}

fn is_kebab_case(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Where `key:` of the entry with `id` is written: found by text search
/// after the `nth` (0-based) `id:` line naming it, since the YAML parser
/// keeps no positions for values it accepted.
fn entry_position(text: &str, id: &str, key: &str, nth: usize) -> Option<Position> {
    let mut from = 0;
    let mut seen = 0;
    let id_at = loop {
        let pos = from + text[from..].find("id:")?;
        from = pos + 3;
        let value = text[from..].trim_start_matches([' ', '\t']);
        let value = value.trim_start_matches(['"', '\'']);
        let boundary = value[id.len().min(value.len())..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-'));
        let word_start =
            pos == 0 || !text[..pos].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        if word_start && value.starts_with(id) && boundary {
            if seen == nth {
                break pos;
            }
            seen += 1;
        }
    };
    let at = if key == "id" {
        id_at
    } else {
        id_at + text[id_at..].find(&format!("{key}:"))?
    };
    let line = text[..at].matches('\n').count() + 1;
    let column = text[..at]
        .rsplit('\n')
        .next()
        .map_or(0, |l| l.chars().count())
        + 1;
    Some(Position { line, column })
}

/// A prefilter for `patterns`: literals such that any line one of the
/// patterns matches contains at least one of them. The regex crate's own
/// prefilter for a set this size falls back to a byte-at-a-time automaton;
/// literals required anywhere in a pattern are longer and fewer, so a
/// packed (Teddy, SIMD) search rules out most lines at memory speed. `None`
/// when some pattern requires no literal of at least 3 bytes, or the
/// literals are too many for a packed search.
fn prefilter<'a>(patterns: impl Iterator<Item = &'a str>) -> Option<packed::Searcher> {
    let mut needles: Vec<Vec<u8>> = Vec::new();
    for pattern in patterns {
        let hir = regex_syntax::parse(pattern).ok()?;
        let literals = required_literals(&hir)?;
        if literals.iter().any(|l| l.len() < 3) {
            return None;
        }
        needles.extend(literals);
    }
    // A needle that contains another is redundant: the shorter one is
    // found wherever the longer one is.
    needles.sort_by_key(Vec::len);
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for needle in needles {
        if !kept
            .iter()
            .any(|k| memchr::memmem::find(&needle, k).is_some())
        {
            kept.push(needle);
        }
    }
    packed::Config::new()
        .match_kind(packed::MatchKind::LeftmostFirst)
        .builder()
        .extend(&kept)
        .build()
}

/// Literals one of which every match of `hir` contains, if there are any.
fn required_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(literal) => Some(vec![literal.0.to_vec()]),
        HirKind::Capture(capture) => required_literals(&capture.sub),
        HirKind::Repetition(repetition) if repetition.min >= 1 => {
            required_literals(&repetition.sub)
        }
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for branch in branches {
                all.extend(required_literals(branch)?);
            }
            Some(all)
        }
        HirKind::Concat(parts) => {
            // Runs of adjacent literals are required whole; any part's own
            // requirement holds for the concatenation too. Keep the set
            // whose shortest literal is longest.
            let mut best: Option<Vec<Vec<u8>>> = None;
            let mut consider = |candidate: Vec<Vec<u8>>| {
                let score = |set: &[Vec<u8>]| set.iter().map(Vec::len).min().unwrap_or(0);
                if best.as_ref().is_none_or(|b| score(&candidate) > score(b)) {
                    best = Some(candidate);
                }
            };
            let mut run: Vec<u8> = Vec::new();
            for part in parts {
                if let HirKind::Literal(literal) = part.kind() {
                    run.extend_from_slice(&literal.0);
                    continue;
                }
                if !run.is_empty() {
                    consider(vec![std::mem::take(&mut run)]);
                }
                if let Some(set) = required_literals(part) {
                    consider(set);
                }
            }
            if !run.is_empty() {
                consider(vec![run]);
            }
            best
        }
        _ => None,
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
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
            "mine.yaml:2:13: signature `a` has an invalid pattern"
        );
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let entry = "{id: a, pattern: x, category: c, title: t, root_cause: r, fix: f, source: s}";
        let text = format!("signatures:\n  - {entry}\n  - {entry}\n");
        let err = SignatureSet::parse(Path::new("m.yaml"), &text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.yaml:3:6: signature id `a` appears twice"
        );
    }

    const ENTRY: &str = "category: c, title: t, root_cause: r, fix: f, source: s";

    #[rstest::rstest]
    #[case::reserved_unknown(
        "unknown",
        "x",
        "m.yaml:2:5: signature `unknown`: `unknown` and `ready` are reserved"
    )]
    #[case::reserved_ready(
        "ready",
        "x",
        "m.yaml:2:5: signature `ready`: `unknown` and `ready` are reserved"
    )]
    #[case::not_kebab(
        "My_Id",
        "x",
        "m.yaml:2:5: signature `My_Id`: ids are kebab-case: lower-case letters, digits and single dashes"
    )]
    #[case::empty_pattern(
        "a",
        "",
        "m.yaml:3:5: signature `a`: the pattern is empty (it would match every line)"
    )]
    fn unusable_entries_are_refused_with_their_position(
        #[case] id: &str,
        #[case] pattern: &str,
        #[case] expected: &str,
    ) {
        let text = format!(
            "signatures:\n  - id: {id}\n    pattern: '{pattern}'\n    {}\n",
            ENTRY.replace(", ", "\n    ")
        );
        let err = SignatureSet::parse(Path::new("m.yaml"), &text).unwrap_err();
        assert_eq!(err.to_string(), expected);
    }

    #[test]
    fn yaml_errors_carry_line_and_column() {
        let text = "signatures:\n  - id: a\n    pattern: x\n    colour: red\n";
        let err = SignatureSet::parse(Path::new("m.yaml"), text).unwrap_err();
        assert!(err.to_string().starts_with("m.yaml:4:5: "), "{err}");
        let err = SignatureSet::parse(Path::new("m.yaml"), "# nothing\n").unwrap_err();
        assert!(err.to_string().contains("expected `signatures:`"), "{err}");
    }

    #[test]
    fn user_entries_come_first_and_replace_builtins_with_their_id() {
        let builtin = SignatureSet::builtin();
        let text = format!(
            "signatures:\n  - {{id: my-devices, pattern: 'Devices cgroup', {ENTRY}}}\n  - {{id: storage-no-space, pattern: 'disk full', {ENTRY}}}\n"
        );
        let set = builtin
            .with_user_entries(Path::new("mine.yaml"), &text)
            .unwrap();
        assert_eq!(set.ids()[..2], ["my-devices", "storage-no-space"]);
        assert_eq!(set.entries().len(), builtin.entries().len() + 1);
        let c = set.classify_log("failed to start daemon: Devices cgroup isn't mounted\n");
        assert_eq!(c.signature.as_deref(), Some("my-devices"));
        let c = set.classify_log("failed to start daemon: disk full\n");
        assert_eq!(c.signature.as_deref(), Some("storage-no-space"));
        let c = set.classify_log("failed to start daemon: no space left on device\n");
        assert_eq!(c.signature.as_deref(), Some(UNKNOWN));
    }

    /// The whole-log algorithm, written the obvious way: the streaming
    /// classifier must always agree with it.
    fn reference(set: &SignatureSet, log: &str) -> Classification {
        let lines: Vec<String> = log
            .lines()
            .map(|l| logline::strip_ansi(truncate(l, logline::MAX_LINE_BYTES)).into_owned())
            .collect();
        let levels: Vec<Option<Level>> = lines
            .iter()
            .map(|l| {
                let frame = logline::frame(l);
                match frame.level {
                    None if frame.shape == Shape::Plain && set.match_index(l, None).is_some() => {
                        Some(Level::Fatal)
                    }
                    level => level,
                }
            })
            .collect();
        let last_with = |level: Level| levels.iter().rposition(|l| *l == Some(level));
        let Some(fatal) = last_with(Level::Fatal)
            .or_else(|| last_with(Level::Error))
            .or_else(|| lines.iter().rposition(|l| !l.trim().is_empty()))
        else {
            return Classification::default();
        };
        let found = |index: usize, id: &str| Classification {
            signature: Some(id.to_owned()),
            fatal_line: Some(lines[index].trim().to_owned()),
            line_number: Some(index + 1),
        };
        if let Some(entry) = set.match_framed(&lines[fatal]) {
            return found(fatal, &set.entries()[entry].id);
        }
        for index in (0..fatal).rev() {
            if levels[index] >= Some(Level::Error)
                && let Some(entry) = set.match_framed(&lines[index])
            {
                return found(index, &set.entries()[entry].id);
            }
        }
        found(fatal, UNKNOWN)
    }

    #[rstest::rstest]
    fn streaming_agrees_with_the_whole_log_algorithm_on_fixtures(
        #[files("fixtures/logs/**/*.log")] path: std::path::PathBuf,
    ) {
        let set = SignatureSet::builtin();
        let log = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert_eq!(
            set.classify_log(&log),
            reference(&set, &log),
            "{}",
            path.display()
        );
    }

    static BUILTIN_SET: std::sync::LazyLock<SignatureSet> =
        std::sync::LazyLock::new(SignatureSet::builtin);

    const POOL: [&str; 14] = [
        "",
        "   ",
        r#"time="2026-11-28T19:09:29Z" level=info msg="Starting up""#,
        r#"time="2026-11-28T19:09:29Z" level=warning msg="Your kernel does not support swap memory limit""#,
        r#"time="2026-11-28T19:09:29Z" level=error msg="failed to mount overlay: invalid argument" storage-driver=overlay2"#,
        r#"time="2026-11-28T19:09:29Z" level=error msg="[graphdriver] prior storage driver overlay2 failed: driver not supported""#,
        r#"time="2026-11-28T19:09:29Z" level=fatal msg="something odd""#,
        "failed to start daemon: Devices cgroup isn't mounted",
        "failed to start daemon: something new",
        " (exit status 1)",
        r#"ERR docker daemon exited error="failed to start containerd: timeout waiting for containerd to start" exit_code=1"#,
        r#"{"level":"error","msg":"Handler for POST /v1.41/containers/x/start returned error: cgroup namespaces aren't enabled in the kernel: unknown"}"#,
        "Nov 28 19:09:29 host dockerd[1]: failed to load listeners: listen tcp 0.0.0.0:2375: bind: address already in use",
        "cgroups: cgroup mountpoint does not exist: unknown",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn streaming_agrees_with_the_whole_log_algorithm(
            picks in proptest::collection::vec(0..POOL.len(), 0..40)
        ) {
            let set = &*BUILTIN_SET;
            let log: String = picks.iter().map(|&i| format!("{}\n", POOL[i])).collect();
            proptest::prop_assert_eq!(set.classify_log(&log), reference(set, &log));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
            let set = &*BUILTIN_SET;
            let log = String::from_utf8_lossy(&bytes);
            let c = set.classify_log(&log);
            proptest::prop_assert_eq!(c, reference(set, &log));
        }
    }

    #[rstest::rstest]
    #[case::literal("abc", Some(vec!["abc"]))]
    #[case::longest_run("ab.*cdef", Some(vec!["cdef"]))]
    #[case::alternation("foo|b(aaaa|cccc)x", Some(vec!["foo", "aaaa", "cccc"]))]
    #[case::optional_part_is_not_required("(xyz)?abc", Some(vec!["abc"]))]
    #[case::class_only("[a-z]+", None)]
    #[case::one_branch_without_literal("abc|[0-9]+", None)]
    fn required_literals_of_patterns(#[case] pattern: &str, #[case] want: Option<Vec<&str>>) {
        let hir = regex_syntax::parse(pattern).unwrap();
        let mut got = required_literals(&hir);
        if let Some(got) = &mut got {
            got.sort();
            got.dedup();
        }
        let mut want: Option<Vec<Vec<u8>>> =
            want.map(|w| w.iter().map(|s| s.as_bytes().to_vec()).collect());
        if let Some(want) = &mut want {
            want.sort();
        }
        assert_eq!(got, want);
    }

    #[test]
    fn the_builtin_catalogue_has_a_literal_prefilter() {
        assert!(BUILTIN_SET.prefilter.is_some());
    }

    #[test]
    fn very_long_lines_are_cut_not_kept_whole() {
        let set = SignatureSet::builtin();
        let long = format!(
            "failed to start daemon: {}Devices cgroup isn't mounted",
            "é".repeat(40_000)
        );
        let c = set.classify_log(&long);
        assert_eq!(c.signature.as_deref(), Some(UNKNOWN));
        assert!(c.fatal_line.unwrap().len() <= logline::MAX_LINE_BYTES);
        assert_eq!(set.classify_log("").signature, None);
    }

    #[test]
    fn wrapped_and_journald_lines_classify() {
        let set = SignatureSet::builtin();
        let log = "INF docker daemon process started - waiting for daemon to be ready pid=12\n\
                   DBG socket exists, checking daemon with 'docker info'...\n\
                   ERR docker daemon exited error=\"failed to start daemon: Devices cgroup isn't mounted\" exit_code=1\n";
        let c = set.classify_log(log);
        assert_eq!(c.signature.as_deref(), Some("devices-cgroup-missing"));
        assert_eq!(c.line_number, Some(3));
        let wrapped_logrus = r#"INF dockerd line="time=\"2024-09-01T12:00:05Z\" level=error msg=\"Handler for POST /v1.41/containers/create returned error: cgroup-parent for systemd cgroup should be a valid slice named as \\\"xxx.slice\\\"\"""#;
        let c = set.classify_log(wrapped_logrus);
        assert_eq!(
            c.signature.as_deref(),
            Some("systemd-cgroup-parent-not-slice"),
            "{wrapped_logrus}"
        );
    }
}
