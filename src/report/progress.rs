//! Progress while a matrix runs, on stderr: a live bar (cells done, running,
//! left, elapsed, ETA) on a terminal, one line per finished cell otherwise,
//! nothing with `--quiet`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report_format::CellResult;
use crate::schedule::CellEvents;

use super::styles::Styles;
use super::table::progress_line;

/// How progress is shown.
#[derive(Debug, Clone, Copy)]
pub enum ProgressMode {
    /// Nothing.
    Quiet,
    /// One line per finished cell (not a terminal).
    Lines(Styles),
    /// A live bar with the finished cells printed above it (a terminal).
    Bar(Styles),
}

/// Progress of one scenario's cells; shared by the worker threads.
#[derive(Debug)]
pub struct Progress {
    mode: ProgressMode,
    total: usize,
    done: AtomicUsize,
    running: AtomicUsize,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts showing progress for `total` cells.
    pub fn new(mode: ProgressMode, total: usize, scenario: &str) -> Progress {
        let bar = match mode {
            ProgressMode::Bar(_) => {
                let bar =
                    ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
                let style = ProgressStyle::with_template(
                    "{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} done, {msg}, ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar());
                bar.set_style(style);
                bar.set_prefix(scenario.to_owned());
                bar.enable_steady_tick(Duration::from_millis(200));
                Some(bar)
            }
            _ => None,
        };
        let progress = Progress {
            mode,
            total,
            done: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            bar,
        };
        progress.update_message();
        progress
    }

    fn update_message(&self) {
        if let Some(bar) = &self.bar {
            let running = self.running.load(Ordering::SeqCst);
            let done = self.done.load(Ordering::SeqCst);
            let left = self.total.saturating_sub(done + running);
            bar.set_message(format!("{running} running, {left} left"));
        }
    }
}

impl CellEvents for Progress {
    /// A cell started.
    fn started(&self) {
        self.running.fetch_add(1, Ordering::SeqCst);
        self.update_message();
    }

    /// A cell finished with `result`.
    fn finished(&self, result: &CellResult) {
        self.running.fetch_sub(1, Ordering::SeqCst);
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        match (&self.mode, &self.bar) {
            (ProgressMode::Bar(styles), Some(bar)) => {
                bar.println(progress_line(done, self.total, result, styles));
                bar.set_position(done as u64);
            }
            (ProgressMode::Lines(styles), _) => {
                eprintln!("{}", progress_line(done, self.total, result, styles));
            }
            _ => {}
        }
        self.update_message();
    }

    /// Removes the bar.
    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
