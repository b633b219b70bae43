//! Runs a scenario's cells, `--jobs` at once (more while the CPUs idle,
//! when `--jobs` is not given), with `--retries`, and reports progress.
//! Results come back in matrix order.
//!
//! Every cell has its own scoped thread, which lives as long as the cell:
//! `PR_SET_PDEATHSIG` is tied to the thread that spawned a child, so a
//! sandbox must not outlive its thread.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::matrix::Cell;
use crate::process::cpu::CpuTimes;
use crate::process::signals::{Shutdown, shutdown_level};
use crate::report_format::{Attempt, CellResult, Outcome};
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
    /// Up to how many cells may run at once while the CPUs idle: when
    /// `jobs` cells run and a whole [`ADMISSION_INTERVAL`] left at least
    /// half a core idle (every cell waiting: dockerd's shutdown wait, a
    /// sandbox's I/O), one more cell starts. `None` (an explicit `--jobs`)
    /// keeps exactly `jobs`.
    pub more_while_idle: Option<usize>,
    /// How many times a failed cell is run again to tell flaky from stable.
    pub retries: usize,
}

/// Cells per core when `--jobs` is not given. A cell spends about half its
/// time waiting (a failed dockerd sleeps a second for containerd's exit
/// before its last words; runsc's start waits on I/O): on 2 cores the
/// design matrix took 8.52 s with 3 cells per core and with 4, 9.85 s with
/// 2 (README, Speed).
pub const CELLS_PER_CORE: usize = 3;

/// The most cells per core the default schedule lets run while the CPUs
/// idle (see [`Schedule::more_while_idle`]).
pub const IDLE_CELLS_PER_CORE: usize = 6;

/// The memory one cell is allowed by the default `--jobs`: a runsc sandbox
/// with a ready dockerd held about 130 MiB here; twice that leaves room for
/// a container probe and a larger dockerd.
pub const MEMORY_PER_CELL: u64 = 256 << 20;

/// How often the schedule looks at the CPUs' idle share, and the most
/// often it starts a cell beyond `jobs`.
pub const ADMISSION_INTERVAL: Duration = Duration::from_millis(100);

/// The idle CPU, in cores, over one [`ADMISSION_INTERVAL`] that lets one
/// more cell start.
const IDLE_CORES_FOR_ONE_MORE: f64 = 0.5;

/// The default `--jobs`: [`CELLS_PER_CORE`] per core, but no more cells
/// than `mem_available` bytes hold at [`MEMORY_PER_CELL`] each (when it is
/// known), and at least one.
pub fn default_jobs(cores: usize, mem_available: Option<u64>) -> usize {
    cells_within(CELLS_PER_CORE, cores, mem_available)
}

/// The default schedule: [`default_jobs`] cells, and up to
/// [`IDLE_CELLS_PER_CORE`] per core (within the same memory) while the
/// CPUs idle.
pub fn default_schedule(cores: usize, mem_available: Option<u64>, retries: usize) -> Schedule {
    Schedule {
        jobs: default_jobs(cores, mem_available),
        more_while_idle: Some(cells_within(IDLE_CELLS_PER_CORE, cores, mem_available)),
        retries,
    }
}

fn cells_within(per_core: usize, cores: usize, mem_available: Option<u64>) -> usize {
    let by_cores = per_core * cores.max(1);
    let by_memory = mem_available.map_or(usize::MAX, |bytes| {
        usize::try_from(bytes / MEMORY_PER_CELL).unwrap_or(usize::MAX)
    });
    by_cores.min(by_memory).max(1)
}

/// The order cells start in: those expected to end with dockerd's own
/// failure first (a failing dockerd waits a second for containerd before
/// its last words, and other cells' work fills that second), cells with no
/// expectation next, and cells expected to get further last, so the run
/// does not end on a second in which every core waits. Within each group,
/// matrix order.
pub fn start_order(cells: &[Cell]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..cells.len()).collect();
    order.sort_by_key(|&i| {
        match cells[i]
            .expectation
            .as_ref()
            .and_then(|e| e.outcome.as_deref())
            .and_then(Outcome::from_name)
        {
            Some(Outcome::DaemonFailed) => 0,
            None => 1,
            Some(_) => 2,
        }
    });
    order
}

/// The results of [`run_all`].
#[derive(Debug)]
pub struct Ran {
    /// One per cell started, in matrix order.
    pub results: Vec<CellResult>,
    /// The most cells that ran at once.
    pub most_at_once: usize,
}

/// Runs every cell (until a shutdown request) and returns the results in
/// matrix order. Cells not started before a shutdown are left out.
///
/// Each cell runs on its own scoped thread, started in [`start_order`] as
/// the schedule allows.
pub fn run_all(
    ctx: &RunContext<'_>,
    cells: &[Cell],
    schedule: Schedule,
    progress: &dyn CellEvents,
) -> Ran {
    let jobs = schedule.jobs.max(1);
    let (done, finished) = mpsc::channel::<(usize, CellResult)>();
    let mut results: Vec<(usize, CellResult)> = Vec::with_capacity(cells.len());
    let most_at_once = std::thread::scope(|scope| {
        let mut pending = start_order(cells).into_iter().peekable();
        let mut running = 0;
        // Only the default schedule looks at the CPUs.
        let mut idle = schedule.more_while_idle.map(IdleWatch::new);
        let mut most_at_once = 0;
        loop {
            if let Some(idle) = idle.as_mut() {
                idle.tick();
            }
            while shutdown_level() == Shutdown::None && pending.peek().is_some() {
                if running >= jobs && !idle.as_mut().is_some_and(|idle| idle.one_more(running)) {
                    break;
                }
                let Some(i) = pending.next() else { break };
                progress.started();
                let done = done.clone();
                let cell = &cells[i];
                scope.spawn(move || {
                    let _ = done.send((i, run_with_retries(ctx, cell, schedule.retries)));
                });
                running += 1;
                most_at_once = most_at_once.max(running);
            }
            if running == 0 {
                break;
            }
            if let Ok((i, result)) = finished.recv_timeout(ADMISSION_INTERVAL) {
                running -= 1;
                progress.finished(&result);
                results.push((i, result));
            }
        }
        most_at_once
    });
    progress.finish();
    results.sort_by_key(|(i, _)| *i);
    Ran {
        results: results.into_iter().map(|(_, r)| r).collect(),
        most_at_once,
    }
}

/// The CPUs' idle share over the latest whole [`ADMISSION_INTERVAL`], and
/// whether it has already let a cell start.
struct IdleWatch {
    /// The most cells it lets run.
    most: usize,
    cores: f64,
    since: Instant,
    times: Option<CpuTimes>,
    /// The latest interval left enough idle for one more cell, which has
    /// not started yet.
    room: bool,
}

impl IdleWatch {
    fn new(most: usize) -> IdleWatch {
        IdleWatch {
            most,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()) as f64,
            since: Instant::now(),
            times: CpuTimes::now(),
            room: false,
        }
    }

    /// Closes the current interval once it is whole: its idle share
    /// decides whether one more cell fits until the next one closes.
    fn tick(&mut self) {
        if self.since.elapsed() < ADMISSION_INTERVAL {
            return;
        }
        let now = CpuTimes::now();
        let share = match (&now, &self.times) {
            (Some(now), Some(then)) => now.idle_share_since(then),
            _ => None,
        };
        self.since = Instant::now();
        self.times = now;
        self.room = share.is_some_and(|share| share * self.cores >= IDLE_CORES_FOR_ONE_MORE);
    }

    /// Whether one more cell may join `running` ones: fewer than the most,
    /// and the latest whole interval left at least
    /// [`IDLE_CORES_FOR_ONE_MORE`] cores idle (once per interval).
    fn one_more(&mut self, running: usize) -> bool {
        running < self.most && std::mem::take(&mut self.room)
    }
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

    #[test]
    fn the_default_schedule_lets_six_per_core_run_while_idle_within_the_memory() {
        let gib = 1u64 << 30;
        let schedule = default_schedule(2, Some(24 * gib), 1);
        assert_eq!((schedule.jobs, schedule.more_while_idle), (6, Some(12)));
        assert_eq!(schedule.retries, 1);
        // 2 GiB holds 8 cells of 256 MiB: the idle cap stops there too.
        let schedule = default_schedule(2, Some(2 * gib), 0);
        assert_eq!((schedule.jobs, schedule.more_while_idle), (6, Some(8)));
    }

    #[test]
    fn expected_failures_start_first_and_expected_readiness_last() {
        let s = crate::scenario::load_scenario_text(
            r#"
name: m
sandbox: native
axes:
  cgroup_driver: [systemd, cgroupfs]
  iptables: [true, false]
expect:
  - when: {cgroup_driver: "systemd", iptables: "true"}
    outcome: ready
  - when: {cgroup_driver: "systemd", iptables: "false"}
    signature: none
  - when: {cgroup_driver: "cgroupfs", iptables: "true"}
    outcome: daemon-failed
"#,
        )
        .unwrap();
        let cells = crate::matrix::expand(&s, &s.axes, &[]);
        // cgroupfs/true is expected to fail; systemd/false (a signature
        // only) and cgroupfs/false (no rule) are unknown, in matrix order;
        // systemd/true is expected to be ready.
        assert_eq!(start_order(&cells), [2, 1, 3, 0]);
    }

    #[test]
    fn without_expectations_cells_start_in_matrix_order() {
        let s = crate::scenario::load_scenario_text(
            "name: m\nsandbox: native\naxes:\n  iptables: [true, false]\n  bridge: [none, default]\n",
        )
        .unwrap();
        let cells = crate::matrix::expand(&s, &s.axes, &[]);
        assert_eq!(start_order(&cells), [0, 1, 2, 3]);
    }
}
