//! Runs a scenario's cells on `--jobs` worker threads, with `--retries`,
//! and reports progress. Results come back in matrix order.
//!
//! Workers are long-lived scoped threads: `PR_SET_PDEATHSIG` is tied to the
//! thread that spawned a child, so a sandbox must not outlive its worker.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::matrix::Cell;
use crate::process::signals::{Shutdown, shutdown_level};
use crate::report_format::{Attempt, CellResult};
use crate::runner::{self, RunContext};

/// Where the schedule reports cells starting and finishing (the terminal
/// progress bar implements it; the schedule knows no renderer).
pub trait CellEvents: Sync {
    /// A cell started.
    fn started(&self);
    /// A cell (with its retries) finished.
    fn finished(&self, result: &CellResult);
    /// Every cell finished or the run was stopped.
    fn finish(&self);
}

/// How to schedule the cells.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Cells at once.
    pub jobs: usize,
    /// How many times a failed cell is run again to tell flaky from stable.
    pub retries: usize,
}

/// Runs every cell (until a shutdown request) and returns the results in
/// matrix order. Cells not started before a shutdown are left out.
pub fn run_all(
    ctx: &RunContext<'_>,
    cells: &[Cell],
    schedule: Schedule,
    progress: &dyn CellEvents,
) -> Vec<CellResult> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, CellResult)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..schedule.jobs.max(1).min(cells.len()) {
            scope.spawn(|| {
                loop {
                    if shutdown_level() != Shutdown::None {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(cell) = cells.get(i) else { break };
                    progress.started();
                    let result = run_with_retries(ctx, cell, schedule.retries);
                    progress.finished(&result);
                    if let Ok(mut all) = results.lock() {
                        all.push((i, result));
                    }
                }
            });
        }
    });
    progress.finish();
    let mut all = results.into_inner().unwrap_or_default();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// Runs `cell`; while it fails, runs it again up to `retries` times and
/// stops at the first attempt whose verdict differs (the cell is flaky).
/// The first verdict stays the cell's verdict.
fn run_with_retries(ctx: &RunContext<'_>, cell: &Cell, retries: usize) -> CellResult {
    let mut result = runner::run_cell(ctx, cell, 0);
    for attempt in 1..=retries {
        if !result.outcome.is_failure() || shutdown_level() != Shutdown::None {
            break;
        }
        let again = runner::run_cell(ctx, cell, attempt);
        let differs = again.outcome != result.outcome || again.signature != result.signature;
        result.retries.push(Attempt {
            outcome: again.outcome,
            signature: again.signature,
            log: again.log,
        });
        if differs {
            result.flaky = true;
            break;
        }
    }
    result
}
