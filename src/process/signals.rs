//! The harness's own SIGINT/SIGTERM handling, as a shutdown level.
//!
//! The handler only bumps an atomic counter (async-signal-safe); the runner
//! polls [`shutdown_level`]. The first signal asks for a graceful stop
//! (running cells get their grace period), the second skips grace periods,
//! the third exits at once, as nextest escalates. Children live in their own
//! process groups, so a terminal's Ctrl-C reaches only the harness, which
//! then tears every cell down itself.

use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

static SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// How urgently the harness has been asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shutdown {
    /// Keep going.
    None,
    /// Stop starting cells; tear running ones down with their grace period.
    Graceful,
    /// Tear running cells down without a grace period.
    Immediate,
}

/// The current shutdown level.
pub fn shutdown_level() -> Shutdown {
    match SIGNALS.load(Ordering::SeqCst) {
        0 => Shutdown::None,
        1 => Shutdown::Graceful,
        _ => Shutdown::Immediate,
    }
}

extern "C" fn on_signal(_: nix::libc::c_int) {
    let before = SIGNALS.fetch_add(1, Ordering::SeqCst);
    if before >= 2 {
        // Third signal: leave now. Children die by PR_SET_PDEATHSIG and the
        // next run (or `dindcheck cleanup`) sweeps what is left by marker.
        // SAFETY: _exit is async-signal-safe (signal-safety(7)).
        unsafe { nix::libc::_exit(130) };
    }
}

/// Installs the SIGINT and SIGTERM handlers.
///
/// # Errors
/// The sigaction error.
pub fn install() -> Result<(), nix::Error> {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only touches an atomic and calls _exit, both
        // async-signal-safe.
        unsafe { sigaction(signal, &action) }?;
    }
    Ok(())
}
