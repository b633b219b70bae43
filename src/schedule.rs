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

/// Cells per core when `--jobs` is not given. A cell spends about half its
/// time waiting (a failed dockerd sleeps a second for containerd's exit
/// before its last words; runsc's start waits on I/O): on 2 cores the
/// design matrix took 8.52 s with 3 cells per core and with 4, 9.85 s with
/// 2 (README, Speed).
pub const CELLS_PER_CORE: usize = 3;

/// The memory one cell is allowed by the default `--jobs`: a runsc sandbox
/// with a ready dockerd held about 130 MiB here; twice that leaves room for
/// a container probe and a larger dockerd.
pub const MEMORY_PER_CELL: u64 = 256 << 20;

/// The default `--jobs`: [`CELLS_PER_CORE`] per core, but no more cells
/// than `mem_available` bytes hold at [`MEMORY_PER_CELL`] each (when it is
/// known), and at least one.
pub fn default_jobs(cores: usize, mem_available: Option<u64>) -> usize {
    let by_cores = CELLS_PER_CORE * cores.max(1);
    let by_memory = mem_available.map_or(usize::MAX, |bytes| {
        usize::try_from(bytes / MEMORY_PER_CELL).unwrap_or(usize::MAX)
    });
    by_cores.min(by_memory).max(1)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_jobs_are_three_per_core_within_the_memory() {
        let gib = 1u64 << 30;
        assert_eq!(default_jobs(2, Some(24 * gib)), 6);
        assert_eq!(default_jobs(2, None), 6);
        // 1 GiB holds 4 cells of 256 MiB.
        assert_eq!(default_jobs(8, Some(gib)), 4);
        assert_eq!(default_jobs(4, Some(100 << 20)), 1);
        assert_eq!(default_jobs(0, None), 3);
    }
}
