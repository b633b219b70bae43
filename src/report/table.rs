//! The terminal table: one row per cell, one column per axis, then the
//! outcome, the signature and the timings; a legend of the signatures seen
//! (title and fix) and a summary follow.

use std::collections::BTreeMap;
use std::io::Write;

use owo_colors::OwoColorize;

use crate::classify::SignatureSet;
use crate::report_format::{CellResult, Outcome, RunReport};

use super::ReportError;
use super::styles::Styles;

/// The terminal table of each report, followed by its minimal-fix
/// analysis (part of every table): the [`super::Render`] of `Format::Table`.
///
/// # Errors
/// [`ReportError::Write`] when the writer fails.
pub fn render(
    reports: &[RunReport],
    ctx: &super::RenderContext<'_>,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    for report in reports {
        write(report, ctx.signatures, &ctx.styles, out)?;
        writeln!(out).map_err(super::stdout_error)?;
        super::explain::write_text(&crate::analysis::explain::explain(report), out)?;
    }
    Ok(())
}

/// Writes the table for `report`.
///
/// # Errors
/// [`ReportError::Write`] when the writer fails.
pub fn write(
    report: &RunReport,
    signatures: &SignatureSet,
    styles: &Styles,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    render_table(report, signatures, styles, out).map_err(super::stdout_error)
}

fn render_table(
    report: &RunReport,
    signatures: &SignatureSet,
    styles: &Styles,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let axes = &report.scenario.axes;
    let mut headers: Vec<String> = vec!["#".to_owned()];
    headers.extend(axes.iter().cloned());
    headers.extend(
        ["outcome", "signature", "dockerd", "api ms", "total ms"]
            .iter()
            .map(|s| s.to_string()),
    );
    let rows: Vec<Vec<String>> = report
        .cells
        .iter()
        .enumerate()
        .map(|(i, cell)| row(i, cell, axes))
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, value) in widths.iter_mut().zip(row) {
            *w = (*w).max(value.chars().count());
        }
    }
    writeln!(
        out,
        "{} {} ({} cells, {} sandbox, depth {})",
        "scenario".style(styles.bold),
        report.scenario.name.style(styles.bold),
        report.cells.len(),
        report.scenario.sandbox,
        report.scenario.depth
    )?;
    let header_line: Vec<String> = headers
        .iter()
        .zip(&widths)
        .map(|(h, w)| format!("{h:<w$}"))
        .collect();
    writeln!(
        out,
        "{}",
        header_line.join("  ").trim_end().style(styles.bold)
    )?;
    let outcome_col = 1 + axes.len();
    // Rows are marked as uncovered only in a scenario that has rules at all.
    let has_rules = report.cells.iter().any(|c| c.expected.is_some());
    for (cell, row) in report.cells.iter().zip(&rows) {
        let mut parts = Vec::with_capacity(row.len());
        for (col, (value, w)) in row.iter().zip(&widths).enumerate() {
            let padded = format!("{value:<w$}");
            let styled = if col == outcome_col {
                padded.style(styles.outcome(cell.outcome)).to_string()
            } else if col == outcome_col + 1 && cell.signature.is_some() {
                padded.style(styles.fail).to_string()
            } else if col == 0 {
                padded.style(styles.dim).to_string()
            } else {
                padded
            };
            parts.push(styled);
        }
        let mut line = parts.join("  ");
        if cell.expectation_met == Some(false) {
            line.push_str(&format!("  {}", "(unexpected)".style(styles.warn)));
        } else if has_rules && cell.expected.is_none() {
            line.push_str(&format!("  {}", "(no expect: rule)".style(styles.warn)));
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    write_legend(report, signatures, styles, out)?;
    write_summary(report, styles, out)
}

fn row(index: usize, cell: &CellResult, axes: &[String]) -> Vec<String> {
    let mut row = vec![index.to_string()];
    for axis in axes {
        row.push(cell.axes.get(axis).cloned().unwrap_or_default());
    }
    row.push(cell.outcome.name().to_owned());
    row.push(cell.signature.clone().unwrap_or_else(|| "-".to_owned()));
    row.push(
        cell.dockerd
            .as_ref()
            .and_then(|d| d.server_version.clone())
            .unwrap_or_else(|| "-".to_owned()),
    );
    row.push(
        cell.timings_ms
            .dockerd_start_to_api
            .map_or("-".to_owned(), |ms| ms.to_string()),
    );
    row.push(cell.timings_ms.total.to_string());
    row
}

fn write_legend(
    report: &RunReport,
    signatures: &SignatureSet,
    styles: &Styles,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let seen = report.signature_counts();
    if seen.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    for (id, count) in seen {
        match signatures.get(id) {
            Some(entry) => {
                writeln!(
                    out,
                    "{} ({count} cells): {}",
                    id.style(styles.fail),
                    entry.title
                )?;
                writeln!(out, "    fix: {}", entry.fix.trim())?;
            }
            None => {
                writeln!(
                    out,
                    "{} ({count} cells): no catalogue entry matched; see the fatal lines in the JSON report",
                    id.style(styles.warn)
                )?;
            }
        }
    }
    Ok(())
}

fn write_summary(report: &RunReport, styles: &Styles, out: &mut dyn Write) -> std::io::Result<()> {
    let mut counts: BTreeMap<usize, (Outcome, usize)> = BTreeMap::new();
    for cell in &report.cells {
        let rank = Outcome::ALL
            .iter()
            .position(|o| *o == cell.outcome)
            .unwrap_or(0);
        counts
            .entry(usize::MAX - rank)
            .or_insert((cell.outcome, 0))
            .1 += 1;
    }
    let parts: Vec<String> = counts
        .values()
        .map(|(o, n)| format!("{n} {}", o.name().style(styles.outcome(*o))))
        .collect();
    writeln!(out)?;
    writeln!(out, "{} cells: {}", report.cells.len(), parts.join(", "))?;
    let unexpected = report.unmet_expectations();
    if unexpected > 0 {
        writeln!(
            out,
            "{}",
            format!("{unexpected} cells did not meet their expectation").style(styles.warn)
        )?;
    }
    let uncovered = report.uncovered_cells();
    if uncovered > 0 {
        writeln!(
            out,
            "{}",
            format!("{uncovered} cells are covered by no expect: rule (--strict fails them)")
                .style(styles.warn)
        )?;
    }
    let retried: usize = report.cells.iter().map(|c| c.retried_starts.len()).sum();
    if retried > 0 {
        writeln!(
            out,
            "{}",
            format!(
                "{retried} container starts were retried because the init process had exited \
                 before the start (see `retried_starts` in the JSON)"
            )
            .style(styles.warn)
        )?;
    }
    let leaks: usize = report.cells.iter().map(|c| c.leaked.len()).sum();
    if leaks > 0 {
        writeln!(
            out,
            "{}",
            format!("{leaks} leftovers were swept after teardown (see `leaked` in the JSON)")
                .style(styles.warn)
        )?;
    }
    if report.interrupted {
        writeln!(out, "{}", "the run was interrupted".style(styles.warn))?;
    }
    Ok(())
}

/// One progress line for a finished cell, for stderr.
pub fn progress_line(done: usize, total: usize, cell: &CellResult, styles: &Styles) -> String {
    let width = total.to_string().len();
    format!(
        "[{done:>width$}/{total}] {:<16} {:<32} {} ({} ms)",
        cell.outcome.name().style(styles.outcome(cell.outcome)),
        cell.signature.as_deref().unwrap_or("-"),
        cell.id,
        cell.timings_ms.total
    )
}
