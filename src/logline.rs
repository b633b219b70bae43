//! Reading one line of a dockerd log: its time, level and message.
//!
//! dockerd writes logrus text (`time="…" level=error msg="…" k=v`), or JSON
//! with `--log-format json`, and prints its last words (`failed to start
//! daemon: …`) as plain text. This module only parses lines; deciding which
//! line is fatal belongs to `classify.rs`.

use std::sync::LazyLock;

use regex::Regex;

/// The severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `debug` or `trace`.
    Debug,
    /// `info`.
    Info,
    /// `warning` or `warn`.
    Warning,
    /// `error`.
    Error,
    /// `fatal` or `panic`, and dockerd's plain `failed to start daemon:`.
    Fatal,
}

/// A parsed log line.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine<'a> {
    /// The line as written (without the newline).
    pub raw: &'a str,
    /// The `time=` field, when there is one.
    pub time: Option<jiff::Timestamp>,
    /// The level, when the line has one or is a known plain fatal line.
    pub level: Option<Level>,
    /// The message: `msg="…"` unescaped, or the raw line.
    pub msg: String,
}

static TIME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\btime="?([0-9T:.+\-Z]+)"?"#).expect("the regex is valid"));
static LEVEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\blevel=([a-z]+)").expect("the regex is valid"));
static MSG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\bmsg="((?:[^"\\]|\\.)*)""#).expect("the regex is valid"));

/// Parses one line.
pub fn parse(raw: &str) -> LogLine<'_> {
    let raw = raw.trim_end_matches(['\r', '\n']);
    if raw.trim_start().starts_with('{')
        && let Some(line) = parse_json(raw)
    {
        return line;
    }
    let time = TIME
        .captures(raw)
        .and_then(|c| c[1].parse::<jiff::Timestamp>().ok());
    let level = LEVEL
        .captures(raw)
        .and_then(|c| level_from(&c[1]))
        .or_else(|| plain_fatal(raw).then_some(Level::Fatal));
    let msg = MSG
        .captures(raw)
        .map(|c| unescape(&c[1]))
        .unwrap_or_else(|| raw.to_owned());
    LogLine {
        raw,
        time,
        level,
        msg,
    }
}

fn parse_json(raw: &str) -> Option<LogLine<'_>> {
    let value: serde_json::Value = serde_json::from_str(raw).ok()?;
    let object = value.as_object()?;
    let msg = object.get("msg")?.as_str()?.to_owned();
    let level = object
        .get("level")
        .and_then(|l| l.as_str())
        .and_then(level_from);
    let time = object
        .get("time")
        .and_then(|t| t.as_str())
        .and_then(|t| t.parse().ok());
    Some(LogLine {
        raw,
        time,
        level,
        msg,
    })
}

fn level_from(text: &str) -> Option<Level> {
    Some(match text {
        "trace" | "debug" => Level::Debug,
        "info" => Level::Info,
        "warning" | "warn" => Level::Warning,
        "error" => Level::Error,
        "fatal" | "panic" => Level::Fatal,
        _ => return None,
    })
}

/// dockerd's last words are printed without logrus framing
/// (cmd/dockerd/docker.go prints the error `DaemonCli.start` returned:
/// `failed to start daemon: …`, `failed to load listeners: …`,
/// `failed to start containerd: …`), and Go runtime crashes start with
/// `panic:` or `fatal error:`.
fn plain_fatal(raw: &str) -> bool {
    let t = raw.trim_start();
    (t.starts_with("failed to ") && !t.contains("level="))
        || t.starts_with("panic:")
        || t.starts_with("fatal error:")
}

/// Undoes Go's `%q`-style escaping in logrus values.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Milliseconds from dockerd's first timestamped line to its `API listen on`
/// line: dockerd's own start-up time, free of harness overhead.
pub fn start_to_api_listen_ms(log: &str) -> Option<u64> {
    let mut first = None;
    for raw in log.lines() {
        let line = parse(raw);
        let Some(time) = line.time else { continue };
        let first = *first.get_or_insert(time);
        if line.msg.starts_with("API listen on") {
            let span = time.duration_since(first);
            return u64::try_from(span.as_millis()).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logrus_text_line() {
        let l = parse(
            r#"time="2026-11-28T19:09:29.640099131Z" level=error msg="failed to mount overlay: invalid argument" storage-driver=overlay2"#,
        );
        assert_eq!(l.level, Some(Level::Error));
        assert_eq!(l.msg, "failed to mount overlay: invalid argument");
        assert!(l.time.is_some());
    }

    #[test]
    fn escaped_quotes_in_message() {
        let l = parse(r#"time="2026-11-28T19:09:29Z" level=info msg="skip \"aufs\"..." x=y"#);
        assert_eq!(l.msg, r#"skip "aufs"..."#);
    }

    #[test]
    fn plain_failed_to_start_is_fatal() {
        let l = parse("failed to start daemon: Devices cgroup isn't mounted");
        assert_eq!(l.level, Some(Level::Fatal));
        assert_eq!(
            l.msg,
            "failed to start daemon: Devices cgroup isn't mounted"
        );
    }

    #[test]
    fn other_plain_last_words_are_fatal() {
        let l = parse(
            "failed to load listeners: can't create unix socket /x: chown /x: invalid argument",
        );
        assert_eq!(l.level, Some(Level::Fatal));
    }

    #[test]
    fn json_line() {
        let l = parse(r#"{"level":"fatal","msg":"boom","time":"2026-11-28T19:09:29Z"}"#);
        assert_eq!(l.level, Some(Level::Fatal));
        assert_eq!(l.msg, "boom");
    }

    #[test]
    fn api_listen_span() {
        let log = "junk\n\
            time=\"2026-11-28T19:09:29.500Z\" level=info msg=\"Starting up\"\n\
            time=\"2026-11-28T19:09:29.804Z\" level=info msg=\"API listen on /tmp/d.sock\"\n";
        assert_eq!(start_to_api_listen_ms(log), Some(304));
        assert_eq!(start_to_api_listen_ms("no listen here"), None);
    }
}
