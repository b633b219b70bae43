//! `dindcheck doctor`: read the environment a dockerd is about to start in
//! and predict what will fail before it fails.
//!
//! The stages: `procread` (the /proc files, through procfs, live or from a
//! captured snapshot) and `gather` (binaries, iptables alternatives, systemd,
//! and the `probe` child, which tests iptables, bridges, overlay and cgroup
//! mounts in namespaces of its own) produce an `Environment` of findings;
//! `findings` and `assess` are pure functions from those findings and a
//! dockerd configuration (`config`) to checks, recommended flags and a
//! prediction in dockerd's start-up order; `render` prints it; `command`
//! wires it to the command line and to the agent, which runs the doctor in
//! every cell's sandbox before dockerd starts, in a forked copy of itself
//! (no exec: inside gVisor each one costs tens of milliseconds). The doctor
//! never changes the environment it examines.

mod assess;
mod cell;
mod config;
mod engine;
mod findings;
mod gather;

mod probe;
mod procread;
mod recommend;

pub use cell::{CellRequest, examine_cell};
#[cfg(test)]
pub(crate) use config::from_args as config_from_args;
pub use config::split_binary;
pub use gather::{DoctorOptions, examine};
pub use probe::{ProbePlan, run_child as run_probe_plan};
