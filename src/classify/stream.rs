//! Naming a log's failure one line at a time: the streaming [`Classifier`]
//! keeps only the candidates for the fatal line (the line that ended the
//! daemon, not the first warning), so memory stays flat whatever the log's
//! size, and [`SignatureSet::classify_log`] is that classifier fed a whole
//! log. A [`Finding`] is what the lines come to; [`LineVerdict`] what one
//! line was.
//!
//! It must not read files (callers feed it lines) or compile patterns (that
//! is `matching.rs`); it reads a line's level and framing through
//! `logline.rs`.

use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::catalogue::{SignatureEntry, UNKNOWN};
use super::logline::{self, Level, Shape};
use super::matching::{Classification, SignatureSet};

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
        let set = SignatureSet::shared();
        let log = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert_eq!(
            set.classify_log(&log),
            reference(set, &log),
            "{}",
            path.display()
        );
    }

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
