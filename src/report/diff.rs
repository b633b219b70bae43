//! Renderers of a [`ReportDiff`]: terminal text (the only one with colour),
//! JSON (schema `dindcheck/diff/v1`) and Markdown for a pull-request
//! comment.
//!
//! All three list regressions first, then fixes, changed outcomes, changed
//! signatures, added and removed cells; text and Markdown summarise the
//! unchanged cells in one line each. They compute nothing: the
//! classification is `crate::diff`'s.

use std::io::Write;

use owo_colors::OwoColorize;

use crate::analysis::diff::{CellDiff, Change, ReportDiff};

use super::styles::Styles;
use super::{ReportError, stdout_error};

fn heading(change: Change) -> &'static str {
    match change {
        Change::Regression => "regressions",
        Change::Fix => "fixes",
        Change::ChangedOutcome => "changed outcome",
        Change::ChangedSignature => "changed signature",
        Change::Added => "added (only in the new report)",
        Change::Removed => "removed (only in the base report)",
        Change::Unchanged => "unchanged",
    }
}

/// `0 regressions, 3 fixes, 3 changed signatures, 2 unchanged`: regressions
/// and fixes always, the rest when present.
fn summary(diff: &ReportDiff) -> String {
    Change::ALL
        .iter()
        .filter(|c| matches!(c, Change::Regression | Change::Fix) || diff.count(**c) > 0)
        .map(|c| {
            let n = diff.count(*c);
            let (one, many) = match c {
                Change::Regression => ("regression", "regressions"),
                Change::Fix => ("fix", "fixes"),
                Change::ChangedOutcome => ("changed outcome", "changed outcomes"),
                Change::ChangedSignature => ("changed signature", "changed signatures"),
                Change::Added => ("added", "added"),
                Change::Removed => ("removed", "removed"),
                Change::Unchanged => ("unchanged", "unchanged"),
            };
            format!("{n} {}", if n == 1 { one } else { many })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn pair_lines(diff: &ReportDiff) -> Vec<String> {
    diff.pairs
        .iter()
        .map(|p| {
            format!(
                "paired {}={} (base) with {}={} (new){}",
                p.pair.axis,
                p.pair.base,
                p.pair.axis,
                p.pair.new,
                if p.automatic {
                    ", automatically: each report has one label"
                } else {
                    ""
                }
            )
        })
        .collect()
}

fn side(side: Option<&crate::analysis::diff::CellSide>) -> String {
    side.map_or_else(|| "(not run)".to_owned(), |s| s.verdict())
}

fn change_style(change: Change, styles: &Styles) -> owo_colors::Style {
    match change {
        Change::Regression => styles.fail,
        Change::Fix => styles.ok,
        Change::ChangedOutcome | Change::ChangedSignature => styles.warn,
        Change::Added | Change::Removed | Change::Unchanged => styles.dim,
    }
}

/// Writes `diff` as grouped text for the terminal.
///
/// # Errors
/// [`ReportError::Write`] when the writer fails.
pub fn write_text(
    diff: &ReportDiff,
    styles: &Styles,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    writeln!(
        out,
        "{} {}: base {} ({} cells) → new {} ({} cells)",
        "diff".style(styles.bold),
        diff.new.scenario.style(styles.bold),
        diff.base.started_at,
        diff.base.cells,
        diff.new.started_at,
        diff.new.cells
    )?;
    for line in pair_lines(diff) {
        writeln!(out, "{line}")?;
    }
    for note in &diff.notes {
        writeln!(out, "{} {note}", "note:".style(styles.warn))?;
    }
    for change in Change::ALL {
        let cells: Vec<&CellDiff> = diff.with(change).collect();
        if cells.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(
            out,
            "{} ({})",
            heading(change).style(change_style(change, styles)),
            cells.len()
        )?;
        for c in cells {
            if change == Change::Unchanged {
                writeln!(out, "  {}: {}", c.label(), side(c.new.as_ref()))?;
                continue;
            }
            writeln!(out, "  {}", c.label())?;
            writeln!(
                out,
                "      {} → {}",
                side(c.base.as_ref()),
                side(c.new.as_ref()).style(change_style(change, styles))
            )?;
            // The fatal line that explains the worse side.
            let (label, fatal) = match change {
                Change::Fix | Change::Removed => ("was", c.base.as_ref()),
                _ => ("now", c.new.as_ref()),
            };
            if let Some(line) = fatal.and_then(|s| s.fatal_line.as_deref()) {
                writeln!(out, "      {label}: {}", line.style(styles.dim))?;
            }
        }
    }
    writeln!(out)?;
    writeln!(out, "{}", summary(diff))?;
    Ok(())
}

/// Writes `diff` as pretty JSON followed by a newline.
///
/// # Errors
/// [`ReportError`] on serialisation or write failure.
pub fn write_json(diff: &ReportDiff, out: &mut dyn Write) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut *out, diff).map_err(ReportError::Serialize)?;
    writeln!(out).map_err(stdout_error)
}

/// Writes `diff` as Markdown: a summary, then one table per kind of change.
///
/// # Errors
/// [`ReportError::Write`] when the writer fails.
pub fn write_markdown(diff: &ReportDiff, out: &mut dyn Write) -> Result<(), ReportError> {
    render_markdown(diff, out).map_err(stdout_error)
}

fn md_escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn md_side(side: Option<&crate::analysis::diff::CellSide>) -> String {
    match side {
        None => "–".to_owned(),
        Some(s) => match &s.signature {
            Some(sig) => format!("{} `{}`", s.outcome.name(), md_escape(sig)),
            None => s.outcome.name().to_owned(),
        },
    }
}

fn render_markdown(diff: &ReportDiff, out: &mut dyn Write) -> std::io::Result<()> {
    let mark = if diff.has_regression() { "❌" } else { "✅" };
    writeln!(out, "## {mark} dindcheck diff: `{}`", diff.new.scenario)?;
    writeln!(out)?;
    writeln!(
        out,
        "Base {} ({} cells) → new {} ({} cells): **{}**.",
        diff.base.started_at,
        diff.base.cells,
        diff.new.started_at,
        diff.new.cells,
        summary(diff)
    )?;
    let mut notes = pair_lines(diff);
    notes.extend(diff.notes.iter().cloned());
    if !notes.is_empty() {
        writeln!(out)?;
        for note in notes {
            writeln!(out, "- {note}")?;
        }
    }
    for change in Change::ALL {
        let cells: Vec<&CellDiff> = diff.with(change).collect();
        if cells.is_empty() {
            continue;
        }
        writeln!(out)?;
        // Unchanged cells fold away: the comment is about what moved.
        let folded = change == Change::Unchanged;
        if folded {
            writeln!(
                out,
                "<details><summary>{} ({})</summary>",
                heading(change),
                cells.len()
            )?;
        } else {
            writeln!(out, "### {} ({})", heading(change), cells.len())?;
        }
        writeln!(out)?;
        writeln!(out, "| cell | base | new |")?;
        writeln!(out, "|---|---|---|")?;
        for c in cells {
            writeln!(
                out,
                "| `{}` | {} | {} |",
                md_escape(&c.label()),
                md_side(c.base.as_ref()),
                md_side(c.new.as_ref())
            )?;
        }
        if folded {
            writeln!(out)?;
            writeln!(out, "</details>")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::diff::{DiffOptions, Pair, diff};
    use crate::fixture_reports::assert_snapshot;
    use crate::fixture_reports::report_fixture as fixture;

    fn upgrade() -> ReportDiff {
        let options = DiffOptions {
            pairs: vec![Pair::parse("20221219=20240729").unwrap()],
            force: false,
        };
        diff(
            &fixture("devices-cgroup-old"),
            &fixture("devices-cgroup-new"),
            &options,
        )
        .unwrap()
    }

    fn render(f: impl FnOnce(&mut dyn Write) -> Result<(), ReportError>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_matches_the_snapshot() {
        let d = upgrade();
        let text = render(|out| write_text(&d, &Styles::default(), out));
        assert_snapshot("diff-devices-cgroup-old-new.txt", &text);
        assert!(!text.contains('\u{1b}'), "no colour by default");
    }

    #[test]
    fn markdown_matches_the_snapshot() {
        let d = upgrade();
        assert_snapshot(
            "diff-devices-cgroup-old-new.md",
            &render(|out| write_markdown(&d, out)),
        );
        let reverse = diff(
            &fixture("devices-cgroup-new"),
            &fixture("devices-cgroup-old"),
            &DiffOptions::default(),
        )
        .unwrap();
        let md = render(|out| write_markdown(&reverse, out));
        assert!(md.starts_with("## ❌ dindcheck diff"), "{md}");
        assert!(md.contains("### regressions (3)"));
    }

    #[test]
    fn json_carries_the_schema_and_every_count() {
        let d = upgrade();
        let json: serde_json::Value =
            serde_json::from_str(&render(|out| write_json(&d, out))).unwrap();
        assert_eq!(json["schema"], "dindcheck/diff/v1");
        assert_eq!(json["counts"]["fix"], 3);
        assert_eq!(json["counts"]["regression"], 0);
        assert_eq!(json["counts"]["changed-signature"], 3);
        assert_eq!(json["pairs"][0]["axis"], "runsc");
        assert_eq!(json["pairs"][0]["automatic"], false);
        let first = &json["cells"][0];
        assert_eq!(first["change"], "changed-signature");
        assert_eq!(first["renamed"]["runsc"], "20221219");
        assert_eq!(first["key"]["runsc"], "20240729");
        assert_eq!(first["base"]["signature"], "devices-cgroup-missing");
        assert_eq!(first["new"]["signature"], "iptables-nft-unsupported");
    }
}
