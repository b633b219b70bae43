//! `dindcheck list`: the cells of scenarios, without running them, as
//! cell IDs, JSON, or a GitHub Actions matrix.

use std::io::Write;

use owo_colors::OwoColorize;

use crate::classify::SignatureSet;
use crate::errors::{EXIT_OK, HarnessError, UsageError};
use crate::matrix::{self, Cell};
use crate::report::{ReportError, ignore_broken_pipe, stdout_error};

use super::Terminal;
use super::prepare::{MatrixConfig, Prepared, prepare};

/// `list` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    /// Cell IDs for people.
    Table,
    /// One JSON document per scenario with each cell's settings.
    Json,
    /// The JSON a GitHub Actions `strategy.matrix` consumes.
    GithubMatrix,
}

/// What `dindcheck list` was asked to do.
#[derive(Debug, Clone)]
pub struct ListConfig {
    /// Scenarios, runsc binaries and filters.
    pub matrix: MatrixConfig,
    /// What to print.
    pub format: ListFormat,
    /// With [`ListFormat::GithubMatrix`]: one entry per shard of this many.
    pub shards: Option<usize>,
}

/// Runs `dindcheck list`.
///
/// # Errors
/// Scenario and usage errors, and a stdout that fails (not a closed pipe).
pub fn run(config: &ListConfig, terminal: &Terminal) -> Result<u8, HarnessError> {
    let prepared = prepare(&config.matrix, SignatureSet::shared(), false)?;
    if config.shards == Some(0) {
        return Err(UsageError::ZeroShards.into());
    }
    let mut out = std::io::stdout().lock();
    let written = (|| -> Result<(), ReportError> {
        for p in &prepared {
            match config.format {
                ListFormat::Json => {
                    let cells: Vec<serde_json::Value> = p.cells.iter().map(cell_json).collect();
                    let doc = serde_json::json!({"scenario": p.scenario.name, "cells": cells});
                    writeln!(out, "{doc}").map_err(stdout_error)?;
                }
                ListFormat::GithubMatrix => {
                    writeln!(out, "{}", github_matrix(p, config.shards)).map_err(stdout_error)?;
                }
                ListFormat::Table => {
                    writeln!(
                        out,
                        "{} ({} of {} cells)",
                        p.scenario.name.style(terminal.stdout.bold),
                        p.cells.len(),
                        matrix::full_size(&p.axes)
                    )
                    .map_err(stdout_error)?;
                    for cell in &p.cells {
                        writeln!(out, "  {}", cell.id).map_err(stdout_error)?;
                    }
                }
            }
        }
        Ok(())
    })();
    ignore_broken_pipe(written)?;
    Ok(EXIT_OK)
}

fn cell_json(c: &Cell) -> serde_json::Value {
    // An OCI cell's cgroups are whatever its bundle's mount gives.
    let oci = c.settings.sandbox.uses_oci_bundle();
    serde_json::json!({
        "id": c.id,
        "index": c.index,
        "axes": c.axes,
        "sandbox": c.settings.sandbox.to_string(),
        "runsc": c.settings.runsc,
        "runsc_flags": c.settings.runsc_flags,
        "cgroups": if oci { "sandbox".to_owned() } else { c.settings.cgroups.to_string() },
        "oci": oci.then(|| c.settings.oci.to_string()),
        "setup": c.settings.setup,
        "dockerd": c.settings.dockerd,
        "dockerd_args": c.settings.dockerd_args,
        "containerd": c.settings.containerd,
        "runc": c.settings.runc,
    })
}

/// The JSON a GitHub Actions `strategy.matrix` takes (`fromJSON(…)`): one
/// `include` entry per shard (`--shard` value) or per cell (its `--filter`
/// arguments and id).
fn github_matrix(p: &Prepared, shards: Option<usize>) -> serde_json::Value {
    let include: Vec<serde_json::Value> = match shards {
        Some(n) => (1..=n)
            .map(|k| serde_json::json!({"scenario": p.scenario.path, "shard": format!("{k}/{n}")}))
            .collect(),
        None => p
            .cells
            .iter()
            .map(|c| {
                let filter: Vec<String> = c
                    .axes
                    .iter()
                    .map(|(k, v)| format!("--filter={k}={v}"))
                    .collect();
                serde_json::json!({
                    "scenario": p.scenario.path,
                    "cell": c.id,
                    "filter": filter.join(" "),
                })
            })
            .collect(),
    };
    serde_json::json!({ "include": include })
}
