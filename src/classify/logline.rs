//! Reading one log line: its framing, level, time and message.
//!
//! dockerd writes logrus text (`time="…" level=error msg="…" k=v`), or JSON
//! with `--log-format json`, and prints its last words (`failed to start
//! daemon: …`) as plain text. Users paste those lines in other clothes:
//! behind journald or syslog prefixes, behind container-runtime timestamps,
//! inside an orchestrator's own log line (`ERR docker daemon exited
//! error="failed to start daemon: …"`), or as the docker CLI's `docker: Error
//! response from daemon: …`. [`frame`] strips the clothes and finds the
//! level without allocating, so a classifier can call it on every line of a
//! gigabyte log; [`parse`] also unescapes the message. This module only
//! reads lines: deciding which line is fatal belongs to `stream.rs`, and
//! reading files belongs to `triage`.

use std::borrow::Cow;
use std::sync::LazyLock;

use memchr::memmem;
use regex::Regex;

/// The longest part of a line that is kept for matching; the rest is
/// dropped, so a pathological line cannot grow memory without bound.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

impl Level {
    /// The lowercase name (`error`), as logrus writes it.
    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }
}

/// How a line's payload is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// logfmt with a `level=` field: logrus (dockerd, containerd) or Go's
    /// slog text handler.
    Logrus,
    /// One JSON object: dockerd `--log-format json`, runc, zerolog JSON.
    Json,
    /// A console logger's line that starts with a level word: zerolog's
    /// `INF message key=value`, `[ERROR] …`, `WARNING: …`. Orchestrators that
    /// supervise dockerd write these, often with dockerd's words in a field.
    Console,
    /// glog (`W0903 22:40:47.845254 120 util.go:64] …`), as runsc writes.
    Glog,
    /// The docker CLI: `docker: Error response from daemon: …`.
    Cli,
    /// Anything else, such as dockerd's plain last words.
    Plain,
}

/// A field of a wrapper's line that carries another program's words, still
/// escaped as the wrapper wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Embedded<'a> {
    /// The field name (`error`, `line`, …).
    pub key: &'a str,
    /// The value as written, without its quotes.
    pub value: &'a str,
    /// Whether the value was quoted (and so may hold escapes).
    pub quoted: bool,
}

impl<'a> Embedded<'a> {
    /// The value with Go/JSON string escapes undone.
    pub fn text(&self) -> Cow<'a, str> {
        if self.quoted && self.value.contains('\\') {
            Cow::Owned(unescape(self.value))
        } else {
            Cow::Borrowed(self.value)
        }
    }

    /// Whether the field carries a whole line (`line=`, `output=`) rather
    /// than an error value (`error=`).
    pub fn is_line(&self) -> bool {
        !matches!(self.key, "error" | "err")
    }
}

/// A line's framing: what [`frame`] finds without allocating (except for
/// the rare wrapper line whose embedded field must be unescaped to be read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The line after transport prefixes (journald, syslog, container
    /// runtime timestamps) are stripped.
    pub payload: &'a str,
    /// How the payload is written.
    pub shape: Shape,
    /// The line's level: its own, or, for a wrapper's line, the level of
    /// the words it carries when they say more.
    pub level: Option<Level>,
    /// A wrapper's field carrying another program's words.
    pub embedded: Option<Embedded<'a>>,
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
    /// The message: `msg="…"` unescaped, a JSON `msg`, a wrapper's message
    /// (with its embedded field), or the payload.
    pub msg: String,
}

static TIME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\btime="?([0-9T:.+\-Z]+)"?"#).expect("the regex is valid"));
static MSG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\bmsg="((?:[^"\\]|\\.)*)""#).expect("the regex is valid"));
static LEVEL_FIELD: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"level="));
static MSG_KEY: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"msg"));

/// How deep wrapper lines are unwrapped (a wrapper quoting a wrapper …).
const MAX_NESTING: usize = 2;

/// Parses one line: framing, level, time and message.
pub fn parse(raw: &str) -> LogLine<'_> {
    let raw = raw.trim_end_matches(['\r', '\n']);
    let frame = frame(raw);
    let time = TIME
        .captures(frame.payload)
        .and_then(|c| c[1].parse::<jiff::Timestamp>().ok());
    let msg = match frame.shape {
        Shape::Json => json_message(frame.payload),
        Shape::Logrus => MSG.captures(frame.payload).map(|c| unescape(&c[1])),
        Shape::Console | Shape::Glog => Some(console_message(&frame)),
        Shape::Cli | Shape::Plain => None,
    }
    .unwrap_or_else(|| frame.payload.trim().to_owned());
    let time = time.or_else(|| json_time(&frame));
    LogLine {
        raw,
        time,
        level: frame.level,
        msg,
    }
}

/// Finds a line's framing and level. Allocation-free for every shape but a
/// wrapper line with an escaped embedded field.
pub fn frame(raw: &str) -> Frame<'_> {
    frame_nested(raw, 0)
}

fn frame_nested(raw: &str, depth: usize) -> Frame<'_> {
    let raw = raw.trim_end_matches(['\r', '\n']);
    let payload = strip_prefixes(raw);
    let mut frame = classify_payload(payload);
    if let Some(embedded) = frame.embedded
        && depth < MAX_NESTING
    {
        let text = embedded.text();
        let inner = frame_nested(&text, depth + 1).level;
        frame.level = combine(frame.level, inner, embedded.is_line());
    }
    frame
}

/// The level of a wrapper's line given the level of the words it carries:
/// a carried line's level wins; an error value can only raise a line that
/// is already an error (so `INF … error="failed to …"` stays info).
fn combine(own: Option<Level>, inner: Option<Level>, carried_line: bool) -> Option<Level> {
    match (own, inner) {
        (_, Some(inner)) if carried_line => Some(inner),
        (Some(own), Some(inner)) if own >= Level::Error => Some(own.max(inner)),
        (None, Some(inner)) => Some(inner),
        (own, _) => own,
    }
}

fn classify_payload(payload: &str) -> Frame<'_> {
    let make = |shape, level, embedded| Frame {
        payload,
        shape,
        level,
        embedded,
    };
    let trimmed = payload.trim_start();
    if trimmed.starts_with('{')
        && let Some(level) = json_string_field(trimmed, &["level", "severity", "lvl"])
    {
        let embedded = json_embedded(trimmed);
        return make(Shape::Json, level_from(level), embedded);
    }
    if let Some((level, rest, wrapper)) = console_level(trimmed) {
        // logrus' own terminal lines carry `error=` values that are not
        // last words, like its logfmt lines; only wrappers' fields count.
        let embedded = if wrapper { logfmt_embedded(rest) } else { None };
        return make(Shape::Console, Some(level), embedded);
    }
    if let Some(level) = logfmt_level(payload) {
        return make(Shape::Logrus, level, None);
    }
    if let Some(level) = glog_level(trimmed) {
        return make(Shape::Glog, Some(level), None);
    }
    if trimmed.starts_with("docker: ")
        || trimmed.starts_with("Error response from daemon:")
        || trimmed.starts_with("Error: ")
    {
        return make(Shape::Cli, Some(Level::Error), None);
    }
    let level = plain_fatal(trimmed).then_some(Level::Fatal);
    make(Shape::Plain, level, None)
}

/// The level of a logfmt line: the first `level=WORD` at a word boundary,
/// as the regex `\blevel=([a-zA-Z]+)` would find it. `Some(None)` when the
/// line has a `level=` field but no level word we know.
fn logfmt_level(payload: &str) -> Option<Option<Level>> {
    let bytes = payload.as_bytes();
    let mut found = false;
    for start in LEVEL_FIELD.find_iter(bytes) {
        found = true;
        if start > 0 && is_word_before(payload, start) {
            continue;
        }
        let value = &payload[start + "level=".len()..];
        let end = value
            .bytes()
            .position(|b| !b.is_ascii_alphabetic())
            .unwrap_or(value.len());
        if end == 0 {
            continue;
        }
        return Some(level_from(&value[..end]));
    }
    // A line that mentions `level=` is never plain last words.
    found.then_some(None)
}

fn is_word_before(text: &str, index: usize) -> bool {
    text[..index]
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

fn level_from(text: &str) -> Option<Level> {
    let lower = |s: &str| text.eq_ignore_ascii_case(s);
    Some(if lower("trace") || lower("debug") {
        Level::Debug
    } else if lower("info") || lower("notice") {
        Level::Info
    } else if lower("warning") || lower("warn") {
        Level::Warning
    } else if lower("error") || lower("err") {
        Level::Error
    } else if lower("fatal") || lower("panic") || lower("critical") || lower("crit") {
        Level::Fatal
    } else {
        return None;
    })
}

/// A console logger's leading level word: zerolog's `INF`/`ERR`, an
/// upper-case word (`ERROR`, `WARNING:`), a bracketed one (`[error]`), or
/// logrus' terminal format (`ERRO[0001]`, `INFO[2024-…]`, what dockerd
/// prints when run in a terminal). Returns the level, the rest of the line,
/// and whether the line is a wrapper's (not logrus').
fn console_level(text: &str) -> Option<(Level, &str, bool)> {
    const ZEROLOG: [(&str, Level); 7] = [
        ("TRC", Level::Debug),
        ("DBG", Level::Debug),
        ("INF", Level::Info),
        ("WRN", Level::Warning),
        ("ERR", Level::Error),
        ("FTL", Level::Fatal),
        ("PNC", Level::Fatal),
    ];
    const LOGRUS_TTY: [(&str, Level); 7] = [
        ("TRAC[", Level::Debug),
        ("DEBU[", Level::Debug),
        ("INFO[", Level::Info),
        ("WARN[", Level::Warning),
        ("ERRO[", Level::Error),
        ("FATA[", Level::Fatal),
        ("PANI[", Level::Fatal),
    ];
    // Every form starts with an upper-case letter or `[`; most lines do not.
    let first = *text.as_bytes().first()?;
    if !(first.is_ascii_uppercase() || first == b'[') {
        return None;
    }
    if let Some((_, level)) = LOGRUS_TTY.iter().find(|(p, _)| text.starts_with(p)) {
        let end = text.find(']')?;
        return Some((*level, &text[end + 1..], false));
    }
    // No level word is longer than 11 bytes (`[CRITICAL]:`).
    let end = match text.bytes().take(12).position(|b| b == b' ' || b == b'\t') {
        Some(end) => end,
        None if text.len() <= 12 => text.len(),
        None => return None,
    };
    let word = &text[..end];
    let rest = &text[end..];
    if let Some(inner) = word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
        return level_from(inner).map(|l| (l, rest, true));
    }
    let word = word.strip_suffix(':').unwrap_or(word);
    if word.len() < 3 || !word.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    if let Some((_, level)) = ZEROLOG.iter().find(|(w, _)| *w == word) {
        return Some((*level, rest, true));
    }
    match word {
        "TRACE" | "DEBUG" | "INFO" | "WARN" | "WARNING" | "ERROR" | "FATAL" | "PANIC" | "CRIT"
        | "CRITICAL" => level_from(word).map(|l| (l, rest, true)),
        _ => None,
    }
}

/// glog's `Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg`; runsc's fatal
/// errors come as `W… FATAL ERROR: …`.
fn glog_level(text: &str) -> Option<Level> {
    let b = text.as_bytes();
    let shape_ok = b.len() > 14
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b' '
        && b[6..8].iter().all(u8::is_ascii_digit)
        && b[8] == b':';
    if !shape_ok {
        return None;
    }
    let level = match b[0] {
        b'I' => Level::Info,
        b'W' => Level::Warning,
        b'E' => Level::Error,
        b'F' => Level::Fatal,
        _ => return None,
    };
    let fatal = text
        .split_once("] ")
        .is_some_and(|(_, msg)| msg.starts_with("FATAL ERROR:"));
    Some(if fatal { Level::Fatal } else { level })
}

/// dockerd's last words are printed without logrus framing
/// (cmd/dockerd/docker.go prints the error `DaemonCli.start` returned:
/// `failed to start daemon: …`, `failed to load listeners: …`,
/// `failed to start containerd: …`; before 18.09 `Error starting daemon:
/// …`), and Go runtime crashes start with `panic:` or `fatal error:`.
fn plain_fatal(text: &str) -> bool {
    text.starts_with("failed to ")
        || text.starts_with("Error starting daemon:")
        || text.starts_with("panic:")
        || text.starts_with("fatal error:")
}

/// Keys under which wrappers carry another program's words, in the order
/// they are looked for.
const EMBED_KEYS: [&str; 8] = [
    "error", "err", "line", "output", "stderr", "stdout", "log", "message",
];

/// The first embedded field of a logfmt-style wrapper line (`key="…"` or
/// `key=word`).
fn logfmt_embedded(rest: &str) -> Option<Embedded<'_>> {
    EMBED_KEYS
        .iter()
        .filter_map(|key| find_field(rest, key))
        .min_by_key(|(at, _)| *at)
        .map(|(_, e)| e)
        .filter(|e| !e.value.is_empty())
}

/// The value of a logfmt field (`key="…"` unescaped, or `key=word`) in a
/// line, if it has one.
pub fn field<'a>(line: &'a str, key: &str) -> Option<Cow<'a, str>> {
    find_field(line, key).map(|(_, e)| e.text())
}

/// Where `key=` first starts a field in `text`, and its value.
fn find_field<'a>(text: &'a str, key: &str) -> Option<(usize, Embedded<'a>)> {
    let bytes = text.as_bytes();
    // `msg` is looked up on every warning line: keep its searcher built.
    let finder = match key {
        "msg" => Cow::Borrowed(&*MSG_KEY),
        _ => Cow::Owned(memmem::Finder::new(key.as_bytes())),
    };
    let mut from = 0;
    while let Some(pos) = finder.find(&bytes[from..]) {
        let start = from + pos;
        from = start + key.len();
        let preceded = start == 0 || bytes[start - 1] == b' ' || bytes[start - 1] == b'\t';
        if !preceded || bytes.get(from) != Some(&b'=') {
            continue;
        }
        let value = &text[from + 1..];
        let key = &text[start..from];
        let embedded = match value.strip_prefix('"') {
            Some(quoted) => Embedded {
                key,
                value: &quoted[..quoted_end(quoted)],
                quoted: true,
            },
            None => Embedded {
                key,
                value: &value[..value.find([' ', '\t']).unwrap_or(value.len())],
                quoted: false,
            },
        };
        return Some((start, embedded));
    }
    None
}

/// The index of the closing quote of a Go- or JSON-quoted string whose
/// opening quote is already stripped (the text's length if unterminated).
fn quoted_end(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    text.len()
}

/// The first embedded field of a JSON wrapper line. Only lines that look
/// like a wrapper's (a `message` key rather than logrus' `msg`) carry one:
/// dockerd's own JSON lines have `error` fields that are not its last words.
fn json_embedded(text: &str) -> Option<Embedded<'_>> {
    if memmem::find(text.as_bytes(), b"\"msg\"").is_some() {
        return None;
    }
    for key in ["error", "err", "line", "output", "stderr", "stdout", "log"] {
        if let Some(value) = json_string_value(text, key) {
            return Some(Embedded {
                key,
                value,
                quoted: true,
            });
        }
    }
    None
}

/// The raw (still escaped) string value of the first of `keys` present.
fn json_string_field<'a>(text: &'a str, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|key| json_string_value(text, key))
}

/// The raw string value of `"key": "…"` in a JSON object's text; a cheap
/// scan, not a parser (it accepts truncated lines, which users paste).
fn json_string_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = memmem::find(&bytes[from..], key.as_bytes()) {
        let start = from + pos;
        from = start + key.len();
        if start == 0 || bytes[start - 1] != b'"' || bytes.get(from) != Some(&b'"') {
            continue;
        }
        let rest = text[from + 1..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(value) = rest.strip_prefix('"') else {
            continue;
        };
        return Some(&value[..quoted_end(value)]);
    }
    None
}

fn json_message(text: &str) -> Option<String> {
    if let Ok(serde_json::Value::Object(object)) = serde_json::from_str(text.trim()) {
        let msg = ["msg", "message"]
            .iter()
            .find_map(|k| object.get(*k).and_then(|v| v.as_str()))?;
        let error = ["error", "err"]
            .iter()
            .find_map(|k| object.get(*k).and_then(|v| v.as_str()));
        return Some(match error {
            Some(error) if !object.contains_key("msg") => format!("{msg}: {error}"),
            _ => msg.to_owned(),
        });
    }
    // A truncated line: take what the scan finds.
    json_string_field(text, &["msg", "message"]).map(unescape)
}

fn json_time(frame: &Frame<'_>) -> Option<jiff::Timestamp> {
    if frame.shape != Shape::Json {
        return None;
    }
    json_string_value(frame.payload, "time")
        .or_else(|| json_string_value(frame.payload, "ts"))
        .and_then(|t| t.parse().ok())
}

/// A console line's message: the text after the level word, and the
/// embedded field's words when they are what the line is about.
fn console_message(frame: &Frame<'_>) -> String {
    let text = frame.payload.trim_start();
    let rest = match frame.shape {
        Shape::Glog => text.split_once("] ").map_or(text, |(_, m)| m),
        _ => console_level(text).map_or(text, |(_, rest, _)| rest),
    };
    let rest = rest.trim();
    match frame.embedded {
        Some(embedded) => {
            let head = rest
                .find(&format!("{}=", embedded.key))
                .map_or(rest, |i| rest[..i].trim_end());
            format!("{head}: {}", embedded.text())
        }
        None => rest.to_owned(),
    }
}

/// Strips transport prefixes: syslog `<PRI>`, RFC 5424 headers, journald's
/// `Mon DD hh:mm:ss host ident[pid]: ` (and its ISO variants), container
/// runtime `TIMESTAMP stdout F ` and bare leading timestamps.
fn strip_prefixes(line: &str) -> &str {
    let mut rest = line.trim_start_matches('\u{feff}');
    // Syslog priority, e.g. `<30>`.
    if let Some(after) = rest.strip_prefix('<')
        && let Some(end) = after.find('>')
        && end <= 3
        && after[..end].bytes().all(|b| b.is_ascii_digit())
    {
        rest = &after[end + 1..];
        if let Some(header) = rest.strip_prefix("1 ") {
            // RFC 5424: TIMESTAMP HOST APP PROCID MSGID SD MSG.
            let mut fields = header.splitn(6, ' ');
            let _ = (fields.next(), fields.next(), fields.next());
            let _ = (fields.next(), fields.next());
            if let Some(tail) = fields.next() {
                rest = match tail.strip_prefix("- ") {
                    Some(msg) => msg,
                    None if tail.starts_with('[') => tail
                        .find("] ")
                        .map_or(tail, |i| &tail[i + 2..])
                        .trim_start_matches('\u{feff}'),
                    None => tail,
                };
                return rest;
            }
        }
    }
    // journald `short`/`short-precise`: `Nov 28 19:09:29[.123456] `.
    if let Some(after) = strip_month_timestamp(rest) {
        return strip_host_ident(after).unwrap_or(after);
    }
    // ISO timestamps: journald `short-iso`, CRI, `docker logs -t`, or a
    // wrapper's own clock. Up to two tokens (`2024-11-28 19:09:29`).
    let mut stripped = false;
    for _ in 0..2 {
        match strip_timestamp_token(rest) {
            Some(after) => {
                rest = after;
                stripped = true;
            }
            None => break,
        }
    }
    if stripped {
        if let Some(after) = strip_cri_stream(rest) {
            return after;
        }
        if console_level(rest).is_none()
            && let Some(after) = strip_host_ident(rest)
        {
            return after;
        }
    }
    rest
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Nov 28 19:09:29 ` or `Nov  8 19:09:29.123456 `.
fn strip_month_timestamp(text: &str) -> Option<&str> {
    if !text.as_bytes().first()?.is_ascii_uppercase() {
        return None;
    }
    let month = text.get(..3)?;
    if !MONTHS.contains(&month) {
        return None;
    }
    let rest = text[3..].strip_prefix(' ')?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let day_end = rest.find(' ')?;
    if day_end == 0 || day_end > 2 || !rest[..day_end].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = &rest[day_end + 1..];
    let b = rest.as_bytes();
    if b.len() < 9 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let end = rest.find(' ')?;
    rest[..end]
        .bytes()
        .all(|c| c.is_ascii_digit() || c == b':' || c == b'.')
        .then(|| &rest[end + 1..])
}

/// One leading timestamp-looking token and the space after it: starts with
/// a digit, holds a `:` or a `-`, and only digits and `-:.,+/TZ`.
fn strip_timestamp_token(text: &str) -> Option<&str> {
    if !text.as_bytes().first()?.is_ascii_digit() {
        return None;
    }
    let end = text.find(' ')?;
    let token = &text[..end];
    let b = token.as_bytes();
    let looks = b.len() >= 5
        && b[0].is_ascii_digit()
        && (token.contains(':') || token.matches('-').count() >= 2 || token.contains('/'))
        && b.iter().all(|c| {
            c.is_ascii_digit()
                || matches!(
                    c,
                    b'-' | b':' | b'.' | b',' | b'+' | b'/' | b'T' | b'Z' | b'A' | b'P' | b'M'
                )
        });
    looks.then(|| text[end + 1..].trim_start_matches(' '))
}

/// The CRI log format's `stdout F ` / `stderr P `.
fn strip_cri_stream(text: &str) -> Option<&str> {
    let rest = text
        .strip_prefix("stdout ")
        .or_else(|| text.strip_prefix("stderr "))?;
    rest.strip_prefix("F ").or_else(|| rest.strip_prefix("P "))
}

/// journald/syslog `host ident[pid]: ` or `host ident: `.
fn strip_host_ident(text: &str) -> Option<&str> {
    let host_end = text.find(' ')?;
    if host_end == 0 {
        return None;
    }
    let rest = &text[host_end + 1..];
    let colon = rest.find(": ")?;
    let ident = &rest[..colon];
    if ident.is_empty() || ident.contains(' ') {
        return None;
    }
    let name = match ident.find('[') {
        Some(open) => {
            let pid = ident[open + 1..].strip_suffix(']')?;
            if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            &ident[..open]
        }
        None => ident,
    };
    let plausible = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'@'));
    plausible.then(|| &rest[colon + 2..])
}

/// Undoes Go's `%q`-style (and JSON's) escaping.
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
            Some('r') => out.push('\r'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('/') => out.push('/'),
            Some(u @ ('u' | 'x')) => {
                let width = if u == 'u' { 4 } else { 2 };
                let digits: String = chars.clone().take(width).collect();
                match u32::from_str_radix(&digits, 16)
                    .ok()
                    .and_then(char::from_u32)
                {
                    Some(decoded) if digits.len() == width => {
                        out.push(decoded);
                        for _ in 0..width {
                            chars.next();
                        }
                    }
                    _ => {
                        out.push('\\');
                        out.push(u);
                    }
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The message of a line as written (still escaped), found without
/// allocating: logrus' `msg="…"`, a JSON `msg`/`message`, or the payload.
/// Cheap enough to count repeated messages by.
pub fn raw_message(line: &str) -> &str {
    let frame = frame_shape_only(line);
    let payload = frame.0;
    match frame.1 {
        Shape::Logrus => find_field(payload, "msg").map_or(payload, |(_, e)| e.value),
        Shape::Json => json_string_field(payload, &["msg", "message"]).unwrap_or(payload),
        _ => payload.trim(),
    }
}

/// The payload and shape of a line, without unwrapping embedded fields.
fn frame_shape_only(line: &str) -> (&str, Shape) {
    let payload = strip_prefixes(line.trim_end_matches(['\r', '\n']));
    let frame = classify_payload(payload);
    (payload, frame.shape)
}

/// Whether a word starts at byte `at` of `text`: at its start, or after a
/// byte that is not an ASCII letter or digit (`port` does not start a word
/// in `supported`).
pub fn starts_word(text: &str, at: usize) -> bool {
    at == 0 || !text.as_bytes()[at - 1].is_ascii_alphanumeric()
}

/// `line` without a leading logrus timestamp field (`time="…" `): what a
/// line says, the same each time a daemon repeats it. Other lines are
/// returned whole.
pub fn without_leading_time(line: &str) -> &str {
    // A timestamp holds no quote: the first one closes the field.
    line.strip_prefix("time=\"")
        .and_then(|rest| {
            let end = memchr::memchr(b'"', rest.as_bytes())?;
            rest[end + 1..].strip_prefix(' ')
        })
        .unwrap_or(line)
}

/// Removes ANSI escape sequences (colours that console loggers add).
pub fn strip_ansi(text: &str) -> Cow<'_, str> {
    // memchr's vector search: `str::contains(char)` costs as much again
    // on every line of a long log.
    if memchr::memchr(0x1b, text.as_bytes()).is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            // CSI: parameters and intermediates, then one final byte.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    Cow::Owned(out)
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
    use proptest::prelude::*;
    use rstest::rstest;

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
    fn pre_20_10_last_words_are_fatal() {
        // dockerd 17.x-19.03 wrapped start's error as `Error starting daemon:`.
        let l = parse("Error starting daemon: Devices cgroup isn't mounted");
        assert_eq!(l.level, Some(Level::Fatal));
        assert_eq!(parse("Error starting something else: x").level, None);
    }

    #[test]
    fn json_line() {
        let l = parse(r#"{"level":"fatal","msg":"boom","time":"2026-11-28T19:09:29Z"}"#);
        assert_eq!(l.level, Some(Level::Fatal));
        assert_eq!(l.msg, "boom");
        assert!(l.time.is_some());
    }

    #[test]
    fn api_listen_span() {
        let log = "junk\n\
            time=\"2026-11-28T19:09:29.500Z\" level=info msg=\"Starting up\"\n\
            time=\"2026-11-28T19:09:29.804Z\" level=info msg=\"API listen on /tmp/d.sock\"\n";
        assert_eq!(start_to_api_listen_ms(log), Some(304));
        assert_eq!(start_to_api_listen_ms("no listen here"), None);
    }

    #[test]
    fn wrapper_error_field_is_unwrapped() {
        let line = r#"ERR docker daemon exited error="failed to start daemon: Devices cgroup isn't mounted" exit_code=1"#;
        let f = frame(line);
        assert_eq!(f.shape, Shape::Console);
        assert_eq!(f.level, Some(Level::Fatal));
        let e = f.embedded.unwrap();
        assert_eq!(e.key, "error");
        assert_eq!(
            e.text(),
            "failed to start daemon: Devices cgroup isn't mounted"
        );
        assert_eq!(
            parse(line).msg,
            "docker daemon exited: failed to start daemon: Devices cgroup isn't mounted"
        );
    }

    #[test]
    fn wrapper_carrying_a_logrus_line_takes_its_level() {
        let line = r#"7:09PM INF dockerd line="time=\"2024-09-01T12:00:00Z\" level=error msg=\"boom \\\"x\\\"\"" pid=12"#;
        let f = frame(line);
        assert_eq!(f.shape, Shape::Console);
        assert_eq!(f.level, Some(Level::Error));
        assert!(f.embedded.unwrap().text().contains(r#"msg="boom \"x\"""#));
    }

    #[test]
    fn info_wrapper_with_error_field_stays_info() {
        let f = frame(r#"INF retrying error="failed to connect: refused""#);
        assert_eq!(f.level, Some(Level::Info));
    }

    #[test]
    fn dockerd_info_line_with_failed_error_field_stays_info() {
        let f = frame(
            r#"time="2026-11-28T19:21:06Z" level=info msg="skip loading plugin" error="failed to x: skip plugin""#,
        );
        assert_eq!((f.shape, f.level), (Shape::Logrus, Some(Level::Info)));
    }

    #[rstest]
    #[case::journald(
        "Nov 28 19:09:29 host dockerd[123]: failed to start daemon: Devices cgroup isn't mounted",
        Shape::Plain,
        Some(Level::Fatal)
    )]
    #[case::journald_single_digit_day(
        "Nov  8 19:09:29 host dockerd[123]: time=\"2024-11-08T19:09:29Z\" level=warning msg=\"x\"",
        Shape::Logrus,
        Some(Level::Warning)
    )]
    #[case::journald_precise(
        "Nov 28 19:09:29.123456 ip-10-0-0-1 dockerd[9]: time=\"2024-11-28T19:09:29Z\" level=error msg=\"x\"",
        Shape::Logrus,
        Some(Level::Error)
    )]
    #[case::journald_iso(
        "2024-11-28T19:09:29+0000 host dockerd[123]: failed to start daemon: x",
        Shape::Plain,
        Some(Level::Fatal)
    )]
    #[case::journald_systemd_line(
        "Nov 28 19:09:30 host systemd[1]: Failed to start Docker Application Container Engine.",
        Shape::Plain,
        None
    )]
    #[case::syslog_rfc3164(
        "<30>Nov 28 19:09:29 host dockerd[123]: failed to start daemon: x",
        Shape::Plain,
        Some(Level::Fatal)
    )]
    #[case::syslog_rfc5424(
        "<30>1 2024-11-28T19:09:29.123Z host dockerd 123 - - failed to start daemon: x",
        Shape::Plain,
        Some(Level::Fatal)
    )]
    #[case::cri(
        "2024-11-28T19:09:29.123456789Z stderr F time=\"2024-11-28T19:09:29Z\" level=fatal msg=\"x\"",
        Shape::Logrus,
        Some(Level::Fatal)
    )]
    #[case::docker_logs_timestamps(
        "2024-11-28T19:09:29.123456789Z failed to start daemon: x",
        Shape::Plain,
        Some(Level::Fatal)
    )]
    #[case::zerolog_with_time(
        "2024-11-28T19:09:29Z DBG socket exists, checking daemon with 'docker info'...",
        Shape::Console,
        Some(Level::Debug)
    )]
    #[case::zerolog_kitchen("7:09PM WRN slow start", Shape::Console, Some(Level::Warning))]
    #[case::bracketed("[ERROR] dockerd exited", Shape::Console, Some(Level::Error))]
    #[case::logrus_tty(
        "ERRO[0001] error waiting for container: context canceled",
        Shape::Console,
        Some(Level::Error)
    )]
    #[case::logrus_tty_full_time(
        "FATA[2024-11-28T19:09:29.123456789Z] failed to start daemon: x",
        Shape::Console,
        Some(Level::Fatal)
    )]
    #[case::logrus_tty_error_field_is_not_last_words(
        "ERRO[0000] failed to load plugin  error=\"failed to start daemon: x\"",
        Shape::Console,
        Some(Level::Error)
    )]
    #[case::upper_word("WARNING: No swap limit support", Shape::Console, Some(Level::Warning))]
    #[case::glog(
        "W0903 22:40:47.845254     120 util.go:64] FATAL ERROR: running container: x",
        Shape::Glog,
        Some(Level::Fatal)
    )]
    #[case::glog_info(
        "I0903 22:40:47.845254     120 main.go:1] ***",
        Shape::Glog,
        Some(Level::Info)
    )]
    #[case::cli(
        "docker: Error response from daemon: failed to create shim task: x.",
        Shape::Cli,
        Some(Level::Error)
    )]
    #[case::json_dockerd(
        r#"{"level":"error","msg":"x","time":"2024-11-28T19:09:29Z"}"#,
        Shape::Json,
        Some(Level::Error)
    )]
    #[case::json_truncated(
        r#"{"level":"fatal","msg":"failed to st"#,
        Shape::Json,
        Some(Level::Fatal)
    )]
    #[case::json_zerolog_wrapper(
        r#"{"level":"error","error":"failed to start daemon: x","message":"docker daemon exited"}"#,
        Shape::Json,
        Some(Level::Fatal)
    )]
    #[case::json_dockerd_error_field(
        r#"{"level":"error","msg":"y","error":"failed to z"}"#,
        Shape::Json,
        Some(Level::Error)
    )]
    #[case::slog_text(
        "time=2024-11-28T19:09:29Z level=ERROR msg=x",
        Shape::Logrus,
        Some(Level::Error)
    )]
    #[case::unknown_level_word("time=x level=loud msg=\"failed to y\"", Shape::Logrus, None)]
    #[case::not_a_level_word("ERRATIC things happen", Shape::Plain, None)]
    #[case::continuation(" (exit status 1)", Shape::Plain, None)]
    #[case::go_panic(
        "panic: runtime error: index out of range",
        Shape::Plain,
        Some(Level::Fatal)
    )]
    fn shapes_and_levels(#[case] line: &str, #[case] shape: Shape, #[case] level: Option<Level>) {
        let f = frame(line);
        assert_eq!((f.shape, f.level), (shape, level), "{line}: {f:?}");
    }

    #[rstest]
    #[case::quoted(r#"level=info msg="x" error="a \"b\"" k=v"#, "error", Some(r#"a "b""#))]
    #[case::bare("level=info msg=x error=eof k=v", "error", Some("eof"))]
    #[case::not_a_field("level=info msg=\"no error=here\"", "error", Some("here\""))]
    #[case::absent("level=info msg=x", "error", None)]
    #[case::suffix_of_another_key("level=info myerror=x", "error", None)]
    fn logfmt_fields(#[case] line: &str, #[case] key: &str, #[case] want: Option<&str>) {
        assert_eq!(field(line, key).as_deref(), want);
    }

    #[test]
    fn a_leading_logrus_timestamp_is_not_part_of_what_a_line_says() {
        assert_eq!(
            without_leading_time(r#"time="2026-11-28T19:09:29Z" level=warning msg="x""#),
            r#"level=warning msg="x""#
        );
        for whole in [
            r#"level=warning msg="x" time="2026-11-28T19:09:29Z""#,
            r#"time="unterminated level=warning"#,
            "Nov 28 19:09:29 host dockerd[1]: time=\"x\" level=warning",
        ] {
            assert_eq!(without_leading_time(whole), whole);
        }
    }

    #[test]
    fn ansi_colours_are_stripped() {
        assert_eq!(
            strip_ansi("\u{1b}[31mERR\u{1b}[0m boom"),
            Cow::<str>::Borrowed("ERR boom")
        );
        assert!(matches!(strip_ansi("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn unescape_handles_unicode_and_truncation() {
        assert_eq!(unescape(r#"a\u00e9b\x41\"c\"\\"#), "aébA\"c\"\\");
        assert_eq!(unescape(r"\u12"), r"\u12");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn framing_and_parsing_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = frame(&text);
            let _ = parse(&text);
            let _ = strip_ansi(&text);
        }

        #[test]
        fn structured_looking_noise_never_panics(
            text in r#"(<[0-9]{1,3}>1? ?)?([A-Z][a-z]{2}  ?[0-9]{1,2} [0-9:.]{8,15} )?([0-9T:.Z+-]{5,30} )?(host dockerd\[[0-9]*\]: )?(INF |ERR |\[error\] |W0903 22:40:47.1 1 a.go:1\] )?(\{"level":"|level=|error=")?[a-z\\"\\\\ ]{0,40}"#
        ) {
            let _ = frame(&text);
            let _ = parse(&text);
        }
    }
}
