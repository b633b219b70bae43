//! Renders `explain`'s minimal-fix analysis ([`Explanation`]) as text and
//! Markdown. The analysis itself is `analysis::explain`; nothing here
//! computes a result.

use std::collections::BTreeMap;
use std::io::Write;

use crate::analysis::explain::{CellRef, Explanation, GroupExplanation, Setting};

use super::{ReportError, stdout_error};

fn join_settings(settings: &[Setting], sep: &str) -> String {
    settings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

fn counts(signatures: &BTreeMap<String, usize>) -> String {
    signatures
        .iter()
        .map(|(sig, n)| format!("{sig} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn group_title(scenario: &str, g: &GroupExplanation) -> String {
    match &g.group {
        Some(s) => format!("{scenario}, {s}"),
        None => scenario.to_owned(),
    }
}

/// Writes `explanation` as indented text lines for the terminal.
///
/// # Errors
/// [`ReportError::Write`] when the writer fails.
pub fn write_text(explanation: &Explanation, out: &mut dyn Write) -> Result<(), ReportError> {
    render_text(explanation, out).map_err(stdout_error)
}

fn render_text(e: &Explanation, out: &mut dyn Write) -> std::io::Result<()> {
    if e.groups.is_empty() {
        return writeln!(out, "{}: the report has no cells", e.scenario);
    }
    for g in &e.groups {
        let title = group_title(&e.scenario, g);
        if g.reaches_readiness {
            writeln!(
                out,
                "{title}: best outcome {}, reached by {} of {} cells",
                g.best.name(),
                g.best_cells.len(),
                g.cells
            )?;
        } else {
            writeln!(
                out,
                "{title}: no cell reaches readiness (best: {}, {} cells)",
                g.best.name(),
                g.cells
            )?;
            for b in &g.blockers {
                let place = match &b.exactly_where {
                    Some(s) => format!(", exactly the cells with {}", join_settings(s, " and ")),
                    None if b.cells.len() == g.cells => ", every cell".to_owned(),
                    None => String::new(),
                };
                writeln!(
                    out,
                    "  blocked by {} in {} of {} cells{place}",
                    b.signature,
                    b.cells.len(),
                    g.cells
                )?;
            }
        }
        for n in &g.necessary {
            writeln!(out, "  necessary: {}", n.setting)?;
            for p in &n.proofs {
                writeln!(
                    out,
                    "    {}: {}; with {}: {}",
                    p.a.label,
                    p.a.verdict(),
                    p.flipped,
                    p.b.verdict()
                )?;
            }
        }
        for s in &g.shared_untested {
            writeln!(
                out,
                "  shared by every {} cell, alternatives not run: {s}",
                g.best.name()
            )?;
        }
        for f in &g.fatal {
            writeln!(
                out,
                "  fatal to {}: {} ({} cells: {})",
                g.best.name(),
                join_settings(&f.settings, " with "),
                f.cells.len(),
                counts(&f.signatures)
            )?;
            for c in &f.cells {
                writeln!(out, "    {}: {}", c.label, c.verdict())?;
            }
        }
        if g.irrelevant.is_empty() {
            writeln!(out, "  irrelevant: none")?;
        }
        for i in g.irrelevant.iter().chain(&g.irrelevant_when) {
            match &i.when {
                Some(w) => writeln!(out, "  irrelevant when {w}: {}", i.axis)?,
                None => writeln!(out, "  irrelevant: {}", i.axis)?,
            }
            for p in &i.proofs {
                writeln!(
                    out,
                    "    {} and {}: both {}",
                    p.a.label,
                    p.flipped,
                    p.a.verdict()
                )?;
            }
        }
    }
    Ok(())
}

/// Writes `explanation` as a Markdown section (used by the Markdown report).
///
/// `heading` is the Markdown heading prefix for each group (`"###"`).
///
/// # Errors
/// [`ReportError::Write`] when the writer fails.
pub fn write_markdown(
    explanation: &Explanation,
    heading: &str,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    render_markdown(explanation, heading, out).map_err(stdout_error)
}

fn code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'"))
}

fn code_settings(settings: &[Setting], sep: &str) -> String {
    settings
        .iter()
        .map(|s| code(&s.to_string()))
        .collect::<Vec<_>>()
        .join(sep)
}

fn md_verdict(c: &CellRef) -> String {
    match &c.signature {
        Some(sig) => format!("{} {}", c.outcome.name(), code(sig)),
        None => c.outcome.name().to_owned(),
    }
}

fn render_markdown(e: &Explanation, heading: &str, out: &mut dyn Write) -> std::io::Result<()> {
    if e.groups.is_empty() {
        return writeln!(out, "The report has no cells.");
    }
    for (n, g) in e.groups.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        let title = match &g.group {
            Some(s) => code(&s.to_string()),
            None => code(&e.scenario),
        };
        if g.reaches_readiness {
            writeln!(
                out,
                "{heading} {title}: best outcome {}, reached by {} of {} cells",
                g.best.name(),
                g.best_cells.len(),
                g.cells
            )?;
        } else {
            writeln!(out, "{heading} {title}: no cell reaches readiness")?;
        }
        writeln!(out)?;
        for b in &g.blockers {
            let place = match &b.exactly_where {
                Some(s) => format!(", exactly the cells with {}", code_settings(s, " and ")),
                None if b.cells.len() == g.cells => ", every cell".to_owned(),
                None => String::new(),
            };
            writeln!(
                out,
                "- **Blocked by** {} in {} of {} cells{place}",
                code(&b.signature),
                b.cells.len(),
                g.cells
            )?;
        }
        for n in &g.necessary {
            writeln!(out, "- **Necessary:** {}", code(&n.setting.to_string()))?;
            for p in &n.proofs {
                writeln!(
                    out,
                    "  - {}: {}; with {}: {}",
                    code(&p.a.label),
                    md_verdict(&p.a),
                    code(&p.flipped.to_string()),
                    md_verdict(&p.b)
                )?;
            }
        }
        for s in &g.shared_untested {
            writeln!(
                out,
                "- **Shared by every {} cell** (alternatives not run): {}",
                g.best.name(),
                code(&s.to_string())
            )?;
        }
        for f in &g.fatal {
            let sigs: Vec<String> = f
                .signatures
                .iter()
                .map(|(s, n)| format!("{} ×{n}", code(s)))
                .collect();
            writeln!(
                out,
                "- **Fatal** to {}: {} ({} cells: {})",
                g.best.name(),
                code_settings(&f.settings, " with "),
                f.cells.len(),
                sigs.join(", ")
            )?;
            for c in &f.cells {
                writeln!(out, "  - {}: {}", code(&c.label), md_verdict(c))?;
            }
        }
        if g.irrelevant.is_empty() {
            writeln!(out, "- **Irrelevant:** none")?;
        }
        for i in g.irrelevant.iter().chain(&g.irrelevant_when) {
            match &i.when {
                Some(w) => writeln!(
                    out,
                    "- **Irrelevant** when {}: {}",
                    code(&w.to_string()),
                    code(&i.axis)
                )?,
                None => writeln!(out, "- **Irrelevant:** {}", code(&i.axis))?,
            }
            for p in &i.proofs {
                writeln!(
                    out,
                    "  - {} and {}: both {}",
                    code(&p.a.label),
                    code(&p.flipped.to_string()),
                    md_verdict(&p.a)
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::explain::explain;
    use crate::fixture_reports::report_fixture as fixture;
    use rstest::rstest;

    #[rstest]
    #[case("devices-cgroup-both", "explain-devices-cgroup-both.txt", false)]
    #[case("devices-cgroup-both", "explain-devices-cgroup-both.md", true)]
    #[case(
        "devices-cgroup-container",
        "explain-devices-cgroup-container.txt",
        false
    )]
    fn renderings_match_the_snapshots(
        #[case] report: &str,
        #[case] expected: &str,
        #[case] markdown: bool,
    ) {
        let e = explain(&fixture(report));
        let mut out = Vec::new();
        if markdown {
            write_markdown(&e, "###", &mut out).unwrap();
        } else {
            write_text(&e, &mut out).unwrap();
        }
        crate::fixture_reports::assert_snapshot(expected, &String::from_utf8(out).unwrap());
    }
}
