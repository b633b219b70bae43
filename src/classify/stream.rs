//! Naming a log's failure one line at a time: the streaming [`Classifier`]
//! keeps only the candidates for the fatal line (the line that ended the
//! daemon or the container start, not the first warning), so memory stays
//! flat whatever the log's size, and [`SignatureSet::classify_log`] is that
//! classifier fed a whole log. A [`Finding`] is what the lines come to;
//! [`LineVerdict`] what one line was.
//!
//! The line that ended it names it: an earlier error names the failure only
//! when it is tied to the fatal line (the fatal line wraps its words, or
//! both belong to the same family), never because it came first.
//!
//! It must not read files (callers feed it lines) or compile patterns (that
//! is `matching.rs`); it reads a line's level and framing through
//! `logline.rs`, its phase through `phase.rs`, families through `family.rs`.

use std::collections::HashSet;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::catalogue::{SignatureEntry, UNKNOWN};
use super::family::Family;
use super::logline::{self, Level, Shape};
use super::matching::{Classification, SignatureSet};
use super::phase::{self, Phase};

impl SignatureSet {
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

impl LineVerdict {
    /// Whether the line is a program's last words: a fatal-level line.
    /// That is logrus `level=fatal` (the program calls `os.Exit(1)` after
    /// it) or `level=panic`, Go's `panic:` and `fatal error:`, dockerd's
    /// unframed last words (`cmd/dockerd` prints the error `start` returned,
    /// `failed to start daemon: …`, then exits; before 20.10, `Error starting
    /// daemon: …`), and bare words a catalogue entry names (dockerd 26.1
    /// prints some configuration errors without a prefix). The agent ends a
    /// cell on the first such line before the API answers.
    pub fn is_terminal(&self) -> bool {
        self.level == Some(Level::Fatal)
    }
}

/// What a stream of lines comes to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Finding {
    /// The line that ended the daemon or the container start: the later of
    /// the last fatal line and the last failed container start, else the
    /// last error line, else the last non-empty line.
    pub fatal: Option<EvidenceLine>,
    /// The level of the fatal line.
    pub fatal_level: Option<Level>,
    /// The entry (by index) that names the failure and the line it matched:
    /// the fatal line itself, else an earlier error line tied to it.
    pub matched: Option<(usize, EvidenceLine)>,
    /// The family: the entry's, else the one the fatal line's words name.
    pub family: Option<Family>,
    /// What the fatal line ended: dockerd's start-up or a container start.
    pub phase: Option<Phase>,
    /// Whether the fatal line is a failure (a fatal, error or container
    /// failure line, or last words an entry names) rather than the last
    /// words of a log that shows none.
    pub failed: bool,
    /// Whether systemd said the service failed (`Main process exited`,
    /// `Failed with result`, …) after the last restart.
    pub unit_failed: bool,
    /// Whether any error or fatal line matched an entry.
    pub any_match: bool,
}

impl Finding {
    /// The entry that names the failure.
    pub fn entry<'s>(&self, set: &'s SignatureSet) -> Option<&'s SignatureEntry> {
        self.matched
            .as_ref()
            .map(|(index, _)| &set.entries()[*index])
    }

    /// The finding as the runner reports it.
    pub fn classification(&self, set: &SignatureSet) -> Classification {
        let Some(fatal) = &self.fatal else {
            return Classification::default();
        };
        match &self.matched {
            Some((index, line)) => Classification {
                signature: Some(set.entries()[*index].id.clone()),
                fatal_line: Some(line.text.clone()),
                line_number: Some(line.number),
                family: self.family,
            },
            None => Classification {
                signature: Some(UNKNOWN.to_owned()),
                fatal_line: Some(fatal.text.clone()),
                line_number: Some(fatal.number),
                family: self.family,
            },
        }
    }
}

/// An error or fatal line that matched an entry.
#[derive(Debug)]
struct Matched {
    entry: usize,
    line: EvidenceLine,
}

/// The latest line of each family that a specific (not a wrapper) entry
/// matched, shared copy-on-write: a candidate keeps the table as it was
/// when the candidate was read.
type ByFamily = Rc<[Option<Rc<Matched>>; Family::ALL.len()]>;

/// A line that could end up as the fatal line, with what it matched and
/// the matched lines before it.
#[derive(Debug, Clone)]
struct Candidate {
    line: EvidenceLine,
    level: Level,
    entry: Option<usize>,
    earlier: Option<ByFamily>,
}

/// The streaming classifier: fed one line at a time, it keeps only the
/// candidates for the fatal line, so memory stays flat whatever the log's
/// size. Its result equals looking at the whole log at once:
/// - the fatal line is the later of the last fatal-level line and the last
///   line that reports a failed container start (or, in a CLI transcript,
///   a failed request), else the last error line, else the last matched
///   warning, else the last bare line in words of failure, else systemd's
///   word that the unit failed, else the last non-empty line; a line
///   without any level framing that an entry matches, or that is dockerd's
///   `failed to start daemon: …`, counts as a fatal line (such bare words
///   are some program's last words);
/// - the signature is the first entry (by precedence) that matches the
///   fatal line, else the one matching the latest earlier error line that
///   is tied to it: the fatal line contains that line's message (or its
///   tail after a `: `), or the fatal line's words name the entry's family,
///   or the fatal line is a wrapper entry's and the earlier line names a
///   kernel cause, else a systemd one (nearest wins when several are
///   tied); else [`UNKNOWN`];
/// - the family is the entry's, else the one the fatal line's words name.
///
/// Only error, fatal and plain lines are matched against the catalogue;
/// other lines cost one scan for their level.
#[derive(Debug)]
pub struct Classifier<'s> {
    set: &'s SignatureSet,
    lines: usize,
    last_fatal: Option<Candidate>,
    last_container: Option<Candidate>,
    last_error: Option<Candidate>,
    last_warning: Option<Candidate>,
    last_bare: Option<Candidate>,
    last_exit: Option<Candidate>,
    /// Whether systemd said the service failed.
    unit_failed: bool,
    /// Whether a shell prompt ran the docker CLI.
    cli: bool,
    /// The kind of the last failure line while plain lines follow it.
    continues: Option<Slot>,
    /// Whether an error or fatal line matched an entry.
    any_match: bool,
    matched: Option<ByFamily>,
    last_nonempty: String,
    last_nonempty_number: usize,
    /// The words of warnings that matched no entry, up to
    /// [`QUIET_WARNINGS`] of them.
    quiet_warnings: HashSet<String>,
}

/// How many distinct warnings without a match a [`Classifier`] remembers:
/// a daemon prints a few dozen kinds; the bound keeps memory flat (each is
/// at most [`logline::MAX_LINE_BYTES`]).
const QUIET_WARNINGS: usize = 256;

/// Which kind of candidate a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Fatal,
    Container,
    Error,
    Warning,
    /// Bare words of failure that no entry knows.
    Bare,
    Exit,
}

impl<'s> Classifier<'s> {
    /// A classifier over `set` that has seen no line.
    pub fn new(set: &'s SignatureSet) -> Classifier<'s> {
        Classifier {
            set,
            lines: 0,
            last_fatal: None,
            last_container: None,
            last_error: None,
            last_warning: None,
            last_bare: None,
            last_exit: None,
            unit_failed: false,
            cli: false,
            continues: None,
            any_match: false,
            matched: None,
            last_nonempty: String::new(),
            last_nonempty_number: 0,
            quiet_warnings: HashSet::new(),
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
        let mut slot = None;
        if level.is_none() && frame.shape == Shape::Plain {
            // Bare words that name a known failure are last words: dockerd
            // 26.1 prints configuration errors without a prefix
            // (`invalid userland-proxy-path: …`), and runsc and wrappers
            // print runc's error bare. Right after a failure line they are
            // its continuation (a pasted line broken in two). Bare words of
            // a failed container start or image pull (containerd 0.2's `rpc
            // error: … oci runtime error: …`, runc's own output, `ctr:`, an
            // API client relaying the daemon's answer) fail a request, not
            // the daemon.
            let starts_container = phase::is_container_start_failure(&line);
            let bare = if self.cli || starts_container {
                Slot::Container
            } else {
                Slot::Fatal
            };
            // A CLI transcript: what fails from here on is a request to a
            // daemon that answered.
            if phase::is_daemon_command(&line) {
                self.cli = false;
            } else {
                self.cli |= phase::is_cli_command(&line);
            }
            entry = self.set.match_index(&line, None);
            if entry.is_some() {
                level = Some(Level::Fatal);
                slot = Some(self.continues.unwrap_or(bare));
            } else if phase::says_unit_failed(&line) {
                // systemd's word that the service died: the failure when
                // nothing says more.
                self.unit_failed = true;
                slot = Some(Slot::Exit);
            } else if self.continues.is_none() {
                // Bare words no entry knows: dockerd's own last words
                // (`failed to start daemon: …`) end the daemon, a failed
                // request's end a container start, and any other words of
                // failure are the failure only when nothing says more.
                slot = if bare == Slot::Container {
                    (starts_container || phase::says_failure(&line)).then_some(Slot::Container)
                } else if phase::says_daemon_ended(&line) {
                    level = Some(Level::Fatal);
                    Some(Slot::Fatal)
                } else {
                    phase::says_failure(&line).then_some(Slot::Bare)
                };
            }
        } else if level >= Some(Level::Error) {
            let embedded = frame.embedded.map(|e| e.text());
            entry = self.set.match_index(&line, embedded.as_deref());
            // In a CLI transcript an error in the CLI's own words fails a
            // request: a plain line, or a console-shaped one (compose's
            // `ERROR: …`) when an entry names it; compose's closing
            // `ERROR: Encountered errors …` names nothing and stays an error.
            slot = Some(
                if (frame.shape == Shape::Cli && !phase::is_cli_summary(&line))
                    || (self.cli
                        && (frame.shape == Shape::Plain
                            || (frame.shape == Shape::Console && entry.is_some())))
                    || phase::is_container_start_failure(&line)
                    || (entry.is_some() && phase::is_api_error(&line))
                {
                    Slot::Container
                } else if level == Some(Level::Fatal) {
                    Slot::Fatal
                } else {
                    Slot::Error
                },
            );
        } else if level == Some(Level::Warning) {
            // A warning is the failure only when nothing worse is in the
            // log and an entry names it (dockerd retrying containerd).
            entry = self.match_warning(&line);
            slot = entry.is_some().then_some(Slot::Warning);
        }
        if let Some(slot) = slot {
            let kept_level = match slot {
                Slot::Exit => Level::Fatal,
                Slot::Bare => Level::Error,
                _ => level.unwrap_or(Level::Error),
            };
            self.keep(slot, &line, kept_level, entry);
            if !matches!(slot, Slot::Warning | Slot::Exit | Slot::Bare) {
                self.continues = Some(slot);
            }
        } else if !(level.is_none() && frame.shape == Shape::Plain) {
            self.continues = None;
        }
        if !line.trim().is_empty() {
            self.last_nonempty.clear();
            self.last_nonempty.push_str(&line);
            self.last_nonempty_number = self.lines;
        }
        LineVerdict { level, entry }
    }

    /// The first entry matching a warning line. A daemon repeats its
    /// warnings word for word (on every start, for every container), so
    /// the words of one that matched nothing are remembered and the same
    /// words later cost a lookup. The catalogue sees a warning without its
    /// leading timestamp, so the remembered answer is the answer.
    fn match_warning(&mut self, line: &str) -> Option<usize> {
        let words = logline::without_leading_time(line);
        if self.quiet_warnings.contains(words) {
            return None;
        }
        let entry = self.set.match_index(words, None);
        if entry.is_none() && self.quiet_warnings.len() < QUIET_WARNINGS {
            self.quiet_warnings.insert(words.to_owned());
        }
        entry
    }

    /// Keeps `line` as the latest candidate of its `slot`.
    fn keep(&mut self, slot: Slot, line: &str, level: Level, entry: Option<usize>) {
        let earlier = self.matched.clone();
        let slot = match slot {
            Slot::Fatal => &mut self.last_fatal,
            Slot::Container => &mut self.last_container,
            Slot::Error => &mut self.last_error,
            Slot::Warning => &mut self.last_warning,
            Slot::Bare => &mut self.last_bare,
            Slot::Exit => &mut self.last_exit,
        };
        // Reuse the previous candidate's text buffer: error-heavy logs
        // replace it on every line.
        let candidate = slot.get_or_insert_with(|| Candidate {
            line: EvidenceLine {
                number: 0,
                text: String::new(),
            },
            level,
            entry: None,
            earlier: None,
        });
        candidate.line.number = self.lines;
        candidate.line.text.clear();
        candidate.line.text.push_str(line.trim());
        candidate.level = level;
        candidate.entry = entry;
        candidate.earlier = earlier;
        if let Some(entry) = entry {
            if level >= Level::Error {
                self.any_match = true;
            }
            let entry_ref = &self.set.entries()[entry];
            if entry_ref.wrapper {
                // Only specific entries stand in for a later line.
                return;
            }
            let family = entry_ref.family;
            let matched = Rc::new(Matched {
                entry,
                line: candidate.line.clone(),
            });
            let table = self
                .matched
                .get_or_insert_with(|| Rc::new(Default::default()));
            Rc::make_mut(table)[family as usize] = Some(matched);
        }
    }

    /// Forgets every candidate but keeps counting lines: what follows is
    /// judged on its own (triage restarts after dockerd reported readiness).
    pub fn restart(&mut self) {
        self.last_fatal = None;
        self.last_container = None;
        self.last_error = None;
        self.last_warning = None;
        self.last_bare = None;
        self.last_exit = None;
        self.unit_failed = false;
        self.cli = false;
        self.continues = None;
        self.any_match = false;
        self.matched = None;
        self.last_nonempty.clear();
        self.last_nonempty_number = 0;
    }

    /// How many lines were fed.
    pub fn line_count(&self) -> usize {
        self.lines
    }

    /// What the lines fed so far come to.
    pub fn finish(&self) -> Finding {
        let any_match = self.any_match;
        let ended = match (&self.last_fatal, &self.last_container) {
            (Some(fatal), Some(container)) if container.line.number > fatal.line.number => {
                Some((container, true))
            }
            (Some(fatal), _) => Some((fatal, false)),
            (None, Some(container)) => Some((container, true)),
            (None, None) => self
                .last_error
                .as_ref()
                .or(self.last_warning.as_ref())
                .or(self.last_bare.as_ref())
                .or(self.last_exit.as_ref())
                .map(|c| (c, false)),
        };
        if let Some((candidate, container)) = ended {
            let own = candidate.entry.filter(|e| !self.set.entries()[*e].wrapper);
            let matched = match own {
                Some(entry) => Some((entry, candidate.line.clone())),
                None => tied(self.set, candidate, container)
                    .map(|m| (m.entry, m.line.clone()))
                    .or_else(|| candidate.entry.map(|e| (e, candidate.line.clone()))),
            };
            let words = Family::of_words(payload(&candidate.line.text));
            let family = match &matched {
                Some((entry, _)) => Some(self.set.entries()[*entry].family),
                // A container start that failed without naming anything
                // failed in the runtime.
                None if container => words.or(Some(Family::Runtime)),
                None => words,
            };
            // Where the entry's source says its message is printed, that
            // phase; else a runtime's, a sandbox's or an image's failure
            // ends a container start. dockerd's own start-up wrapper (or a
            // failed-container line) says which, whatever the entry.
            let entry_phase = matched
                .as_ref()
                .and_then(|(entry, _)| self.set.entries()[*entry].phase);
            let container_words = match entry_phase {
                Some(phase) => phase == Phase::Container,
                None => matches!(
                    family,
                    Some(Family::Runtime | Family::Image | Family::Sandbox)
                ),
            };
            let phase = if container || (container_words && !is_daemon_framed(candidate)) {
                Phase::Container
            } else {
                Phase::Daemon
            };
            return Finding {
                fatal: Some(candidate.line.clone()),
                fatal_level: Some(candidate.level),
                matched,
                family,
                phase: Some(phase),
                failed: true,
                unit_failed: self.unit_failed,
                any_match,
            };
        }
        if self.last_nonempty_number == 0 {
            return Finding::default();
        }
        // No failure line at all: the last words are all there is, and
        // no earlier line can name them. They are a failure only when an
        // entry names them.
        let line = EvidenceLine {
            number: self.last_nonempty_number,
            text: self.last_nonempty.trim().to_owned(),
        };
        let fatal_level = logline::frame(&self.last_nonempty).level;
        let matched = self
            .set
            .match_framed(&self.last_nonempty)
            .map(|entry| (entry, line.clone()));
        let family = matched
            .as_ref()
            .map(|(entry, _)| self.set.entries()[*entry].family);
        Finding {
            fatal: Some(line),
            fatal_level,
            failed: matched.is_some(),
            phase: matched.is_some().then_some(Phase::Daemon),
            matched,
            family,
            unit_failed: self.unit_failed,
            any_match,
        }
    }
}

/// Whether a line says the daemon itself stopped: a logrus `fatal` line,
/// or dockerd's start-up wrappers.
fn is_daemon_framed(candidate: &Candidate) -> bool {
    let text = &candidate.line.text;
    phase::says_daemon_ended(text)
        || (candidate.level == Level::Fatal && logline::frame(text).shape != Shape::Plain)
}

/// The latest matched line before `candidate` that is tied to it: the
/// candidate wraps its message, or shares its family (the candidate's
/// entry's family, else the one its words name), or the candidate is a
/// wrapper entry's line and the earlier one names a kernel cause (else a
/// systemd one: systemd's word about a unit it refused), or it is a
/// failed container start and the line is the runtime's (runtime, sandbox
/// or userns family: what runc and runsc report while they set the
/// container up). Wrapping wins over a shared
/// family; a wrapper entry's line never stands in for another.
fn tied<'c>(set: &SignatureSet, candidate: &'c Candidate, container: bool) -> Option<&'c Matched> {
    let table = candidate.earlier.as_deref()?;
    let fatal = &candidate.line.text;
    let wrapped = table
        .iter()
        .flatten()
        .map(Rc::as_ref)
        .filter(|m| wraps(fatal, &m.line.text))
        .max_by_key(|m| m.line.number);
    if wrapped.is_some() {
        return wrapped;
    }
    let family = match candidate.entry {
        Some(entry) => Some(set.entries()[entry].family),
        None => Family::of_words(payload(fatal)),
    };
    if let Some(same) = family.and_then(|f| table[f as usize].as_deref()) {
        return Some(same);
    }
    // A wrapper entry's failure (`error initializing graphdriver: driver not
    // supported`, `Error initializing network controller`) often has a
    // kernel cause that the subsystem logged just before giving up: a
    // filesystem or module the running kernel lacks. Likewise a unit's
    // failure that systemd reports as a wrapper (`Dependency failed for
    // Docker Application Container Engine`) has its cause in systemd's own
    // earlier word about the unit (`Bound to unit docker.socket, but unit
    // isn't active`).
    if candidate.entry.is_some()
        && let Some(cause) = WRAPPER_CAUSES
            .iter()
            .find_map(|f| table[*f as usize].as_deref())
    {
        return Some(cause);
    }
    if !container {
        return None;
    }
    // A container start that failed in runc's wrappers (`running exec setns
    // process for init caused "exit status 34"`, Docker 1.x's `Container
    // command could not be invoked`) takes its cause from the runtime's own
    // earlier line; runc's nsenter and rootfs set-up under userns-remap
    // print theirs the same way.
    [Family::Runtime, Family::Sandbox, Family::Userns]
        .iter()
        .filter_map(|f| table[*f as usize].as_deref())
        .max_by_key(|m| m.line.number)
}

/// The families whose earlier line names a wrapper entry's cause when
/// nothing wraps it or shares its family, in order of preference.
const WRAPPER_CAUSES: [Family; 2] = [Family::Kernel, Family::Systemd];

/// Whether `fatal` carries the words of the earlier line `line`: its
/// message (or its `error=` field), or a tail of either that starts after
/// a `: `, of at least [`MIN_WRAPPED`] bytes.
fn wraps(fatal: &str, line: &str) -> bool {
    let parsed = logline::parse(line);
    let error = logline::field(logline::frame(line).payload, "error");
    let texts = std::iter::once(parsed.msg.as_str()).chain(error.as_deref());
    for text in texts {
        let text = text.trim();
        let tails =
            std::iter::once(text).chain(text.match_indices(": ").map(|(i, _)| &text[i + 2..]));
        for tail in tails {
            if tail.len() >= MIN_WRAPPED && fatal.contains(tail) {
                return true;
            }
        }
    }
    false
}

/// The shortest tail of an earlier message that counts as wrapped.
const MIN_WRAPPED: usize = 16;

/// A line without its transport prefixes (journald, syslog, timestamps),
/// whose host and process names are not words about the failure.
fn payload(line: &str) -> &str {
    logline::frame(line).payload
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
    use std::path::Path;

    use super::*;

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

    /// A wrapper's fatal line takes the cause from an earlier kernel line;
    /// a specific fatal line, or one that matches nothing, does not.
    #[test]
    fn an_earlier_kernel_line_names_a_wrappers_cause_only() {
        let set = SignatureSet::builtin();
        let kernel = "time=\"2018-07-27T14:16:30Z\" level=error msg=\"'overlay' not found as a supported filesystem on this host. Please ensure kernel is new enough and has overlay support loaded.\"\n";
        let c = set.classify_log(&format!(
            "{kernel}Error starting daemon: error initializing graphdriver: driver not supported\n"
        ));
        assert_eq!(c.signature.as_deref(), Some("overlay-not-in-kernel"));
        assert_eq!(c.line_number, Some(1));
        let c = set.classify_log(&format!(
            "{kernel}failed to start daemon: Devices cgroup isn't mounted\n"
        ));
        assert_eq!(c.signature.as_deref(), Some("devices-cgroup-missing"));
        let c = set.classify_log(&format!("{kernel}failed to start daemon: something new\n"));
        assert_eq!(c.signature.as_deref(), Some(UNKNOWN));
    }

    /// An entry's `phase` says what a line it matches ended, unless the
    /// line's framing says otherwise; unset, the family decides.
    #[rstest::rstest]
    #[case::container_words("frobnicator said no: widget missing", Some(Phase::Container))]
    #[case::framed_by_dockerd(
        "failed to start daemon: frobnicator said no: widget missing",
        Some(Phase::Daemon)
    )]
    #[case::daemon_words("gadget refused: widget missing", Some(Phase::Daemon))]
    #[case::daemon_words_in_a_failed_start(
        "docker: Error response from daemon: gadget refused: widget missing.",
        Some(Phase::Container)
    )]
    #[case::unset_runtime_family("doohickey broke: widget missing", Some(Phase::Container))]
    #[case::unset_storage_family("thingamajig broke: widget missing", Some(Phase::Daemon))]
    fn an_entrys_phase(#[case] line: &str, #[case] want: Option<Phase>) {
        let yaml = "signatures:\n\
            - {id: frob, pattern: 'frobnicator said no', family: storage, phase: container, title: t, root_cause: r, fix: f, source: s}\n\
            - {id: gadget, pattern: 'gadget refused', family: runtime, phase: daemon, title: t, root_cause: r, fix: f, source: s}\n\
            - {id: doohickey, pattern: 'doohickey broke', family: runtime, title: t, root_cause: r, fix: f, source: s}\n\
            - {id: thing, pattern: 'thingamajig broke', family: storage, title: t, root_cause: r, fix: f, source: s}\n";
        let set = SignatureSet::parse(std::path::Path::new("phases.yaml"), yaml).unwrap();
        let mut classifier = Classifier::new(&set);
        classifier.push(line);
        let finding = classifier.finish();
        assert!(finding.matched.is_some(), "{line}");
        assert_eq!(finding.phase, want, "{line}");
    }

    /// A container start that runc's wrapper ends (`running exec setns
    /// process for init caused "exit status 34"`) takes its cause from
    /// runc's nsenter line before it, a userns failure like the runtime's.
    #[test]
    fn an_earlier_userns_line_names_a_container_wrappers_cause() {
        let set = SignatureSet::builtin();
        let log = "nsenter: failed to unshare namespaces: Invalid argument\n\
                   docker: Error response from daemon: oci runtime error: container_linux.go:262: starting container process caused \"process_linux.go:247: running exec setns process for init caused \\\"exit status 34\\\"\".\n";
        let c = set.classify_log(log);
        assert_eq!(c.signature.as_deref(), Some("userns-kernel-refused"));
        assert_eq!(c.line_number, Some(1));
        assert_eq!(c.family, Some(Family::Userns));
    }

    /// systemd's dependency failure is a wrapper: an earlier systemd line
    /// about the unit it was bound to names the cause, and without one the
    /// wrapper stays the answer.
    #[test]
    fn an_earlier_systemd_line_names_a_dependency_failures_cause() {
        let set = SignatureSet::builtin();
        let bound = "Sep 03 11:58:49 h systemd[1]: docker.service: Bound to unit docker.socket, but unit isn't active.\n";
        let dependency = "Sep 03 11:58:49 h systemd[1]: Dependency failed for Docker Application Container Engine.\n";
        let c = set.classify_log(&format!("{bound}{dependency}"));
        assert_eq!(c.signature.as_deref(), Some("systemd-bound-unit-inactive"));
        assert_eq!(c.line_number, Some(1));
        assert_eq!(c.family, Some(Family::Systemd));
        let c = set.classify_log(dependency);
        assert_eq!(c.signature.as_deref(), Some("systemd-docker-socket-failed"));
        // A specific fatal line keeps its own entry.
        let c = set.classify_log(&format!(
            "{bound}failed to start daemon: Devices cgroup isn't mounted\n"
        ));
        assert_eq!(c.signature.as_deref(), Some("devices-cgroup-missing"));
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

    /// Bare words no entry knows are a failure when they say one: dockerd's
    /// `failed to start daemon: …` ends the daemon, a relayed daemon answer
    /// ends a container start, other words of failure stand when nothing
    /// says more, and the family comes from the words; bare words without
    /// failure in them are no failure.
    #[rstest::rstest]
    #[case::dockerd_last_words(
        "level=info msg=x\nfailed to start daemon: the frobnicator is odd\n",
        Some((Phase::Daemon, 2, None))
    )]
    #[case::a_relayed_answer(
        "docker: Error response from daemon: the frobnicator is odd.\n",
        Some((Phase::Container, 1, Some(Family::Runtime)))
    )]
    #[case::bare_words_of_failure(
        "Starting the frobnicator\nmount: /tmp: permission denied.\nbye\n",
        Some((Phase::Daemon, 2, Some(Family::Security)))
    )]
    #[case::before_the_unit_failed(
        "dockerd[7]: cannot frobnicate the unix socket\n\
         systemd[1]: docker.service: Main process exited, code=exited, status=1/FAILURE\n\
         systemd[1]: Failed to start Docker Application Container Engine.\n",
        Some((Phase::Daemon, 1, Some(Family::Listener)))
    )]
    #[case::a_continuation_is_not_a_new_failure(
        "failed to start daemon: the frobnicator is odd\nand it failed twice\n",
        Some((Phase::Daemon, 1, None))
    )]
    #[case::no_words_of_failure("Starting the frobnicator\nall is well\n", None)]
    fn bare_words_no_entry_knows(
        #[case] log: &str,
        #[case] want: Option<(Phase, usize, Option<Family>)>,
    ) {
        let mut classifier = Classifier::new(SignatureSet::shared());
        for line in log.lines() {
            classifier.push(line);
        }
        let finding = classifier.finish();
        assert_eq!(finding.failed, want.is_some(), "{log}");
        assert!(finding.matched.is_none(), "{log}");
        if let Some((phase, number, family)) = want {
            assert_eq!(finding.phase, Some(phase), "{log}");
            assert_eq!(
                finding.fatal.as_ref().map(|l| l.number),
                Some(number),
                "{log}"
            );
            assert_eq!(finding.family, family, "{log}");
        }
    }

    /// A warning repeated word for word gets the same answer every time,
    /// whether it matched an entry or not, and whatever its timestamp; the
    /// words remembered stay bounded.
    #[test]
    fn repeated_warnings_get_the_same_answer_and_memory_stays_bounded() {
        let set = SignatureSet::shared();
        let mut classifier = Classifier::new(set);
        let quiet = |second: u32| {
            format!(
                "time=\"2026-11-28T19:09:{second:02}Z\" level=warning msg=\"Your kernel does not support swap memory limit\""
            )
        };
        let named = |second: u32| {
            format!(
                "time=\"2026-11-28T19:09:{second:02}Z\" level=warning msg=\"failed to start daemon: Devices cgroup isn't mounted\""
            )
        };
        let devices = set
            .entries()
            .iter()
            .position(|e| e.id == "devices-cgroup-missing");
        for second in 0..3 {
            assert_eq!(classifier.push(&quiet(second)).entry, None);
            assert_eq!(classifier.push(&named(second)).entry, devices);
        }
        assert_eq!(classifier.quiet_warnings.len(), 1);
        for n in 0..2 * QUIET_WARNINGS {
            classifier.push(&format!("level=warning msg=\"odd warning number {n}\""));
        }
        assert_eq!(classifier.quiet_warnings.len(), QUIET_WARNINGS);
        assert_eq!(classifier.push(&named(9)).entry, devices);
        let finding = classifier.finish();
        assert_eq!(
            finding.entry(set).map(|e| e.id.as_str()),
            Some("devices-cgroup-missing")
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
        let got = SignatureSet::shared().classify_log(&log);
        assert_eq!(
            got.signature.as_deref(),
            Some(expected.as_str()),
            "{}",
            path.display()
        );
        assert!(log.contains(got.fatal_line.as_deref().unwrap()));
    }

    /// The whole-log algorithm, written the obvious way: the streaming
    /// classifier must always agree with it.
    fn reference(set: &SignatureSet, log: &str) -> Classification {
        #[derive(Clone, Copy, PartialEq)]
        enum Kind {
            Fatal,
            Container,
            Error,
            Warning,
            Bare,
            Exit,
        }
        struct Line {
            text: String,
            kind: Option<Kind>,
            level: Level,
            entry: Option<usize>,
        }
        // Each line's kind, as the class doc describes it.
        let mut lines: Vec<Line> = Vec::new();
        let mut continues: Option<Kind> = None;
        let mut cli = false;
        for raw in log.lines() {
            let text = logline::strip_ansi(truncate(raw, logline::MAX_LINE_BYTES)).into_owned();
            let frame = logline::frame(&text);
            let plain = frame.level.is_none() && frame.shape == Shape::Plain;
            let (kind, level, entry) = if plain {
                let bare = if cli || phase::is_container_start_failure(&text) {
                    Kind::Container
                } else {
                    Kind::Fatal
                };
                if phase::is_daemon_command(&text) {
                    cli = false;
                } else {
                    cli |= phase::is_cli_command(&text);
                }
                match set.match_index(&text, None) {
                    Some(e) => (Some(continues.unwrap_or(bare)), Level::Fatal, Some(e)),
                    None if phase::says_unit_failed(&text) => {
                        (Some(Kind::Exit), Level::Fatal, None)
                    }
                    None if continues.is_some() => (None, Level::Info, None),
                    None if bare == Kind::Container => (
                        (phase::is_container_start_failure(&text) || phase::says_failure(&text))
                            .then_some(Kind::Container),
                        Level::Error,
                        None,
                    ),
                    None if phase::says_daemon_ended(&text) => {
                        (Some(Kind::Fatal), Level::Fatal, None)
                    }
                    None => (
                        phase::says_failure(&text).then_some(Kind::Bare),
                        Level::Error,
                        None,
                    ),
                }
            } else if frame.level >= Some(Level::Error) {
                let e = set.match_framed(&text);
                let container = (frame.shape == Shape::Cli && !phase::is_cli_summary(&text))
                    || (cli
                        && (frame.shape == Shape::Plain
                            || (frame.shape == Shape::Console && e.is_some())))
                    || phase::is_container_start_failure(&text)
                    || (e.is_some() && phase::is_api_error(&text));
                let kind = match (container, frame.level) {
                    (true, _) => Kind::Container,
                    (false, Some(Level::Fatal)) => Kind::Fatal,
                    _ => Kind::Error,
                };
                (Some(kind), frame.level.unwrap(), e)
            } else if frame.level == Some(Level::Warning) {
                let e = set.match_index(&text, None);
                (e.map(|_| Kind::Warning), Level::Warning, e)
            } else {
                (None, Level::Info, None)
            };
            match kind {
                Some(k @ (Kind::Fatal | Kind::Container | Kind::Error)) => continues = Some(k),
                Some(_) => {}
                None if plain => {}
                None => continues = None,
            }
            lines.push(Line {
                text,
                kind,
                level,
                entry,
            });
        }
        let last = |k: Kind| lines.iter().rposition(|l| l.kind == Some(k));
        let ended = match (last(Kind::Fatal), last(Kind::Container)) {
            (Some(f), Some(c)) if c > f => Some((c, true)),
            (Some(f), _) => Some((f, false)),
            (None, Some(c)) => Some((c, true)),
            (None, None) => last(Kind::Error)
                .or_else(|| last(Kind::Warning))
                .or_else(|| last(Kind::Bare))
                .or_else(|| last(Kind::Exit))
                .map(|i| (i, false)),
        };
        let Some((end, container)) = ended else {
            let Some(i) = lines.iter().rposition(|l| !l.text.trim().is_empty()) else {
                return Classification::default();
            };
            let entry = set.match_framed(&lines[i].text);
            return Classification {
                signature: Some(
                    entry
                        .map_or(UNKNOWN, |e| set.entries()[e].id.as_str())
                        .to_owned(),
                ),
                fatal_line: Some(lines[i].text.trim().to_owned()),
                line_number: Some(i + 1),
                family: entry.map(|e| set.entries()[e].family),
            };
        };
        let fatal = &lines[end];
        let is_wrapper = |e: usize| set.entries()[e].wrapper;
        // The latest earlier line of each family a specific entry matched.
        let mut latest: Vec<Option<usize>> = vec![None; Family::ALL.len()];
        for (i, l) in lines[..end].iter().enumerate() {
            if let (Some(_), Some(e)) = (l.kind, l.entry)
                && !is_wrapper(e)
            {
                latest[set.entries()[e].family as usize] = Some(i);
            }
        }
        let tied = || {
            let wrapped = latest
                .iter()
                .flatten()
                .filter(|i| wraps(&fatal.text, &lines[**i].text))
                .max();
            if wrapped.is_some() {
                return wrapped.copied();
            }
            let family = match fatal.entry {
                Some(e) => Some(set.entries()[e].family),
                None => Family::of_words(payload(&fatal.text)),
            };
            if let Some(i) = family.and_then(|f| latest[f as usize]) {
                return Some(i);
            }
            if fatal.entry.is_some()
                && let Some(i) = [Family::Kernel, Family::Systemd]
                    .iter()
                    .find_map(|f| latest[*f as usize])
            {
                return Some(i);
            }
            if !container {
                return None;
            }
            [Family::Runtime, Family::Sandbox, Family::Userns]
                .iter()
                .filter_map(|f| latest[*f as usize])
                .max()
        };
        let matched = match fatal.entry.filter(|e| !is_wrapper(*e)) {
            Some(e) => Some((e, end)),
            None => tied()
                .map(|i| (lines[i].entry.unwrap(), i))
                .or(fatal.entry.map(|e| (e, end))),
        };
        let words = Family::of_words(payload(&fatal.text));
        let family = match matched {
            Some((e, _)) => Some(set.entries()[e].family),
            None if container => words.or(Some(Family::Runtime)),
            None => words,
        };
        let _ = fatal.level;
        match matched {
            Some((e, i)) => Classification {
                signature: Some(set.entries()[e].id.clone()),
                fatal_line: Some(lines[i].text.trim().to_owned()),
                line_number: Some(i + 1),
                family,
            },
            None => Classification {
                signature: Some(UNKNOWN.to_owned()),
                fatal_line: Some(fatal.text.trim().to_owned()),
                line_number: Some(end + 1),
                family,
            },
        }
    }

    #[rstest::rstest]
    fn streaming_agrees_with_the_whole_log_algorithm_on_fixtures(
        #[files("fixtures/logs/**/*.log")] path: std::path::PathBuf,
    ) {
        let set = SignatureSet::shared();
        let log = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert_eq!(
            set.classify_log(&log),
            reference(set, &log),
            "{}",
            path.display()
        );
    }

    const POOL: [&str; 18] = [
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
        "mount: /tmp: permission denied.",
        "docker: Error response from daemon: something brand new.",
        "$ docker run --rm x",
        "Nov 28 19:09:29 host systemd[1]: docker.service: Failed with result 'exit-code'.",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn streaming_agrees_with_the_whole_log_algorithm(
            picks in proptest::collection::vec(0..POOL.len(), 0..40)
        ) {
            let set = SignatureSet::shared();
            let log: String = picks.iter().map(|&i| format!("{}\n", POOL[i])).collect();
            proptest::prop_assert_eq!(set.classify_log(&log), reference(set, &log));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
            let set = SignatureSet::shared();
            let log = String::from_utf8_lossy(&bytes);
            let c = set.classify_log(&log);
            proptest::prop_assert_eq!(c, reference(set, &log));
        }
    }

    /// The lines of dockerd 20.10, 26.1 and 28.5 that end a start-up (as
    /// they print them) are terminal; the shutdown lines before them and
    /// containerd's lines are not.
    #[rstest::rstest]
    #[case::dockerd_20_10("failed to start daemon: Devices cgroup isn't mounted", true)]
    #[case::dockerd_28_5(
        "failed to start daemon: Error initializing network controller: error obtaining controller instance: failed to register \"bridge\" driver: failed to create NAT chain DOCKER: iptables failed: iptables --wait -t nat -N DOCKER: iptables v1.8.11 (nf_tables): Could not fetch rule set generation id: Invalid argument",
        true
    )]
    #[case::listeners(
        "failed to load listeners: listen unix /x: bind: address already in use",
        true
    )]
    #[case::pre_20_10("Error starting daemon: Devices cgroup isn't mounted", true)]
    #[case::logrus_fatal(
        r#"time="2026-12-01T20:08:27Z" level=fatal msg="Error creating middlewares: x""#,
        true
    )]
    #[case::bare_config_error(
        "invalid userland-proxy-path: userland-proxy is enabled, but userland-proxy-path is not set",
        true
    )]
    #[case::go_panic("panic: runtime error: invalid memory address", true)]
    #[case::shutdown(
        r#"time="2026-12-01T20:08:27.091518920Z" level=info msg="stopping healthcheck following graceful shutdown" module=libcontainerd"#,
        false
    )]
    #[case::error_line(
        r#"time="2026-12-01T20:08:27Z" level=error msg="failed to mount overlay: invalid argument" storage-driver=overlay2"#,
        false
    )]
    #[case::continuation(" (exit status 1)", false)]
    #[case::containerd(
        r#"time="2026-12-01T20:08:26Z" level=info msg="starting containerd" version="1.6.20~ds1""#,
        false
    )]
    fn terminal_lines(#[case] line: &str, #[case] terminal: bool) {
        let mut classifier = Classifier::new(SignatureSet::shared());
        assert_eq!(classifier.push(line).is_terminal(), terminal, "{line}");
    }

    /// A line in the words of a failed container start or image pull fails
    /// a request the daemon served, whoever prints it (runc, containerd
    /// 0.2, `ctr`, the CRI plugin, an API client relaying the daemon's
    /// answer); dockerd's own bare last words end its start-up.
    #[rstest::rstest]
    #[case::containerd_0_2(
        r#"rpc error: code = 2 desc = "oci runtime error: could not synchronise with container process: apparmor: config provided but apparmor not supported""#,
        Phase::Container
    )]
    #[case::runc_bare(
        r#"container_linux.go:349: starting container process caused "apply caps: operation not permitted""#,
        Phase::Container
    )]
    #[case::ctr_bare(
        "ctr: failed to extract layer sha256:be4e: failed to mount /var/lib/containerd/tmpmounts/containerd-mount78: input/output error: unknown",
        Phase::Container
    )]
    #[case::cri_logged(
        r#"time="2024-05-17T02:30:09Z" level=error msg="PullImage \"nginx:1.27\" failed" error="failed to pull and unpack image \"docker.io/library/nginx:1.27\": failed to extract layer sha256:5f70: failed to convert whiteout file \"etc/.wh..wh..opq\": operation not supported: unknown""#,
        Phase::Container
    )]
    #[case::relayed_by_ansible(
        "fatal: [10.0.0.5]: FAILED! => {\"msg\": \"Error starting container 7c25: 500 Server Error: Internal Server Error (driver failed programming external connectivity on endpoint etcd (36e7):  (iptables failed: iptables --wait -t nat -A DOCKER -p tcp -d 0/0 --dport 40010 -j DNAT --to-destination 172.17.0.2:40010 ! -i docker0: iptables: No chain/target/match by that name. (exit status 1)))\"}",
        Phase::Container
    )]
    #[case::dockerd_network_controller(
        "failed to start daemon: Error initializing network controller: error obtaining controller instance: failed to create NAT chain DOCKER: iptables failed: iptables --wait -t nat -N DOCKER: iptables: No chain/target/match by that name.",
        Phase::Daemon
    )]
    #[case::dockerd_graphdriver(
        "failed to start daemon: error initializing graphdriver: devicemapper: Non existing device docker-thinpool",
        Phase::Daemon
    )]
    #[case::bare_config_error(
        "invalid userland-proxy-path: userland-proxy is enabled, but userland-proxy-path is not set",
        Phase::Daemon
    )]
    fn unframed_request_failures_are_not_the_daemons(#[case] line: &str, #[case] want: Phase) {
        let mut classifier = Classifier::new(SignatureSet::shared());
        classifier.push(line);
        let finding = classifier.finish();
        assert!(finding.failed, "{line}");
        assert_eq!(finding.phase, Some(want), "{line}");
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
