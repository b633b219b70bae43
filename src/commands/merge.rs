//! `dindcheck merge SHARD…`: join shard reports (`run --shard K/N`) into the
//! report one full run would have written, optionally with JUnit and
//! Markdown. Exit 1 when a merged cell missed its expectation.

use std::path::PathBuf;

use crate::analysis::merge::Shard;
use crate::classify::SignatureSet;
use crate::errors::{EXIT_EXPECTATION_FAILED, EXIT_OK, HarnessError, InputError};
use crate::report::junit::JunitOptions;
use crate::report::styles::Styles;
use crate::report::{self, Destination, Format, Output, RenderContext};

use super::read_report;

/// What `dindcheck merge` was asked to join.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    /// Shard reports of one scenario.
    pub reports: Vec<PathBuf>,
    /// Write the merged report here instead of stdout.
    pub output: Option<PathBuf>,
    /// Also write JUnit XML here.
    pub junit: Option<PathBuf>,
    /// Also write a Markdown matrix here.
    pub markdown: Option<PathBuf>,
}

/// Runs `dindcheck merge`.
///
/// # Errors
/// Unreadable reports, overlapping or mismatched shards (exit 2), and
/// output that cannot be written.
pub fn run(config: &MergeConfig) -> Result<u8, HarnessError> {
    let mut shards = Vec::new();
    for path in &config.reports {
        shards.push(Shard::new(path, read_report(path)?));
    }
    let merged = crate::analysis::merge::merge(shards).map_err(InputError::Merge)?;
    let file = |format, path: &Option<PathBuf>| {
        path.as_ref().map(|path| Output {
            format,
            destination: Destination::File(path.clone()),
        })
    };
    let outputs: Vec<Output> = [
        file(Format::Junit, &config.junit),
        file(Format::Markdown, &config.markdown),
        Some(Output {
            format: Format::Json,
            destination: config
                .output
                .clone()
                .map_or(Destination::Stdout, Destination::File),
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    let render = RenderContext {
        signatures: SignatureSet::shared(),
        styles: Styles::default(),
        junit: JunitOptions::default(),
    };
    report::emit(std::slice::from_ref(&merged), &outputs, &render)?;
    Ok(if merged.has_failed_expectation() {
        EXIT_EXPECTATION_FAILED
    } else {
        EXIT_OK
    })
}
