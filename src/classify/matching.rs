//! The compiled catalogue: [`SignatureSet`] turns checked entries into a
//! literal prefilter and one `Regex` per entry (compiled when a line first
//! needs it) and answers which entry, first by precedence, matches a line
//! or a message. The built-in catalogue is compiled once per process
//! ([`SignatureSet::shared`]).
//!
//! It must not choose which line of a log is fatal (that is `stream.rs`),
//! and it must not import from `stream.rs`; the entries and their checks
//! come from `catalogue.rs`.

use std::path::Path;
use std::sync::{LazyLock, OnceLock};

use regex::bytes::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use super::catalogue::{
    BUILTIN_ENTRIES, CatalogueError, SignatureEntry, UNKNOWN, check_entry, entry_position,
    parse_entries,
};
use super::family::Family;
use super::logline;
use super::prefilter::Prefilter;

/// A compiled catalogue.
#[derive(Debug, Clone)]
pub struct SignatureSet {
    entries: Vec<SignatureEntry>,
    /// Each entry's pattern, compiled the first time a line contains one
    /// of its literals: most entries never meet a line that could match,
    /// and two hundred compiled patterns cost more memory and start-up time
    /// than reading a log.
    regexes: Vec<OnceLock<Regex>>,
    /// Which entries a line could match, from the literals each needs.
    prefilter: Prefilter,
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
    /// The failure's family: the entry's, else the one the fatal line's
    /// words name; `None` when the log shows no failure or its words name
    /// no family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
}

impl SignatureSet {
    /// The catalogue shipped inside the binary.
    pub fn builtin() -> SignatureSet {
        // The embedded entries pass every check, their patterns compile,
        // and the build script's JSON and plan are what the YAML makes
        // (`the_builtin_catalogue_passes_every_check_and_is_what_its_yaml_says`):
        // here they are only read, and each pattern is compiled when first
        // needed.
        let entries: Vec<SignatureEntry> = serde_json::from_str(BUILTIN_ENTRIES)
            .expect("the build script writes entries this version reads");
        let mut regexes = Vec::new();
        regexes.resize_with(entries.len(), OnceLock::new);
        SignatureSet {
            entries,
            regexes,
            prefilter: Prefilter::builtin(),
        }
    }

    /// The catalogue shipped inside the binary, compiled on first use and
    /// shared by every caller for the rest of the process.
    pub fn shared() -> &'static SignatureSet {
        static SHARED: LazyLock<SignatureSet> = LazyLock::new(SignatureSet::builtin);
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
    /// point at errors), followed by `trusted` entries already checked,
    /// whose patterns are compiled when first needed. Each checked entry is
    /// checked, then its pattern compiled, before the next one: the first
    /// error in the file is the one reported.
    fn from_entries(
        path: &Path,
        text: &str,
        checked: Vec<SignatureEntry>,
        trusted: Vec<SignatureEntry>,
    ) -> Result<SignatureSet, CatalogueError> {
        let name = path.display().to_string();
        let mut regexes = Vec::with_capacity(checked.len() + trusted.len());
        for (i, entry) in checked.iter().enumerate() {
            check_entry(&name, text, &checked[..i], entry)?;
            let regex = compile(&entry.pattern).map_err(|source| CatalogueError::Pattern {
                path: name.clone(),
                position: entry_position(text, &entry.id, "pattern", 0),
                id: entry.id.clone(),
                source,
            })?;
            regexes.push(OnceLock::from(regex));
        }
        regexes.resize_with(checked.len() + trusted.len(), OnceLock::new);
        let mut entries = checked;
        entries.extend(trusted);
        let prefilter = Prefilter::new(entries.iter().map(|e| e.pattern.as_str()));
        Ok(SignatureSet {
            entries,
            regexes,
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
        Some(&self.entries[self.first_match(line)?])
    }

    /// Classifies one message (a container start error from the API).
    pub fn classify_message(&self, message: &str) -> Classification {
        let entry = self.match_line(message);
        Classification {
            signature: Some(entry.map_or(UNKNOWN.to_owned(), |e| e.id.clone())),
            fatal_line: Some(message.trim().to_owned()),
            line_number: None,
            family: entry.map_or_else(|| Family::of_words(message), |e| Some(e.family)),
        }
    }

    /// The index of the first entry matching `text`, or the words a
    /// wrapper's line carries in `embedded`. Patterns never see a line's
    /// leading logrus timestamp (`time="…" `): it is not part of what the
    /// line says, and every line would pay for reading it.
    pub(super) fn match_index(&self, text: &str, embedded: Option<&str>) -> Option<usize> {
        let text = logline::without_leading_time(text);
        if let Some(inner) = embedded
            && lies_within(inner, text)
        {
            // Every literal of the carried words is in the line: one search
            // names the candidates of both, and the first candidate that
            // matches either is the first entry of both.
            return self.prefilter.first(text, |entry| {
                let regex = self.regex(entry);
                regex.is_match(text.as_bytes()) || regex.is_match(inner.as_bytes())
            });
        }
        let first = self.first_match(text);
        let inner = embedded.and_then(|e| self.first_match(e));
        match (first, inner) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The index of the first entry (by precedence) whose pattern matches
    /// `text`. Most lines contain no entry's literals and run no pattern;
    /// the others run only the patterns of the entries whose literals they
    /// contain, in precedence order, until one matches.
    fn first_match(&self, text: &str) -> Option<usize> {
        self.prefilter
            .first(text, |entry| self.regex(entry).is_match(text.as_bytes()))
    }

    /// The compiled pattern of entry `index`.
    fn regex(&self, index: usize) -> &Regex {
        self.regexes[index].get_or_init(|| {
            compile(&self.entries[index].pattern)
                .expect("the built-in patterns compile (tested), and others compiled when checked")
        })
    }

    /// The index of the first entry matching a framed line.
    pub(super) fn match_framed(&self, text: &str) -> Option<usize> {
        let frame = logline::frame(text);
        let embedded = frame.embedded.map(|e| e.text());
        self.match_index(text, embedded.as_deref())
    }
}

/// Whether `part` is a slice of `whole` (not a copy of some of its text).
fn lies_within(part: &str, whole: &str) -> bool {
    let (part_at, whole_at) = (part.as_ptr() as usize, whole.as_ptr() as usize);
    part_at >= whole_at && part_at + part.len() <= whole_at + whole.len()
}

/// A catalogue pattern as the classifier runs it: over the line's bytes,
/// with ASCII classes (`\w`, `\b`, `\d`, `\s`, case folding). Log lines
/// are ASCII where the patterns look, and Unicode classes made each
/// compiled pattern several times larger (the whole catalogue's memory
/// is in the patterns a log's lines wake).
fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).unicode(false).build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::catalogue::BUILTIN;

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
    fn the_shared_catalogue_is_compiled_once_and_is_the_builtin_one() {
        let shared = SignatureSet::shared();
        assert!(std::ptr::eq(shared, SignatureSet::shared()));
        assert_eq!(shared.entries(), SignatureSet::builtin().entries());
    }

    /// The catalogue as shipped: every entry cites its source and the
    /// versions that print it, and has at least one fixture log filed
    /// under its id (which `stream::tests` classifies to it); every fixture
    /// directory names an entry, `ready` or `unknown`.
    #[test]
    fn every_entry_has_a_source_versions_and_a_fixture() {
        let set = SignatureSet::shared();
        for entry in set.entries() {
            assert!(!entry.source.trim().is_empty(), "{}: no source", entry.id);
            assert!(
                entry
                    .versions
                    .as_deref()
                    .is_some_and(|v| !v.trim().is_empty()),
                "{}: no versions",
                entry.id
            );
            let dir = Path::new("fixtures/logs").join(&entry.id).join("match");
            let logs = std::fs::read_dir(&dir)
                .map(|d| d.filter_map(Result::ok).count())
                .unwrap_or(0);
            assert!(logs > 0, "{}: no fixture in {}", entry.id, dir.display());
        }
        for dir in std::fs::read_dir("fixtures/logs").unwrap() {
            let name = dir.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                name == "ready" || name == "unknown" || set.get(&name).is_some(),
                "fixtures/logs/{name} names no entry"
            );
        }
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
        let text = "signatures:\n  - {id: a, pattern: '(', family: config, title: t, root_cause: r, fix: f, source: s}\n";
        let err = SignatureSet::parse(Path::new("mine.yaml"), text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "mine.yaml:2:13: signature `a` has an invalid pattern"
        );
    }

    const ENTRY: &str = "family: config, title: t, root_cause: r, fix: f, source: s";

    /// The catalogue's checks run on each entry before its pattern is
    /// compiled, so the first faulty entry is the one reported.
    #[rstest::rstest]
    #[case::bad_pattern_first(
        "{id: a, pattern: '('}",
        "{id: Bad, pattern: x}",
        "m.yaml:2:13: signature `a` has an invalid pattern"
    )]
    #[case::bad_id_first(
        "{id: Bad, pattern: x}",
        "{id: a, pattern: '('}",
        "m.yaml:2:6: signature `Bad`: ids are kebab-case: lower-case letters, digits and single dashes"
    )]
    #[case::duplicate_after_a_good_pattern(
        "{id: a, pattern: x}",
        "{id: a, pattern: '('}",
        "m.yaml:3:6: signature id `a` appears twice"
    )]
    fn the_first_faulty_entry_is_reported(
        #[case] first: &str,
        #[case] second: &str,
        #[case] expected: &str,
    ) {
        let with = |entry: &str| entry.replace('}', &format!(", {ENTRY}}}"));
        let text = format!("signatures:\n  - {}\n  - {}\n", with(first), with(second));
        let err = SignatureSet::parse(Path::new("m.yaml"), &text).unwrap_err();
        assert_eq!(err.to_string(), expected);
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
        let c = set.classify_message("failed to start daemon: Devices cgroup isn't mounted");
        assert_eq!(c.signature.as_deref(), Some("my-devices"));
        let c = set.classify_message("failed to start daemon: disk full");
        assert_eq!(c.signature.as_deref(), Some("storage-no-space"));
        let c = set.classify_message("failed to start daemon: no space left on device");
        assert_eq!(c.signature.as_deref(), Some(UNKNOWN));
    }

    #[test]
    fn only_a_slice_of_the_line_lies_within_it() {
        let line = String::from("error=\"boom\"");
        let copy = String::from("boom");
        assert!(lies_within(&line[7..11], &line) && lies_within(&line, &line));
        assert!(!lies_within(&copy, &line));
    }

    #[test]
    fn the_builtin_catalogue_passes_every_check_and_is_what_its_yaml_says() {
        // `builtin()` only reads the build script's JSON and plan; this is
        // the check it relies on: every entry of the YAML passes
        // `check_entry` and compiles, the JSON reads as the same entries in
        // the same order, and the plan is the one made from their patterns.
        let from_yaml = SignatureSet::parse(Path::new("src/signatures.yaml"), BUILTIN).unwrap();
        assert!(from_yaml.regexes.iter().all(|r| r.get().is_some()));
        let builtin = SignatureSet::builtin();
        assert_eq!(builtin.entries(), from_yaml.entries());
        assert!(builtin.prefilter.has_the_plan_of(&from_yaml.prefilter));
        assert_eq!(builtin.regexes.len(), builtin.entries().len());
    }

    #[test]
    fn the_builtin_catalogue_has_a_literal_prefilter() {
        // Every pattern must require a literal of 3 bytes or more, or its
        // entry is a candidate on every line and runs its pattern on each.
        let weak: Vec<&str> = SignatureSet::shared()
            .entries()
            .iter()
            .filter(|e| Prefilter::new([e.pattern.as_str()].into_iter()).has_unfiltered())
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(weak, Vec::<&str>::new());
    }

    /// Every line of every fixture log, and the words its frame carries:
    /// the prefilter and the per-entry patterns name the same entry as the
    /// whole catalogue as one `RegexSet` (the first of its matches).
    #[test]
    fn the_prefilter_names_the_entry_a_regex_set_names() {
        let set = SignatureSet::builtin();
        let reference =
            regex::bytes::RegexSetBuilder::new(set.entries().iter().map(|e| &e.pattern))
                .unicode(false)
                .build()
                .unwrap();
        let mut logs: Vec<std::path::PathBuf> = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from("fixtures/logs")];
        while let Some(dir) = dirs.pop() {
            for item in std::fs::read_dir(&dir).unwrap() {
                let path = item.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    logs.push(path);
                }
            }
        }
        let mut lines = 0;
        let mut matched = 0;
        for path in &logs {
            let log = std::fs::read_to_string(path).unwrap();
            for line in log.lines() {
                let frame = logline::frame(line);
                let embedded = frame.embedded.map(|e| e.text());
                let mut wants = Vec::new();
                for text in std::iter::once(line).chain(embedded.as_deref()) {
                    let want = reference.matches(text.as_bytes()).into_iter().next();
                    assert_eq!(set.first_match(text), want, "{}: {text}", path.display());
                    wants.extend(want);
                    lines += 1;
                    matched += usize::from(want.is_some());
                }
                // Carried words borrowed from the line share its search.
                assert_eq!(
                    set.match_index(line, embedded.as_deref()),
                    wants.into_iter().min(),
                    "{}: {line}",
                    path.display()
                );
            }
        }
        // The fixtures exercise both sides.
        assert!(
            matched >= set.entries().len() && lines > 2 * matched,
            "{matched} of {lines}"
        );
    }
}
