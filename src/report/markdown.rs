//! The Markdown report: a matrix table fit for a pull-request comment or the
//! `reports/` folder, a legend of the signatures seen, and the minimal-fix
//! analysis from [`crate::analysis::explain`].
//!
//! The table folds the matrix into two dimensions so that a 2×2×2×2 matrix
//! reads at a glance (see [`layout`]): the runtime axis `runsc` (or, without
//! it, the last axis) and the fastest-varying other axes become columns,
//! the remaining axes rows. Each cell shows an emoji and the outcome, and a
//! failing cell its signature. The renderer is pure: no colour, no file
//! access, nothing that changes between two renderings of one report.

use std::collections::BTreeMap;
use std::io::Write;

use indexmap::IndexMap;

use crate::analysis::explain;
use crate::classify::SignatureSet;
use crate::report_format::{CellResult, Outcome, RunReport};
use crate::scenario::RUNSC_AXIS;

use super::ReportError;

/// At most this many table columns (besides the row header) in [`layout`].
pub const MAX_COLUMNS: usize = 6;

/// Which axes become table columns and which rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Column axes, outermost first.
    pub columns: Vec<String>,
    /// Row axes, outermost first.
    pub rows: Vec<String>,
}

/// Chooses the table layout for `axes` (in matrix order, with their number
/// of values).
///
/// The columns start with the runtime axis (`runsc`, else the last axis);
/// then the last remaining axis joins them while the columns stay within
/// [`MAX_COLUMNS`] and at least one axis is left for the rows. The rows keep
/// the matrix order of what is left.
pub fn layout(axes: &[(String, usize)]) -> Layout {
    let mut rest: Vec<(String, usize)> = axes.to_vec();
    let runtime = rest
        .iter()
        .position(|(a, _)| a == RUNSC_AXIS)
        .or_else(|| rest.len().checked_sub(1));
    let Some(runtime) = runtime else {
        return Layout {
            columns: Vec::new(),
            rows: Vec::new(),
        };
    };
    let (name, mut width) = rest.remove(runtime);
    let mut columns = vec![name];
    while rest.len() > 1 {
        let (_, n) = rest.last().expect("rest has more than one axis");
        if width * n > MAX_COLUMNS {
            break;
        }
        width *= n;
        let (name, _) = rest.pop().expect("rest has more than one axis");
        columns.push(name);
    }
    Layout {
        columns,
        rows: rest.into_iter().map(|(a, _)| a).collect(),
    }
}

/// Writes the Markdown report for `report`.
///
/// `signatures` supplies each signature's title and fix for the legend.
///
/// # Errors
/// [`ReportError::Write`] when the writer fails.
pub fn write(
    report: &RunReport,
    signatures: &SignatureSet,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    render_matrix(report, signatures, out).map_err(super::stdout_error)?;
    writeln!(out).map_err(super::stdout_error)?;
    super::explain::write_markdown(&explain::explain(report), "####", out)
}

fn render_matrix(
    report: &RunReport,
    signatures: &SignatureSet,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let s = &report.scenario;
    writeln!(out, "## dindcheck: `{}`", s.name)?;
    writeln!(out)?;
    if let Some(description) = &s.description {
        writeln!(out, "{}", one_line(description))?;
        writeln!(out)?;
    }
    writeln!(
        out,
        "{} · sandbox {} · depth {} · started {} · kernel {}",
        cells(report.cells.len()),
        s.sandbox,
        s.depth,
        report.started_at,
        report.host.kernel
    )?;
    writeln!(out)?;
    write_table(report, out)?;
    writeln!(out)?;
    write_summary(report, out)?;
    let seen = report.signature_counts();
    if !seen.is_empty() {
        write_legend(&seen, signatures, out)?;
    }
    writeln!(out)?;
    writeln!(out, "### Minimal fix")?;
    Ok(())
}

/// Each axis's values in first-seen order.
fn axis_values(report: &RunReport) -> IndexMap<String, Vec<String>> {
    let mut values: IndexMap<String, Vec<String>> = report
        .scenario
        .axes
        .iter()
        .map(|a| (a.clone(), Vec::new()))
        .collect();
    for cell in &report.cells {
        for (axis, seen) in values.iter_mut() {
            let value = cell.axes.get(axis).cloned().unwrap_or_default();
            if !seen.contains(&value) {
                seen.push(value);
            }
        }
    }
    values
}

/// Every combination of the values of `axes`, outermost first.
fn combinations(axes: &[String], values: &IndexMap<String, Vec<String>>) -> Vec<Vec<String>> {
    let mut combos: Vec<Vec<String>> = vec![Vec::new()];
    for axis in axes {
        let Some(vals) = values.get(axis) else {
            continue;
        };
        combos = combos
            .into_iter()
            .flat_map(|prefix| {
                vals.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push(v.clone());
                    next
                })
            })
            .collect();
    }
    combos
}

fn key_of(cell: &CellResult, axes: &[String]) -> Vec<String> {
    axes.iter()
        .map(|a| cell.axes.get(a).cloned().unwrap_or_default())
        .collect()
}

fn write_table(report: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
    let values = axis_values(report);
    let sized: Vec<(String, usize)> = values.iter().map(|(a, v)| (a.clone(), v.len())).collect();
    let layout = layout(&sized);
    let mut grid: BTreeMap<(Vec<String>, Vec<String>), &CellResult> = BTreeMap::new();
    for cell in &report.cells {
        grid.insert(
            (key_of(cell, &layout.rows), key_of(cell, &layout.columns)),
            cell,
        );
    }
    let has = |row: Option<&Vec<String>>, col: Option<&Vec<String>>| {
        grid.keys()
            .any(|(r, c)| row.is_none_or(|x| x == r) && col.is_none_or(|x| x == c))
    };
    let columns: Vec<Vec<String>> = combinations(&layout.columns, &values)
        .into_iter()
        .filter(|c| has(None, Some(c)))
        .collect();
    let rows: Vec<Vec<String>> = combinations(&layout.rows, &values)
        .into_iter()
        .filter(|r| has(Some(r), None))
        .collect();
    let corner = if layout.rows.is_empty() {
        String::new()
    } else {
        escape(&layout.rows.join(" · "))
    };
    let mut header = vec![corner];
    for col in &columns {
        let parts: Vec<String> = layout
            .columns
            .iter()
            .zip(col)
            .map(|(a, v)| escape(&format!("{a}={v}")))
            .collect();
        header.push(parts.join("<br>"));
    }
    writeln!(out, "| {} |", header.join(" | "))?;
    let rule: Vec<&str> = header.iter().map(|_| "---").collect();
    writeln!(out, "|{}|", rule.join("|"))?;
    for row in &rows {
        let mut line = vec![if layout.rows.is_empty() {
            "·".to_owned()
        } else {
            escape(&row.join(" · "))
        }];
        for col in &columns {
            line.push(match grid.get(&(row.clone(), col.clone())) {
                Some(cell) => cell_text(cell),
                None => "–".to_owned(),
            });
        }
        writeln!(out, "| {} |", line.join(" | "))?;
    }
    Ok(())
}

fn emoji(outcome: Outcome) -> &'static str {
    match outcome {
        o if o.is_success() => "✅",
        Outcome::DaemonFailed => "❌",
        Outcome::Timeout => "⏱️",
        Outcome::Error => "⚠️",
        _ => "🟠",
    }
}

/// The text of one table cell.
fn cell_text(cell: &CellResult) -> String {
    let mut text = format!("{} {}", emoji(cell.outcome), cell.outcome.name());
    if let Some(sig) = &cell.signature {
        text.push_str(&format!("<br>`{}`", escape(sig)));
    }
    if cell.expectation_met == Some(false) {
        let expected = cell
            .expected
            .as_ref()
            .map(|e| {
                [e.outcome.as_deref(), e.signature.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        text.push_str(&format!("<br>⚠️ expected {}", escape(&expected)));
    }
    if cell.flaky {
        text.push_str("<br>🔁 flaky");
    }
    text
}

/// Escapes what would break a table cell.
fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// `1 cell`, `2 cells`.
fn cells(n: usize) -> String {
    if n == 1 {
        "1 cell".to_owned()
    } else {
        format!("{n} cells")
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn write_summary(report: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
    let mut counts: BTreeMap<std::cmp::Reverse<usize>, (Outcome, usize)> = BTreeMap::new();
    for cell in &report.cells {
        counts
            .entry(std::cmp::Reverse(explain::outcome_rank(cell.outcome)))
            .or_insert((cell.outcome, 0))
            .1 += 1;
    }
    let parts: Vec<String> = counts
        .values()
        .map(|(o, n)| format!("{n} {}", o.name()))
        .collect();
    writeln!(
        out,
        "**{}:** {}",
        cells(report.cells.len()),
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join(", ")
        }
    )?;
    let unexpected = report.unmet_expectations();
    if unexpected > 0 {
        writeln!(out)?;
        writeln!(out, "⚠️ Unmet expectations: {}.", cells(unexpected))?;
    }
    let flaky = report.cells.iter().filter(|c| c.flaky).count();
    if flaky > 0 {
        writeln!(out)?;
        writeln!(
            out,
            "🔁 Flaky (a retry gave another verdict): {}.",
            cells(flaky)
        )?;
    }
    if report.interrupted {
        writeln!(out)?;
        writeln!(out, "⚠️ The run was interrupted; the matrix is incomplete.")?;
    }
    Ok(())
}

/// The signatures the cells show, with their titles and fixes.
fn write_legend(
    seen: &BTreeMap<&str, usize>,
    signatures: &SignatureSet,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(out, "### Signatures")?;
    writeln!(out)?;
    for (&id, &count) in seen {
        match signatures.get(id) {
            Some(entry) => writeln!(
                out,
                "- `{id}` ({}): {}. **Fix:** {}",
                cells(count),
                one_line(&entry.title).trim_end_matches('.'),
                one_line(&entry.fix)
            )?,
            None => writeln!(
                out,
                "- `{id}` ({}): no catalogue entry; see the fatal lines in the JSON report",
                cells(count)
            )?,
        }
    }
    Ok(())
}

/// Markdown, one section per report separated by a blank line: the
/// [`super::Render`] of `Format::Markdown`.
///
/// # Errors
/// [`ReportError::Write`] when the writer fails.
pub fn render(
    reports: &[RunReport],
    ctx: &super::RenderContext<'_>,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    for (i, report) in reports.iter().enumerate() {
        if i > 0 {
            writeln!(out).map_err(super::stdout_error)?;
        }
        write(report, ctx.signatures, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture_reports::assert_snapshot;
    use crate::fixture_reports::report_fixture as fixture;
    use rstest::rstest;

    fn render_md(report: &RunReport) -> String {
        let mut out = Vec::new();
        write(report, &SignatureSet::builtin(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn axes(spec: &[(&str, usize)]) -> Vec<(String, usize)> {
        spec.iter().map(|(a, n)| ((*a).to_owned(), *n)).collect()
    }

    #[rstest]
    #[case(&[("cgroup_driver", 2), ("cgroup_parent", 2), ("iptables", 2), ("runsc", 2)],
           &["runsc", "iptables"], &["cgroup_driver", "cgroup_parent"])]
    #[case(&[("a", 2), ("b", 2), ("c", 2)], &["c", "b"], &["a"])]
    #[case(&[("layout", 4), ("runsc", 2)], &["runsc"], &["layout"])]
    #[case(&[("a", 3), ("b", 3), ("runsc", 2)], &["runsc", "b"], &["a"])]
    #[case(&[("a", 4), ("b", 4), ("runsc", 2)], &["runsc"], &["a", "b"])]
    #[case(&[("only", 5)], &["only"], &[])]
    #[case(&[], &[], &[])]
    fn layouts(#[case] spec: &[(&str, usize)], #[case] columns: &[&str], #[case] rows: &[&str]) {
        let l = layout(&axes(spec));
        assert_eq!(l.columns, columns);
        assert_eq!(l.rows, rows);
    }

    #[rstest]
    #[case("devices-cgroup-both", "devices-cgroup-both.md")]
    #[case("devices-cgroup-container", "devices-cgroup-container.md")]
    #[case("devices-cgroup-new", "devices-cgroup-new.md")]
    fn markdown_matches_the_snapshot(#[case] report: &str, #[case] expected: &str) {
        assert_snapshot(expected, &render_md(&fixture(report)));
    }

    #[test]
    fn the_design_matrix_is_a_four_by_four_table() {
        let md = render_md(&fixture("devices-cgroup-both"));
        let table: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(table.len(), 2 + 4, "{md}");
        assert_eq!(table[1], "|---|---|---|---|---|");
        for line in table.iter().filter(|l| !l.starts_with("|---")) {
            assert_eq!(line.matches(" | ").count(), 4, "{line}");
        }
        assert!(
            table[0]
                .starts_with("| cgroup_driver · cgroup_parent | runsc=20221219<br>iptables=true |")
        );
        assert!(
            table[2]
                .starts_with("| systemd · none | ❌ daemon-failed<br>`devices-cgroup-missing` |")
        );
    }

    #[test]
    fn unmet_expectations_flaky_cells_and_pipes_are_marked() {
        let mut report = fixture("devices-cgroup-new");
        let cell = &mut report.cells[0];
        cell.expected = Some(crate::report_format::Expectation {
            outcome: Some("ready".to_owned()),
            signature: None,
        });
        cell.expectation_met = Some(false);
        cell.flaky = true;
        cell.signature = Some("a|b".to_owned());
        let text = cell_text(cell);
        assert_eq!(
            text,
            "❌ daemon-failed<br>`a\\|b`<br>⚠️ expected ready<br>🔁 flaky"
        );
        let md = render_md(&report);
        assert!(md.contains("⚠️ Unmet expectations: 1 cell."));
        assert!(md.contains("🔁 Flaky (a retry gave another verdict): 1 cell."));
        assert!(md.contains("- `a|b` (1 cell): no catalogue entry"));
    }
}
