//! The commands that work on finished reports, for CI pipelines: `diff`
//! (the gVisor upgrade check), `explain` (minimal-fix analysis) and `merge`
//! (joining shard reports). They read JSON reports and render them; they
//! never run a cell.

use std::io::Write;
use std::path::Path;

use crate::analysis::diff::{DiffOptions, Pair};
use crate::classify::SignatureSet;
use crate::cli::{DiffArgs, ExplainArgs, MergeArgs, ReportFormat};
use crate::errors::{EXIT_EXPECTATION_FAILED, EXIT_OK, HarnessError};
use crate::report::junit::JunitOptions;
use crate::report::styles::Styles;
use crate::report::{self, ReportError, json};
use crate::report_format::RunReport;

/// Reads a report given on the command line; a bad one is a usage error.
pub fn read_input(path: &Path) -> Result<RunReport, HarnessError> {
    json::read(path).map_err(|err| HarnessError::Input {
        message: format!("cannot use {} as a report", path.display()),
        source: Box::new(err),
    })
}

/// `dindcheck diff BASE NEW`: exit 1 when a cell regressed.
///
/// # Errors
/// Unreadable reports and reports that cannot be compared (exit 2).
pub fn diff(args: &DiffArgs, styles: &Styles) -> Result<u8, HarnessError> {
    let base = read_input(&args.base)?;
    let new = read_input(&args.new)?;
    let pairs = args
        .pair
        .iter()
        .map(|p| Pair::parse(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| HarnessError::Input {
            message: "bad --pair".to_owned(),
            source: Box::new(err),
        })?;
    let options = DiffOptions {
        pairs,
        force: args.force,
    };
    let result =
        crate::analysis::diff::diff(&base, &new, &options).map_err(|err| HarnessError::Input {
            message: format!(
                "cannot compare {} with {}",
                args.base.display(),
                args.new.display()
            ),
            source: Box::new(err),
        })?;
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        ReportFormat::Text => report::diff::write_text(&result, styles, &mut out),
        ReportFormat::Json => report::diff::write_json(&result, &mut out),
        ReportFormat::Markdown => report::diff::write_markdown(&result, &mut out),
    };
    ignore_broken_pipe(written)?;
    Ok(if result.has_regression() {
        EXIT_EXPECTATION_FAILED
    } else {
        EXIT_OK
    })
}

/// `dindcheck explain REPORT`.
///
/// # Errors
/// An unreadable report (exit 2).
pub fn explain(args: &ExplainArgs) -> Result<u8, HarnessError> {
    let report = read_input(&args.report)?;
    let explanation = crate::analysis::explain::explain(&report);
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        ReportFormat::Text => crate::report::explain::write_text(&explanation, &mut out),
        ReportFormat::Json => serde_json::to_writer_pretty(&mut out, &explanation)
            .map_err(ReportError::Serialize)
            .and_then(|()| writeln!(out).map_err(stdout_error)),
        ReportFormat::Markdown => {
            crate::report::explain::write_markdown(&explanation, "##", &mut out)
        }
    };
    ignore_broken_pipe(written)?;
    Ok(EXIT_OK)
}

/// `dindcheck merge SHARD…`.
///
/// # Errors
/// Unreadable reports, overlapping or mismatched shards (exit 2), and
/// output that cannot be written.
pub fn merge(args: &MergeArgs) -> Result<u8, HarnessError> {
    let mut shards = Vec::new();
    for path in &args.reports {
        shards.push(crate::analysis::merge::Shard::new(path, read_input(path)?));
    }
    let merged = crate::analysis::merge::merge(shards).map_err(|err| HarnessError::Input {
        message: "cannot merge the shard reports".to_owned(),
        source: Box::new(err),
    })?;
    write_extra_reports(
        std::slice::from_ref(&merged),
        args.junit.as_deref(),
        JunitOptions::default(),
        args.markdown.as_deref(),
    )?;
    match &args.output {
        Some(path) => report::write_atomic(path, |w| json::write(&merged, w))?,
        None => ignore_broken_pipe(json::write(&merged, &mut std::io::stdout().lock()))?,
    }
    Ok(if merged.has_failed_expectation() {
        EXIT_EXPECTATION_FAILED
    } else {
        EXIT_OK
    })
}

/// Writes the `--junit` and `--markdown` files of a run or a merge.
///
/// # Errors
/// [`HarnessError::Report`] when a file cannot be written.
pub fn write_extra_reports(
    reports: &[RunReport],
    junit: Option<&Path>,
    junit_options: JunitOptions,
    markdown: Option<&Path>,
) -> Result<(), HarnessError> {
    let signatures = SignatureSet::builtin();
    if let Some(path) = junit {
        report::write_atomic(path, |w| {
            report::junit::write(reports, &signatures, &junit_options, w)
        })?;
    }
    if let Some(path) = markdown {
        report::write_atomic(path, |w| {
            for (i, r) in reports.iter().enumerate() {
                if i > 0 {
                    writeln!(w).map_err(stdout_error)?;
                }
                report::markdown::write(r, &signatures, w)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

fn stdout_error(source: std::io::Error) -> ReportError {
    ReportError::Write {
        path: "-".into(),
        source,
    }
}

/// A closed stdout (`| head`) is a normal end, as in ripgrep.
pub fn ignore_broken_pipe(result: Result<(), ReportError>) -> Result<(), HarnessError> {
    match result {
        Err(ReportError::Write { source, .. })
            if source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Ok(())
        }
        other => Ok(other?),
    }
}
