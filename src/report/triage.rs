//! Rendering a [`Triage`]: a summary for people, or JSON for tools.
//!
//! Pure functions of the triage and a writer. Colour comes only from the
//! `Styles` passed in (plain unless the caller turned colour on).

use std::io::Write;

use owo_colors::OwoColorize;

use crate::evidence;
use crate::report::styles::Styles;

use crate::report_format::Outcome;
use crate::triage::{Reproduction, Role, Triage, Verdict};

/// The width text is wrapped to.
const WIDTH: usize = 100;
/// The label column: two spaces, a label, padding.
const LABEL: usize = 14;
/// Evidence lines longer than this are cut in the summary (JSON keeps them).
const MAX_SHOWN: usize = 400;

/// Writes the summary for people: after the file's name, ONE line says
/// what failed, why and what to do; the details follow.
///
/// # Errors
/// The writer's errors.
pub fn write_text(t: &Triage, styles: &Styles, out: &mut dyn Write) -> std::io::Result<()> {
    let source = if t.source == "-" { "stdin" } else { &t.source };
    writeln!(
        out,
        "{}",
        format!("{source}: {} lines", t.lines).style(styles.dim)
    )?;
    write_headline(t, styles, out)?;
    match t.verdict {
        Verdict::Known => write_known(t, styles, out)?,
        Verdict::Ready => {
            write_evidence(t, styles, out)?;
            write_warnings(t, styles, out)?;
        }
        Verdict::Unknown => write_evidence(t, styles, out)?,
        Verdict::Unmatched => {
            write_kind(t, styles, out)?;
            write_evidence(t, styles, out)?;
            write_after_ready(t, styles, out)?;
            field(
                out,
                styles,
                "next",
                "the evidence line is the line that ended it; add an entry for it with \
                 --signatures FILE (the schema of src/signatures.yaml), or report it with the log",
            )?;
        }
    }
    Ok(())
}

/// The one line: what failed, why, and what to do.
fn write_headline(t: &Triage, styles: &Styles, out: &mut dyn Write) -> std::io::Result<()> {
    let what = match t.phase {
        Some(Outcome::ContainerFailed) => "a container did not start",
        Some(Outcome::Ready) => "ready",
        Some(_) => "dockerd did not start",
        None => "unknown",
    };
    let kind = match (&t.signature, t.family) {
        (Some(id), Some(family)) => format!(" [{id} · {family}]"),
        (None, Some(family)) => format!(" [{family}]"),
        _ => String::new(),
    };
    let (why, todo) = match (t.verdict, &t.entry) {
        (Verdict::Known, Some(entry)) => (
            entry.title.trim().to_owned(),
            match t.proven_fixes.first() {
                Some(proven) => format!(
                    "{} (proven by a shipped run, below)",
                    proven.applies.join(" and ")
                ),
                None => format!(
                    "{} (unproven)",
                    cut(first_sentence(entry.fix.trim()), MAX_TODO)
                ),
            },
        ),
        (Verdict::Ready, _) => (
            "dockerd started and nothing failed after it".to_owned(),
            "nothing".to_owned(),
        ),
        (Verdict::Unknown, _) if t.evidence.is_empty() => (
            "the log has no lines".to_owned(),
            "paste the dockerd log (journalctl -u docker, or its stderr)".to_owned(),
        ),
        (Verdict::Unknown, _) => (
            "the log shows no failure and no readiness".to_owned(),
            "paste more of the log, up to where dockerd stopped".to_owned(),
        ),
        _ => {
            let fatal = t
                .evidence
                .iter()
                .rev()
                .find(|e| e.role == Role::Fatal)
                .map_or("", |e| e.text.as_str());
            let family = t
                .family
                .map_or_else(|| "a".to_owned(), |f| format!("a {f}"));
            (
                format!(
                    "{family} failure no catalogue entry names: {}",
                    cut(&message(fatal), MAX_WHY)
                ),
                "read the line below".to_owned(),
            )
        }
    };
    let what = match t.verdict {
        Verdict::Ready => what.style(styles.ok),
        Verdict::Known => what.style(styles.fail),
        _ => what.style(styles.warn),
    };
    writeln!(out, "{what}: {why}{kind} → {todo}")
}

/// The family and phase of a failure no entry names.
fn write_kind(t: &Triage, styles: &Styles, out: &mut dyn Write) -> std::io::Result<()> {
    let family = t.family.map_or_else(
        || "none named (the line's words name no family)".to_owned(),
        |f| format!("{f} (from the words of the line that ended it)"),
    );
    field(out, styles, "family", &family)
}

/// The message of a log line (logrus `msg`, a JSON message, or the line).
fn message(line: &str) -> String {
    crate::classify::logline::parse(line).msg
}

/// The first sentence of `text`: up to the first `. ` outside backquotes.
fn first_sentence(text: &str) -> &str {
    let mut quoted = false;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'`' => quoted = !quoted,
            b'.' if !quoted && bytes.get(i + 1).is_none_or(|n| *n == b' ' || *n == b'\n') => {
                return &text[..=i];
            }
            _ => {}
        }
    }
    text
}

/// The headline's cause is cut to this many characters.
const MAX_WHY: usize = 120;
/// The headline's advice is cut to this many characters.
const MAX_TODO: usize = 200;

fn write_known(t: &Triage, styles: &Styles, out: &mut dyn Write) -> std::io::Result<()> {
    write_evidence(t, styles, out)?;
    write_after_ready(t, styles, out)?;
    if let Some(entry) = &t.entry {
        field(out, styles, "root cause", entry.root_cause.trim())?;
        field(out, styles, "fix", entry.fix.trim())?;
        field(
            out,
            styles,
            "",
            "(unproven as a whole: written from the source below; no shipped scenario cell applies \
             this text as written)",
        )?;
        write_fix_commands(t, styles, out)?;
        write_proven(t, styles, out)?;
        field(out, styles, "source", entry.source.trim())?;
        if !entry.confirmed_by.is_empty() {
            field(
                out,
                styles,
                "confirmed",
                &format!("by real logs: {}", entry.confirmed_by.join(", ")),
            )?;
        }
    }
    write_reproduced(&t.reproduced, styles, out)
}

/// Each command or flag the fix quotes: proven (with the cell that applied
/// exactly it and the one that failed without it) or unproven.
fn write_fix_commands(t: &Triage, styles: &Styles, out: &mut dyn Write) -> std::io::Result<()> {
    let Some(fix) = &t.fix else {
        return Ok(());
    };
    for command in &fix.commands {
        let text = match &command.proof {
            Some(proof) => format!(
                "proven: `{}`: {} applied exactly it and {}; {} failed with this signature \
                 without it",
                command.text,
                proof.fixed_cell,
                match proof.fixed_outcome {
                    Outcome::Ready => "reached readiness".to_owned(),
                    Outcome::ContainerOk => "ran a container".to_owned(),
                    other => format!("got past it ({})", other.name()),
                },
                proof.failed_cell
            ),
            None => format!(
                "unproven: `{}` (no shipped cell applies exactly it)",
                command.text
            ),
        };
        field(out, styles, "", &text)?;
    }
    Ok(())
}

/// The fixes shipped runs prove, each with the cell that applied it.
fn write_proven(t: &Triage, styles: &Styles, out: &mut dyn Write) -> std::io::Result<()> {
    for (i, proven) in t.proven_fixes.iter().take(MAX_PROVEN).enumerate() {
        let outcome = match proven.fixed_outcome {
            Outcome::ContainerOk => "ran a container",
            _ => "reached readiness",
        };
        field(
            out,
            styles,
            if i == 0 { "proven" } else { "" },
            &format!(
                "{}: {} applied exactly this (the rest of its configuration as the failing cell's) \
                 and {outcome}; {} failed with this signature without it",
                proven.applies.join(" and "),
                proven.fixed_cell,
                proven.failed_cell
            ),
        )?;
    }
    if t.proven_fixes.len() > MAX_PROVEN {
        field(
            out,
            styles,
            "",
            &format!(
                "… and {} more (--format json lists them)",
                t.proven_fixes.len() - MAX_PROVEN
            ),
        )?;
    }
    Ok(())
}

/// At most this many proven fixes are shown (JSON has them all).
const MAX_PROVEN: usize = 3;

fn write_evidence(t: &Triage, styles: &Styles, out: &mut dyn Write) -> std::io::Result<()> {
    let several = t.evidence.len() > 1;
    for (i, e) in t.evidence.iter().enumerate() {
        let label = if i == 0 { "evidence" } else { "" };
        let role = match (several, e.role) {
            (false, _) => String::new(),
            (true, Role::Match) => " (matched)".to_owned(),
            (true, Role::Fatal) => " (last error)".to_owned(),
            (true, Role::Ready) => " (ready)".to_owned(),
            (true, Role::Last) => " (last line)".to_owned(),
        };
        let number = format!("line {}{role}", e.line);
        writeln!(
            out,
            "  {}{}  {}",
            label_cell(label, styles),
            number.style(styles.dim),
            cut(&e.text, MAX_SHOWN),
        )?;
    }
    Ok(())
}

fn write_after_ready(t: &Triage, styles: &Styles, out: &mut dyn Write) -> std::io::Result<()> {
    if let Some(ready) = &t.ready_line {
        field(
            out,
            styles,
            "note",
            &format!(
                "dockerd was up at line {}; the failure came after it",
                ready.line
            ),
        )?;
    }
    Ok(())
}

fn write_warnings(t: &Triage, styles: &Styles, out: &mut dyn Write) -> std::io::Result<()> {
    if t.warnings.is_empty() {
        return field(out, styles, "warnings", "none");
    }
    for (i, w) in t.warnings.iter().enumerate() {
        let label = if i == 0 { "warnings" } else { "" };
        let count = if w.count > 1 {
            format!(" (×{})", w.count)
        } else {
            String::new()
        };
        let level = match w.level {
            "error" => w.level.style(styles.fail),
            _ => w.level.style(styles.warn),
        };
        writeln!(
            out,
            "  {}{}  {level:<7}  {}{count}",
            label_cell(label, styles),
            format!("line {}", w.line).style(styles.dim),
            cut(&w.text, MAX_SHOWN),
        )?;
    }
    if t.warnings_omitted > 0 {
        field(
            out,
            styles,
            "",
            &format!("… and {} more warning lines", t.warnings_omitted),
        )?;
    }
    Ok(())
}

fn write_reproduced(
    reproduced: &[Reproduction],
    styles: &Styles,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    if reproduced.is_empty() {
        return field(
            out,
            styles,
            "reproduced",
            "not by a shipped scenario (no run evidence for this signature yet)",
        );
    }
    let mut scenarios: Vec<&str> = reproduced.iter().map(|r| r.scenario.as_str()).collect();
    scenarios.dedup();
    field(
        out,
        styles,
        "reproduced",
        &format!(
            "by dindcheck run in {} of {} shipped scenarios ({}); the nearest cell that reached \
             readiness instead changed:",
            scenarios.len(),
            evidence::scenario_count(),
            plural(reproduced.len(), "cell")
        ),
    )?;
    let name_width = scenarios.iter().map(|s| s.len()).max().unwrap_or(0);
    for scenario in scenarios {
        let cells: Vec<&Reproduction> = reproduced
            .iter()
            .filter(|r| r.scenario == scenario)
            .collect();
        let total = evidence::cells()
            .iter()
            .filter(|c| c.scenario == scenario)
            .count();
        // Distinct changes, in order of first appearance, with their counts.
        let mut changes: Vec<(String, usize)> = Vec::new();
        for r in &cells {
            let change = match &r.ready_instead {
                Some(ready) => axes(ready.changed.iter()),
                None => "nothing reached readiness".to_owned(),
            };
            match changes.iter_mut().find(|(c, _)| *c == change) {
                Some((_, n)) => *n += 1,
                None => changes.push((change, 1)),
            }
        }
        let items: Vec<String> = changes.iter().map(|(c, n)| format!("{c} ({n})")).collect();
        let head = format!(
            "{scenario:<name_width$}  {:>2}/{total:<2} cells  ",
            cells.len()
        );
        let indent = LABEL + head.chars().count();
        let width = WIDTH.saturating_sub(indent).max(20);
        for (i, line) in wrap_items(&items, width).iter().enumerate() {
            let lead = if i == 0 {
                format!("{}{}", " ".repeat(LABEL), head.style(styles.bold))
            } else {
                " ".repeat(indent)
            };
            writeln!(out, "{lead}{}", line.style(styles.ok))?;
        }
    }
    Ok(())
}

fn axes<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>) -> String {
    pairs
        .map(|(axis, value)| format!("{axis}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A labelled field, wrapped to [`WIDTH`] under the label column.
fn field(out: &mut dyn Write, styles: &Styles, label: &str, text: &str) -> std::io::Result<()> {
    let lines = wrap(text, WIDTH - LABEL);
    for (i, line) in lines.iter().enumerate() {
        let label = if i == 0 { label } else { "" };
        writeln!(out, "  {}{line}", label_cell(label, styles))?;
    }
    Ok(())
}

/// A label padded to the label column, bold when colour is on.
fn label_cell(label: &str, styles: &Styles) -> String {
    let pad = " ".repeat(LABEL - 2 - label.chars().count().min(LABEL - 2));
    if label.is_empty() {
        pad
    } else {
        format!("{}{pad}", label.style(styles.bold))
    }
}

/// Joins `items` with `, `, breaking lines only between items.
fn wrap_items(items: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for item in items {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 2 + item.chars().count() <= width => {
                line.push_str(", ");
                line.push_str(item);
            }
            Some(line) => {
                line.push(',');
                lines.push(item.clone());
            }
            None => lines.push(item.clone()),
        }
    }
    lines
}

/// `1 cell`, `2 cells`.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Greedy word wrap; words longer than `width` stay whole.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// `text` cut to `max` characters, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Writes the triage as JSON: indented when `pretty`, else on one line.
///
/// # Errors
/// The writer's errors.
pub fn write_json(t: &Triage, pretty: bool, out: &mut dyn Write) -> std::io::Result<()> {
    if pretty {
        serde_json::to_writer_pretty(&mut *out, t)?;
    } else {
        serde_json::to_writer(&mut *out, t)?;
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::classify::SignatureSet;
    use crate::triage::triage_str;

    fn render(log: &str) -> String {
        let set = SignatureSet::builtin();
        let t = triage_str(&set, "x.log", log);
        let mut out = Vec::new();
        write_text(&t, &Styles::default(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[rstest]
    #[case::known(
        "failed to start daemon: Devices cgroup isn't mounted\n",
        &["x.log: 1 lines\ndockerd did not start: dockerd found no devices cgroup [devices-cgroup-missing · cgroup] → runsc release 20240729 (proven by a shipped run, below)", "  evidence    line 1  failed to start daemon", "  fix         ", "  reproduced  by dindcheck run", "devices-cgroup", "runsc=20240729 ("]
    )]
    #[case::container(
        "time=\"x\" level=info msg=\"API listen on /run/d.sock\"\ndocker: Error response from daemon: systemd not running on this host, cannot use systemd cgroups manager: unknown.\n",
        &["\na container did not start: systemd cgroup driver requested but systemd is not running [systemd-not-running · systemd] → Start dockerd with `--exec-opt native.cgroupdriver=cgroupfs`", "  note        dockerd was up at line 1"]
    )]
    #[case::ready(
        "time=\"x\" level=warning msg=\"Your kernel does not support swap memory limit\"\ntime=\"x\" level=info msg=\"API listen on /run/d.sock\"\n",
        &["\nready: dockerd started and nothing failed after it → nothing\n", "  evidence    line 2  time=", "  warnings    line 1  warning  Your kernel does not support swap memory limit"]
    )]
    #[case::unmatched(
        "failed to start daemon: something new in the bridge\n",
        &["\ndockerd did not start: a network failure no catalogue entry names: failed to start daemon: something new in the bridge [network] → read the line below\n", "  family      network (from the words", "  evidence    line 1  failed to start daemon: something new", "  next        "]
    )]
    #[case::no_failure(
        "time=\"x\" level=info msg=\"Starting up\"\n",
        &["\nunknown: the log shows no failure and no readiness → paste more of the log", "  evidence    line 1"]
    )]
    #[case::empty("", &["x.log: 0 lines", "unknown: the log has no lines"])]
    fn summary_shows_the_verdict(#[case] log: &str, #[case] expected: &[&str]) {
        let text = render(log);
        for want in expected {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
        assert!(!text.contains('\u{1b}'), "no colour unless asked");
        // The headline is one line whatever its length; the details wrap.
        let headline = text.lines().nth(1).unwrap_or_default();
        assert!(headline.chars().count() <= 500, "{headline}");
        assert!(
            text.lines()
                .skip(2)
                .all(|l| l.chars().count() <= WIDTH + 60),
            "{text}"
        );
    }

    #[test]
    fn wrap_and_cut() {
        assert_eq!(wrap("a bb ccc", 4), ["a bb", "ccc"]);
        assert_eq!(wrap("", 4), [""]);
        let items = ["a (1)".to_owned(), "bb (2)".to_owned(), "c (3)".to_owned()];
        assert_eq!(wrap_items(&items, 13), ["a (1), bb (2),", "c (3)"]);
        assert_eq!(cut("héllo", 2), "hé…");
        assert_eq!(cut("hi", 2), "hi");
    }

    #[test]
    fn json_has_the_schema_and_verdict() {
        let set = SignatureSet::builtin();
        let t = triage_str(
            &set,
            "-",
            "failed to start daemon: Devices cgroup isn't mounted\n",
        );
        let mut out = Vec::new();
        write_json(&t, false, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["schema"], "dindcheck/triage/v2");
        assert_eq!(v["phase"], "daemon-failed");
        assert_eq!(v["family"], "cgroup");
        assert_eq!(v["verdict"], "known");
        assert_eq!(v["signature"], "devices-cgroup-missing");
        assert_eq!(v["evidence"][0]["role"], "fatal");
        assert_eq!(v["evidence"][0]["line"], 1);
        assert!(v["reproduced"][0]["ready_instead"]["changed"].is_object());
    }
}
