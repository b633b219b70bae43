//! Judging a log: the verdict (a known signature, a failure only its family
//! names, `ready`, or `unknown` for a log that shows no failure), its phase
//! (dockerd's start-up or a container start), its evidence lines, the
//! warnings worth knowing, and the runs that reproduced the signature.
//!
//! The failure itself is found by `classify::Classifier`, the engine
//! `dindcheck run` uses on kept logs, so both name a log the same way. This
//! module adds what only triage needs: readiness (`API listen on`, `Daemon
//! has completed initialization`, systemd's `Started … Docker Application
//! Container Engine`), after which only a container start that failed, a
//! fatal line or a known failure counts, and a bounded list of warnings. It
//! keeps a constant amount of state per log and renders nothing.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, BufRead};

use indexmap::IndexMap;
use serde::Serialize;

use crate::classify::logline::{self, Level};
use crate::classify::phase::says_ready;
use crate::classify::{Classifier, EvidenceLine, Family, Phase, SignatureEntry, SignatureSet};
use crate::evidence::{self, EvidenceCell, ProvenFix};
use crate::report_format::Outcome;

use super::read::LineReader;

/// The schema identifier of triage's JSON output.
pub const SCHEMA: &str = "dindcheck/triage/v2";

/// At most this many distinct warnings are listed; later ones are counted.
const MAX_WARNINGS: usize = 20;
/// Warning texts are cut to this many characters.
const MAX_WARNING_CHARS: usize = 300;

/// What a log comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A catalogue entry names the failure.
    Known,
    /// Something failed and no entry explains it; the family, when there
    /// is one, comes from the words of the line that ended it.
    Unmatched,
    /// The daemon started, and nothing fatal or known came after.
    Ready,
    /// The log shows no failure and no readiness.
    Unknown,
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
    /// The last line of a log that shows no failure.
    Last,
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
    /// What failed: `daemon-failed` (dockerd did not reach readiness, or
    /// died), `container-failed` (dockerd served and a container start, or
    /// a request, failed), `ready`; null when the log shows neither.
    pub phase: Option<Outcome>,
    /// The failure's family: the entry's, else the one the words of the
    /// line that ended it name; null for a ready log or when no word does.
    pub family: Option<Family>,
    /// The catalogue entry's id; null when no entry names the failure.
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
    /// The entry's fix as written: never proven (no cell applies prose),
    /// with the source it was written from.
    pub fix: Option<FixText>,
    /// The changes shipped runs prove get dockerd past this failure: a
    /// cell applied exactly the change and reached readiness.
    pub proven_fixes: Vec<ProvenFix>,
}

/// A fix as the catalogue writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixText {
    /// The advice.
    pub text: String,
    /// Whether a shipped scenario cell applied exactly this text and got
    /// past the failure: never for prose (see `proven_fixes`).
    pub proven: bool,
    /// Where the advice comes from.
    pub source: String,
    /// Each command and flag the advice quotes (its backquoted parts), and
    /// whether a shipped run applied exactly it and got past the failure.
    pub commands: Vec<FixCommand>,
}

/// A command or dockerd flag quoted in a fix, with its proof if any.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixCommand {
    /// The quoted text, verbatim.
    pub text: String,
    /// Whether a shipped run proves it (`proof` names the cells).
    pub proven: bool,
    /// The cell that applied exactly this text and got past the failure,
    /// and the one that failed without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<CommandProof>,
}

/// The two cells that prove a [`FixCommand`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommandProof {
    /// The scenario both cells belong to.
    pub scenario: String,
    /// The cell that applied the command.
    pub fixed_cell: String,
    /// How far it got.
    pub fixed_outcome: Outcome,
    /// The cell without it, which failed with the signature.
    pub failed_cell: String,
}

/// The flags and commands a fix quotes ([`evidence::Change::quoted_in`]),
/// each looked up in the shipped runs.
fn fix_commands(fix: &str, signature: &str) -> Vec<FixCommand> {
    evidence::Change::quoted_in(fix)
        .into_iter()
        .map(|change| {
            let proof = evidence::prove_change(change, signature).map(|p| CommandProof {
                scenario: p.fixed.scenario.clone(),
                fixed_cell: p.fixed.id.clone(),
                fixed_outcome: p.fixed.outcome,
                failed_cell: p.failed.id.clone(),
            });
            FixCommand {
                text: change.text().to_owned(),
                proven: proof.is_some(),
                proof,
            }
        })
        .collect()
}

impl Triage {
    /// The exit code: 0 for a known signature or a ready log, 1 for a
    /// failure no entry names or a log that shows nothing.
    pub fn exit_code(&self) -> u8 {
        match self.verdict {
            Verdict::Known | Verdict::Ready => 0,
            Verdict::Unmatched | Verdict::Unknown => 1,
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
}

impl<'s> Triager<'s> {
    /// A triager over the catalogue `set`.
    pub fn new(set: &'s SignatureSet) -> Triager<'s> {
        Triager {
            set,
            classifier: Classifier::new(set),
            ready: None,
            warnings: Warnings::default(),
        }
    }

    /// Feeds the next line (without its newline).
    pub fn push(&mut self, line: &str) {
        let seen = self.classifier.push(line);
        let number = self.classifier.line_count();
        match seen.level {
            Some(level @ (Level::Warning | Level::Error)) => self.warnings.add(level, number, line),
            Some(Level::Info) | None => {
                if says_ready(line) {
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
        let mut triage = Triage {
            schema: SCHEMA,
            source: source.to_owned(),
            lines: self.classifier.line_count(),
            verdict: Verdict::Unknown,
            phase: None,
            family: None,
            signature: None,
            entry: None,
            evidence: Vec::new(),
            ready_line: self.ready.as_ref().map(|l| line(Role::Ready, l)),
            warnings: self.warnings.list,
            warnings_omitted: self.warnings.omitted,
            reproduced: Vec::new(),
            fix: None,
            proven_fixes: Vec::new(),
        };
        // After readiness an error line is a failure only when it ended a
        // container start, is fatal, or a catalogue entry names it (a
        // warning never is), or when systemd said the service died.
        let failed = finding.failed
            && (self.ready.is_none()
                || finding.unit_failed
                || finding.phase == Some(Phase::Container)
                || finding.fatal_level == Some(Level::Fatal)
                || (finding.matched.is_some() && finding.fatal_level >= Some(Level::Error)));
        if !failed {
            if let Some(ready) = &self.ready {
                triage.verdict = Verdict::Ready;
                triage.phase = Some(Outcome::Ready);
                triage.evidence.push(line(Role::Ready, ready));
            } else if let Some(last) = &finding.fatal {
                triage.evidence.push(line(Role::Last, last));
            }
            return triage;
        }
        let Some(fatal) = &finding.fatal else {
            return triage;
        };
        triage.phase = Some(match finding.phase {
            Some(Phase::Container) => Outcome::ContainerFailed,
            _ => Outcome::DaemonFailed,
        });
        triage.family = finding.family;
        triage.verdict = Verdict::Unmatched;
        if let (Some((_, matched)), Some(entry)) = (&finding.matched, finding.entry(self.set)) {
            triage.verdict = Verdict::Known;
            triage.signature = Some(entry.id.clone());
            triage.entry = Some(entry.clone());
            if matched.number != fatal.number {
                triage.evidence.push(line(Role::Match, matched));
            }
            triage.reproduced = reproductions(&entry.id);
            triage.fix = Some(FixText {
                text: entry.fix.trim().to_owned(),
                proven: false,
                source: entry.source.trim().to_owned(),
                commands: fix_commands(entry.fix.trim(), &entry.id),
            });
            triage.proven_fixes = evidence::proven_fixes(&entry.id);
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

    use proptest::prelude::*;
    use rstest::rstest;

    use super::*;
    use crate::classify::UNKNOWN;

    fn set() -> &'static SignatureSet {
        SignatureSet::shared()
    }

    fn triage_file(path: &Path) -> Triage {
        let file = std::fs::File::open(path).unwrap();
        triage_reader(set(), &path.display().to_string(), io::BufReader::new(file)).unwrap()
    }

    /// Every failure fixture triages to the signature it is filed under,
    /// with the entry's family, and its evidence lines are lines of the
    /// file. Fixtures of a container start (`api-after-ready-*`, `cli-*`)
    /// are `container-failed`.
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
        let entry = set().get(&expected).unwrap();
        assert_eq!(triage.family, Some(entry.family));
        let name = path.file_name().unwrap().to_string_lossy();
        if name.starts_with("api-after-ready") || name.starts_with("cli") {
            assert_eq!(
                triage.phase,
                Some(Outcome::ContainerFailed),
                "{}",
                path.display()
            );
        }
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
        assert_eq!((triage.signature.as_deref(), triage.family), (None, None));
        assert_eq!(triage.phase, Some(Outcome::Ready));
        assert_eq!(triage.evidence.len(), 1);
        assert_eq!(triage.exit_code(), 0);
    }

    /// Failures no entry explains: still a failure, with the line that
    /// ended it, and never named by an unrelated earlier error.
    #[rstest]
    fn unknown_fixtures_are_unmatched_failures(
        #[files("fixtures/logs/unknown/*.log")] path: PathBuf,
    ) {
        let triage = triage_file(&path);
        assert_eq!(triage.verdict, Verdict::Unmatched, "{}", path.display());
        assert_eq!(triage.signature, None);
        assert!(triage.phase.is_some());
        assert!(triage.evidence.iter().all(|e| e.role == Role::Fatal));
        assert_eq!(triage.exit_code(), 1);
    }

    /// Triage and the runner's `classify_log` agree on every failure log.
    #[rstest]
    fn triage_agrees_with_classify_log(#[files("fixtures/logs/*/match/*.log")] path: PathBuf) {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let classification = set().classify_log(&text);
        let triage = triage_str(set(), "-", &text);
        assert_eq!(
            triage.signature,
            classification.signature,
            "{}",
            path.display()
        );
        assert_eq!(triage.family, classification.family);
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
        let t = triage_str(set(), "-", log);
        assert_eq!(t.signature.as_deref(), Some("devices-cgroup-missing"));
        assert_eq!(t.family, Some(Family::Cgroup));
        assert_eq!(t.phase, Some(Outcome::DaemonFailed));
        assert_eq!(t.evidence.len(), 1);
        assert_eq!(t.evidence[0].line, 4);
        assert_eq!(t.warnings.len(), 2);
        assert_eq!(t.warnings[1].count, 2);
        assert!(!t.reproduced.is_empty());
        assert!(t.reproduced.iter().any(|r| r.ready_instead.is_some()));
    }

    #[test]
    fn a_known_failure_after_readiness_is_a_container_failure_named_by_its_start() {
        let log = "failed to start daemon: Devices cgroup isn't mounted\n\
                   time=\"2024-09-01T12:00:04Z\" level=info msg=\"API listen on /var/run/docker.sock\"\n\
                   time=\"2024-09-01T12:00:05Z\" level=error msg=\"Handler for POST /v1.41/containers/x/start returned error: failed to create shim task: OCI runtime create failed: runc create failed: systemd not running on this host, cannot use systemd cgroups manager: unknown\"\n\
                   time=\"2024-09-01T12:00:06Z\" level=error msg=\"Handler for GET /v1.41/containers/y/json returned error: No such container: y\"\n";
        let t = triage_str(set(), "-", log);
        assert_eq!(t.signature.as_deref(), Some("systemd-not-running"));
        assert_eq!(t.phase, Some(Outcome::ContainerFailed));
        assert_eq!(t.ready_line.as_ref().map(|l| l.line), Some(2));
        let roles: Vec<(Role, usize)> = t.evidence.iter().map(|e| (e.role, e.line)).collect();
        assert_eq!(roles, [(Role::Fatal, 3)]);
    }

    const READY_LINES: [&str; 4] = [
        "time=\"2024-09-01T12:00:04Z\" level=info msg=\"API listen on /var/run/docker.sock\"",
        "time=\"2024-09-01T12:00:04Z\" level=info msg=\"Daemon has completed initialization\"",
        "Sep 01 12:00:04 host systemd[1]: Started Docker Application Container Engine.",
        "Sep 01 12:00:04 host systemd[1]: Started docker.service - Docker Application Container Engine.",
    ];

    /// A container start that fails after readiness is never `ready`,
    /// whatever shape readiness and the failure take, and whether or not
    /// an entry names the failure.
    #[rstest]
    #[case::api_start_unknown_words(
        "time=\"2024-09-01T12:00:05Z\" level=error msg=\"Handler for POST /v1.45/containers/ab12/start returned error: the quux went sideways\"",
        None
    )]
    #[case::shim_task(
        "time=\"2024-09-01T12:00:05Z\" level=error msg=\"failed to create shim task: something new: unknown\"",
        Some("oci-runtime-failed")
    )]
    #[case::oci_runtime(
        "ERRO[0005] OCI runtime create failed: something new: unknown",
        Some("oci-runtime-failed")
    )]
    #[case::runtime_did_not_terminate(
        "time=\"2024-09-01T12:00:05Z\" level=error msg=\"Handler for POST /v1.45/containers/ab12/start returned error: failed to create shim task: OCI runtime create failed: runsc did not terminate successfully: exit status 128: unknown\"",
        Some("runsc-did-not-terminate")
    )]
    #[case::cli(
        "docker: Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error mounting \"proc\" to rootfs at \"/proc\": mount proc:/proc (via /proc/self/fd/7), flags: 0xe: operation not permitted: unknown.",
        Some("runc-mount-proc-failed")
    )]
    fn a_container_failure_after_readiness_is_never_ready(
        #[case] failure: &str,
        #[case] signature: Option<&str>,
        #[values(0, 1, 2, 3)] ready: usize,
    ) {
        let log = format!(
            "time=\"2024-09-01T12:00:00Z\" level=info msg=\"Starting up\"\n{}\n{failure}\n\
             time=\"2024-09-01T12:00:07Z\" level=error msg=\"Handler for GET /v1.45/containers/zz/json returned error: No such container: zz\"\n",
            READY_LINES[ready]
        );
        let t = triage_str(set(), "-", &log);
        assert_ne!(t.verdict, Verdict::Ready, "{log}");
        assert_eq!(t.phase, Some(Outcome::ContainerFailed), "{log}");
        assert_eq!(t.signature.as_deref(), signature, "{log}");
        assert!(t.family.is_some(), "{log}");
        assert_eq!(t.evidence.last().map(|e| e.line), Some(3), "{log}");
        assert_eq!(t.ready_line.as_ref().map(|l| l.line), Some(2));
    }

    #[rstest]
    fn every_readiness_shape_is_recognised(#[values(0, 1, 2, 3)] ready: usize) {
        let log = format!(
            "time=\"2024-09-01T12:00:00Z\" level=warning msg=\"failed to load plugin\" error=\"x\"\n{}\n",
            READY_LINES[ready]
        );
        let t = triage_str(set(), "-", &log);
        assert_eq!((t.verdict, t.phase), (Verdict::Ready, Some(Outcome::Ready)));
    }

    #[test]
    fn an_earlier_failed_start_does_not_spoil_a_later_ready_one() {
        let log = "failed to start daemon: Devices cgroup isn't mounted\n\
                   time=\"2024-09-01T12:00:04Z\" level=info msg=\"API listen on /var/run/docker.sock\"\n\
                   time=\"2024-09-01T12:00:06Z\" level=error msg=\"Handler for GET /v1.41/containers/y/json returned error: No such container: y\"\n";
        let t = triage_str(set(), "-", log);
        assert_eq!(t.verdict, Verdict::Ready);
        assert_eq!(t.evidence[0].line, 2);
        assert_eq!(t.warnings.len(), 1);
    }

    #[test]
    fn a_fatal_line_after_readiness_is_a_failure() {
        let log = "time=\"2024-09-01T12:00:04Z\" level=info msg=\"API listen on /var/run/docker.sock\"\n\
                   panic: runtime error: invalid memory address or nil pointer dereference\n";
        let t = triage_str(set(), "-", log);
        assert_eq!(t.verdict, Verdict::Unmatched);
        assert_eq!(t.phase, Some(Outcome::DaemonFailed));
        assert_eq!(t.evidence[0].line, 2);
    }

    #[test]
    fn systemd_saying_the_service_died_after_readiness_is_a_failure() {
        let log = "Sep 01 12:00:04 h systemd[1]: Started Docker Application Container Engine.\n\
                   Sep 01 12:00:04 h dockerd[9]: time=\"2024-09-01T12:00:04Z\" level=error msg=\"Handler for GET /v1.41/containers/y/json returned error: No such container: y\"\n\
                   Sep 01 12:00:05 h systemd[1]: docker.service: Main process exited, code=exited, status=1/FAILURE\n";
        let t = triage_str(set(), "-", log);
        assert_eq!(t.phase, Some(Outcome::DaemonFailed));
        assert_eq!(t.verdict, Verdict::Unmatched);
    }

    /// The line that ended it names it: an earlier error of another
    /// family (a full disk while writing a container's log) does not name
    /// a fatal line no entry matches; an earlier error of the fatal line's
    /// own family does.
    #[test]
    fn only_a_tied_earlier_error_names_an_unknown_fatal_line() {
        let disk_full = "time=\"x\" level=error msg=\"Error writing log message\" driver=json-file error=\"write /var/lib/docker/containers/3f/3f-json.log: no space left on device\"\n";
        let t = triage_str(
            set(),
            "-",
            &format!("{disk_full}failed to start daemon: frobnicator refused: protocol error\n"),
        );
        assert_eq!(
            (t.verdict, t.signature.as_deref()),
            (Verdict::Unmatched, None)
        );
        assert_eq!(t.evidence.len(), 1);
        let t = triage_str(
            set(),
            "-",
            &format!("{disk_full}failed to start daemon: the volume store could not be opened\n"),
        );
        assert_eq!(t.signature.as_deref(), Some("storage-no-space"));
        let roles: Vec<Role> = t.evidence.iter().map(|e| e.role).collect();
        assert_eq!(roles, [Role::Match, Role::Fatal]);
    }

    /// A wrapper's line (`failed to start containerd: timeout …`) is named
    /// by the specific cause it follows in its own family.
    #[test]
    fn a_wrapper_fatal_line_is_named_by_the_cause_it_follows() {
        let log = "containerd: failed to load TOML from /etc/containerd/config.toml: invalid plugin key URI \"cri\" expect io.containerd.x.vx\n\
                   time=\"x\" level=error msg=\"containerd did not exit successfully\" error=\"exit status 1\" module=libcontainerd\n\
                   failed to start containerd: timeout waiting for containerd to start\n";
        let t = triage_str(set(), "-", log);
        assert_eq!(t.signature.as_deref(), Some("containerd-config-invalid"));
        assert_eq!(
            t.evidence.last().map(|e| (e.role, e.line)),
            Some((Role::Fatal, 3))
        );
    }

    #[test]
    fn a_failure_no_entry_names_still_gets_a_family_from_its_words() {
        let t = triage_str(
            set(),
            "-",
            "failed to start daemon: failed to frobnicate the iptables chains: boom\n",
        );
        assert_eq!(
            (t.verdict, t.family),
            (Verdict::Unmatched, Some(Family::Firewall))
        );
        assert_eq!(t.exit_code(), 1);
    }

    #[test]
    fn a_log_without_failure_or_readiness_is_unknown() {
        let t = triage_str(
            set(),
            "-",
            "time=\"x\" level=info msg=\"Starting up\"\ntime=\"x\" level=warning msg=\"Your kernel does not support swap memory limit\"\n",
        );
        assert_eq!(
            (t.verdict, t.phase, t.family),
            (Verdict::Unknown, None, None)
        );
        assert_eq!(
            t.evidence.iter().map(|e| e.role).collect::<Vec<_>>(),
            [Role::Last]
        );
        assert_eq!(t.exit_code(), 1);
    }

    #[test]
    fn empty_input_is_unknown_without_evidence() {
        let t = triage_str(set(), "-", "");
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
        let t = triage_str(set(), "-", &log);
        assert_eq!(t.warnings.len(), MAX_WARNINGS);
        assert_eq!(t.warnings_omitted, 1000 - MAX_WARNINGS);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let t = triage_reader(set(), "-", io::Cursor::new(&bytes)).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            prop_assert_eq!(&t, &triage_str(set(), "-", &text));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        #[test]
        fn long_lines_never_panic(len in 0usize..(3 * logline::MAX_LINE_BYTES), fill in any::<char>()) {
            let mut log: String = std::iter::repeat_n(fill, len / fill.len_utf8()).collect();
            log.push_str("\nfailed to start daemon: Devices cgroup isn't mounted");
            let t = triage_reader(set(), "-", io::Cursor::new(log.as_bytes())).unwrap();
            prop_assert_eq!(t.signature.as_deref(), Some("devices-cgroup-missing"));
        }
    }

    #[test]
    fn unknown_is_not_a_signature() {
        assert!(set().get(UNKNOWN).is_none());
    }

    /// The fix's quoted command that a shipped cell applied verbatim is
    /// proven, with both cells; a quoted flag no cell applied alone is not.
    #[test]
    fn quoted_fix_commands_are_proven_only_by_a_cell_that_applied_them() {
        let t = triage_str(
            set(),
            "-",
            "failed to start daemon: Devices cgroup isn't mounted\n",
        );
        let commands = &t.fix.as_ref().expect("a known entry has a fix").commands;
        let mount = commands
            .iter()
            .find(|c| c.text.starts_with("mount -t tmpfs cgroup /sys/fs/cgroup"))
            .expect("the fix quotes the mount command");
        let proof = mount.proof.as_ref().expect("doctor-fixes applies it");
        assert!(mount.proven);
        assert_eq!(proof.scenario, "doctor-fixes");
        assert!(
            proof.fixed_cell.contains("devices_mount=doctor"),
            "{proof:?}"
        );
        assert!(
            proof.failed_cell.contains("devices_mount=none"),
            "{proof:?}"
        );
        let bridge: Vec<_> = commands
            .iter()
            .filter(|c| c.text == "--bridge=none")
            .collect();
        assert_eq!(bridge.len(), 1, "each quoted part once");
        assert!(!bridge[0].proven && bridge[0].proof.is_none());
        assert!(fix_commands("no quotes here", "devices-cgroup-missing").is_empty());
        assert!(fix_commands("edit `daemon.json`", "devices-cgroup-missing").is_empty());
    }
}
