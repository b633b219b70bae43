//! Judging a log: the verdict (a known signature, `unknown`, or `ready`),
//! its evidence lines, the warnings worth knowing, and the runs that
//! reproduced the signature.
//!
//! The failure itself is found by `classify::Classifier`, the engine
//! `dindcheck run` uses on kept logs, so both name a log the same way. This
//! module adds what only triage needs: readiness (dockerd's `API listen on`
//! with no fatal or known failure after it) and a bounded list of warnings.
//! It keeps a constant amount of state per log and renders nothing.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, BufRead};

use indexmap::IndexMap;
use memchr::memmem;
use serde::Serialize;

use crate::classify::logline::{self, Level};
use crate::classify::{Classifier, EvidenceLine, SignatureEntry, SignatureSet, UNKNOWN};
use crate::evidence::{self, EvidenceCell};
use crate::report_format::Outcome;

use super::read::LineReader;

/// The schema identifier of triage's JSON output.
pub const SCHEMA: &str = "dindcheck/triage/v1";

/// At most this many distinct warnings are listed; later ones are counted.
const MAX_WARNINGS: usize = 20;
/// Warning texts are cut to this many characters.
const MAX_WARNING_CHARS: usize = 300;

/// Lines that say the daemon is up: dockerd's own, and the one the
/// orchestrator wrapper in the example prints.
const READY_MARKERS: [&str; 2] = ["API listen on ", "docker daemon is ready"];

/// What a log comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A catalogue entry names the failure.
    Known,
    /// Something failed, and no entry explains it.
    Unknown,
    /// The daemon started, and nothing fatal or known came after.
    Ready,
}

/// Why a line is shown as evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The line that ended the daemon (or the container start).
    Fatal,
    /// The line the signature matched, when it is not the fatal line.
    Match,
    /// The line that says the daemon was up.
    Ready,
}

/// One evidence line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TriageLine {
    /// Why the line is shown.
    pub role: Role,
    /// 1-based line number.
    pub line: usize,
    /// The line, trimmed.
    pub text: String,
}

/// A warning or harmless error, counted by message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// `warning` or `error`.
    pub level: &'static str,
    /// Where it first appeared.
    pub line: usize,
    /// How many lines carried the same message.
    pub count: usize,
    /// The message.
    pub text: String,
}

/// The nearest configuration of the same scenario that reached readiness.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadyInstead {
    /// Its cell id.
    pub cell: String,
    /// Its axis values.
    pub axes: IndexMap<String, String>,
    /// `ready` or `container-ok`.
    pub outcome: Outcome,
    /// The axis values it changed.
    pub changed: IndexMap<String, String>,
}

/// A cell of a shipped scenario's run that reproduced the signature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reproduction {
    /// The scenario.
    pub scenario: String,
    /// The cell id.
    pub cell: String,
    /// Its axis values.
    pub axes: IndexMap<String, String>,
    /// How far it got.
    pub outcome: Outcome,
    /// `runsc --version`, for runsc cells.
    pub runsc_version: Option<String>,
    /// The nearest cell that reached readiness instead.
    pub ready_instead: Option<ReadyInstead>,
}

/// The triage of one log: what `--format json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Triage {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The file (`-` for stdin).
    pub source: String,
    /// How many lines were read.
    pub lines: usize,
    /// What the log comes to.
    pub verdict: Verdict,
    /// The signature id, `unknown`, or null for a ready log.
    pub signature: Option<String>,
    /// The catalogue entry, for a known signature.
    pub entry: Option<SignatureEntry>,
    /// The lines that show it, in line order.
    pub evidence: Vec<TriageLine>,
    /// The last line that said the daemon was up, if any (for a failure
    /// after readiness, the failure came later).
    pub ready_line: Option<TriageLine>,
    /// Warnings and non-fatal errors, by first appearance.
    pub warnings: Vec<Warning>,
    /// Warning lines whose messages did not fit in `warnings`.
    pub warnings_omitted: usize,
    /// Where `dindcheck run` reproduced the signature in a shipped scenario.
    pub reproduced: Vec<Reproduction>,
}

impl Triage {
    /// The exit code: 0 for a known signature or a ready log, 1 for an
    /// unknown failure.
    pub fn exit_code(&self) -> u8 {
        match self.verdict {
            Verdict::Known | Verdict::Ready => 0,
            Verdict::Unknown => 1,
        }
    }
}

/// The bounded warnings list.
#[derive(Debug, Default)]
struct Warnings {
    list: Vec<Warning>,
    index: HashMap<String, usize, BuildHasherDefault<Fnv>>,
    omitted: usize,
}

impl Warnings {
    fn add(&mut self, level: Level, line: usize, raw: &str) {
        // Count by the message as written (no unescaping, no allocation);
        // render it only the first time it is seen.
        let key = logline::raw_message(raw);
        let key = &key[..floor_boundary(key, MAX_WARNING_CHARS)];
        if let Some(&i) = self.index.get(key) {
            self.list[i].count += 1;
            return;
        }
        if self.list.len() >= MAX_WARNINGS {
            self.omitted += 1;
            return;
        }
        let plain = logline::strip_ansi(raw);
        let parsed = logline::parse(&plain);
        let mut text = parsed.msg.trim().to_owned();
        // logrus puts the cause in a field: `msg="Failed to …" error="…"`.
        if let Some(error) = logline::field(&plain, "error").filter(|e| !text.contains(&**e)) {
            text = format!("{text}: {error}");
        }
        self.index.insert(key.to_owned(), self.list.len());
        self.list.push(Warning {
            level: level.name(),
            line,
            count: 1,
            text: text.chars().take(MAX_WARNING_CHARS).collect(),
        });
    }
}

/// FNV-1a: warning messages are short and not adversarial, and std's
/// SipHash showed up in profiles of error-heavy logs.
#[derive(Debug)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The largest index `<= max` on a character boundary of `text`.
fn floor_boundary(text: &str, max: usize) -> usize {
    if text.len() <= max {
        return text.len();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// Triage fed one line at a time; constant memory whatever the log's size.
#[derive(Debug)]
pub struct Triager<'s> {
    set: &'s SignatureSet,
    classifier: Classifier<'s>,
    ready: Option<EvidenceLine>,
    warnings: Warnings,
    markers: Vec<memmem::Finder<'static>>,
}

impl<'s> Triager<'s> {
    /// A triager over the catalogue `set`.
    pub fn new(set: &'s SignatureSet) -> Triager<'s> {
        Triager {
            set,
            classifier: Classifier::new(set),
            ready: None,
            warnings: Warnings::default(),
            markers: READY_MARKERS
                .iter()
                .map(|m| memmem::Finder::new(m.as_bytes()))
                .collect(),
        }
    }

    /// Feeds the next line (without its newline).
    pub fn push(&mut self, line: &str) {
        let seen = self.classifier.push(line);
        let number = self.classifier.line_count();
        match seen.level {
            Some(level @ (Level::Warning | Level::Error)) => self.warnings.add(level, number, line),
            Some(Level::Info) | None => {
                if self
                    .markers
                    .iter()
                    .any(|m| m.find(line.as_bytes()).is_some())
                {
                    self.ready = Some(EvidenceLine {
                        number,
                        text: logline::strip_ansi(line).trim().to_owned(),
                    });
                    // What came before readiness did not stop the daemon.
                    self.classifier.restart();
                }
            }
            Some(Level::Debug | Level::Fatal) => {}
        }
    }

    /// The verdict on every line fed.
    pub fn finish(self, source: &str) -> Triage {
        let finding = self.classifier.finish();
        let failed_after_ready = finding.fatal_level == Some(Level::Fatal) || finding.any_match;
        let mut triage = Triage {
            schema: SCHEMA,
            source: source.to_owned(),
            lines: self.classifier.line_count(),
            verdict: Verdict::Unknown,
            signature: Some(UNKNOWN.to_owned()),
            entry: None,
            evidence: Vec::new(),
            ready_line: self.ready.as_ref().map(|l| line(Role::Ready, l)),
            warnings: self.warnings.list,
            warnings_omitted: self.warnings.omitted,
            reproduced: Vec::new(),
        };
        if let Some(ready) = &self.ready
            && !failed_after_ready
        {
            triage.verdict = Verdict::Ready;
            triage.signature = None;
            triage.evidence.push(line(Role::Ready, ready));
            return triage;
        }
        let Some(fatal) = &finding.fatal else {
            // An empty log: nothing ended anything we can see.
            return triage;
        };
        if let (Some((_, matched)), Some(entry)) = (&finding.matched, finding.entry(self.set)) {
            triage.verdict = Verdict::Known;
            triage.signature = Some(entry.id.clone());
            triage.entry = Some(entry.clone());
            if matched.number != fatal.number {
                triage.evidence.push(line(Role::Match, matched));
            }
            triage.reproduced = reproductions(&entry.id);
        }
        triage.evidence.push(line(Role::Fatal, fatal));
        triage.evidence.sort_by_key(|l| l.line);
        triage
    }
}

fn line(role: Role, l: &EvidenceLine) -> TriageLine {
    TriageLine {
        role,
        line: l.number,
        text: l.text.clone(),
    }
}

fn reproductions(signature: &str) -> Vec<Reproduction> {
    evidence::reproduced(signature)
        .into_iter()
        .map(|cell| Reproduction {
            scenario: cell.scenario.clone(),
            cell: cell.id.clone(),
            axes: cell.axes.clone(),
            outcome: cell.outcome,
            runsc_version: cell.runsc_version.clone(),
            ready_instead: evidence::ready_instead(cell).map(|ready| ready_instead(cell, ready)),
        })
        .collect()
}

fn ready_instead(from: &EvidenceCell, ready: &EvidenceCell) -> ReadyInstead {
    ReadyInstead {
        cell: ready.id.clone(),
        axes: ready.axes.clone(),
        outcome: ready.outcome,
        changed: evidence::changed(from, ready)
            .into_iter()
            .map(|(axis, value)| (axis.to_owned(), value.to_owned()))
            .collect(),
    }
}

/// Triage of a log held in memory (tests, benchmarks).
pub fn triage_str(set: &SignatureSet, source: &str, log: &str) -> Triage {
    let mut triager = Triager::new(set);
    for line in log.lines() {
        triager.push(line);
    }
    triager.finish(source)
}

/// Triage of a log read as a stream: one capped line in memory at a time.
///
/// # Errors
/// The reader's errors.
pub fn triage_reader(set: &SignatureSet, source: &str, reader: impl BufRead) -> io::Result<Triage> {
    let mut lines = LineReader::new(reader);
    let mut triager = Triager::new(set);
    while let Some(bytes) = lines.next_line()? {
        match std::str::from_utf8(bytes) {
            Ok(text) => triager.push(text),
            Err(_) => triager.push(&String::from_utf8_lossy(bytes)),
        }
    }
    Ok(triager.finish(source))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::LazyLock;

    use proptest::prelude::*;
    use rstest::rstest;

    use super::*;

    static SET: LazyLock<SignatureSet> = LazyLock::new(SignatureSet::builtin);

    fn triage_file(path: &Path) -> Triage {
        let file = std::fs::File::open(path).unwrap();
        triage_reader(&SET, &path.display().to_string(), io::BufReader::new(file)).unwrap()
    }

    /// Every failure fixture triages to the signature it is filed under,
    /// and its evidence lines are lines of the file.
    #[rstest]
    fn failure_fixtures_name_their_signature(
        #[files("fixtures/logs/*/match/*.log")] path: PathBuf,
    ) {
        let expected = path
            .parent()
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .expect("fixtures/logs/<id>/match/<file>")
            .to_string_lossy()
            .into_owned();
        let triage = triage_file(&path);
        assert_eq!(triage.verdict, Verdict::Known, "{}", path.display());
        assert_eq!(triage.signature.as_deref(), Some(expected.as_str()));
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        for e in &triage.evidence {
            assert_eq!(lines[e.line - 1].trim(), e.text, "{}", path.display());
        }
        assert_eq!(triage.exit_code(), 0);
    }

    #[rstest]
    fn ready_fixtures_are_ready(#[files("fixtures/logs/ready/*.log")] path: PathBuf) {
        let triage = triage_file(&path);
        assert_eq!(
            triage.verdict,
            Verdict::Ready,
            "{}: {triage:?}",
            path.display()
        );
        assert_eq!(triage.signature, None);
        assert_eq!(triage.evidence.len(), 1);
        assert_eq!(triage.exit_code(), 0);
    }

    #[rstest]
    fn unknown_fixtures_are_unknown(#[files("fixtures/logs/unknown/*.log")] path: PathBuf) {
        let triage = triage_file(&path);
        assert_eq!(triage.verdict, Verdict::Unknown, "{}", path.display());
        assert_eq!(triage.signature.as_deref(), Some(UNKNOWN));
        assert_eq!(triage.exit_code(), 1);
    }

    /// Triage and the runner's `classify_log` agree on every failure log.
    #[rstest]
    fn triage_agrees_with_classify_log(#[files("fixtures/logs/*/match/*.log")] path: PathBuf) {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let classification = SET.classify_log(&text);
        let triage = triage_str(&SET, "-", &text);
        assert_eq!(
            triage.signature,
            classification.signature,
            "{}",
            path.display()
        );
        let matched = triage
            .evidence
            .iter()
            .find(|e| e.role == Role::Match)
            .or_else(|| triage.evidence.iter().find(|e| e.role == Role::Fatal))
            .unwrap();
        assert_eq!(Some(matched.line), classification.line_number);
    }

    #[test]
    fn harmless_errors_before_the_fatal_line_are_warnings_not_the_verdict() {
        let log = "time=\"2024-09-01T12:00:00Z\" level=error msg=\"failed to mount overlay: invalid argument\" storage-driver=overlay2\n\
                   time=\"2024-09-01T12:00:00Z\" level=warning msg=\"Your kernel does not support swap memory limit\"\n\
                   time=\"2024-09-01T12:00:00Z\" level=warning msg=\"Your kernel does not support swap memory limit\"\n\
                   failed to start daemon: Devices cgroup isn't mounted\n";
        let t = triage_str(&SET, "-", log);
        assert_eq!(t.signature.as_deref(), Some("devices-cgroup-missing"));
        assert_eq!(t.evidence.len(), 1);
        assert_eq!(t.evidence[0].line, 4);
        assert_eq!(t.warnings.len(), 2);
        assert_eq!(t.warnings[1].count, 2);
        assert!(!t.reproduced.is_empty());
        assert!(t.reproduced.iter().any(|r| r.ready_instead.is_some()));
    }

    #[test]
    fn a_known_failure_after_readiness_is_named() {
        let log = "failed to start daemon: Devices cgroup isn't mounted\n\
                   time=\"2024-09-01T12:00:04Z\" level=info msg=\"API listen on /var/run/docker.sock\"\n\
                   time=\"2024-09-01T12:00:05Z\" level=error msg=\"Handler for POST /v1.41/containers/x/start returned error: failed to create shim task: OCI runtime create failed: runc create failed: systemd not running on this host, cannot use systemd cgroups manager: unknown\"\n\
                   time=\"2024-09-01T12:00:06Z\" level=error msg=\"Handler for GET /v1.41/containers/y/json returned error: No such container: y\"\n";
        let t = triage_str(&SET, "-", log);
        assert_eq!(t.signature.as_deref(), Some("systemd-not-running"));
        assert_eq!(t.ready_line.as_ref().map(|l| l.line), Some(2));
        let roles: Vec<(Role, usize)> = t.evidence.iter().map(|e| (e.role, e.line)).collect();
        assert_eq!(roles, [(Role::Match, 3), (Role::Fatal, 4)]);
    }

    #[test]
    fn an_earlier_failed_start_does_not_spoil_a_later_ready_one() {
        let log = "failed to start daemon: Devices cgroup isn't mounted\n\
                   time=\"2024-09-01T12:00:04Z\" level=info msg=\"API listen on /var/run/docker.sock\"\n\
                   time=\"2024-09-01T12:00:06Z\" level=error msg=\"Handler for GET /v1.41/containers/y/json returned error: No such container: y\"\n";
        let t = triage_str(&SET, "-", log);
        assert_eq!(t.verdict, Verdict::Ready);
        assert_eq!(t.evidence[0].line, 2);
        assert_eq!(t.warnings.len(), 1);
    }

    #[test]
    fn a_fatal_line_after_readiness_is_a_failure() {
        let log = "time=\"2024-09-01T12:00:04Z\" level=info msg=\"API listen on /var/run/docker.sock\"\n\
                   panic: runtime error: invalid memory address or nil pointer dereference\n";
        let t = triage_str(&SET, "-", log);
        assert_eq!(t.verdict, Verdict::Unknown);
        assert_eq!(t.evidence[0].line, 2);
    }

    #[test]
    fn empty_input_is_unknown_without_evidence() {
        let t = triage_str(&SET, "-", "");
        assert_eq!(
            (t.verdict, t.lines, t.evidence.len()),
            (Verdict::Unknown, 0, 0)
        );
    }

    #[test]
    fn warnings_are_bounded() {
        let log: String = (0..1000)
            .map(|i| format!("time=\"x\" level=warning msg=\"warning number {i}\"\n"))
            .collect();
        let t = triage_str(&SET, "-", &log);
        assert_eq!(t.warnings.len(), MAX_WARNINGS);
        assert_eq!(t.warnings_omitted, 1000 - MAX_WARNINGS);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let t = triage_reader(&SET, "-", io::Cursor::new(&bytes)).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            prop_assert_eq!(&t, &triage_str(&SET, "-", &text));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        #[test]
        fn long_lines_never_panic(len in 0usize..(3 * logline::MAX_LINE_BYTES), fill in any::<char>()) {
            let mut log: String = std::iter::repeat_n(fill, len / fill.len_utf8()).collect();
            log.push_str("\nfailed to start daemon: Devices cgroup isn't mounted");
            let t = triage_reader(&SET, "-", io::Cursor::new(log.as_bytes())).unwrap();
            prop_assert_eq!(t.signature.as_deref(), Some("devices-cgroup-missing"));
        }
    }
}
