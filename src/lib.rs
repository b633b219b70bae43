//! dindcheck runs Docker's daemon inside gVisor (`runsc`) across a matrix of
//! configurations described in YAML, and reports which cells reach
//! readiness (and can run a container), names each failure by a known
//! signature, and keeps the logs as evidence.
//!
//! The stages: `scenario` (load and validate) → `matrix` (expand into cells)
//! → `runner` (one cell: sandbox, agent, teardown, sweep) → `classify`
//! (name the failure) → `report` (render). `agent` is the side that runs
//! inside the sandbox. See ARCHITECTURE.md.
#![warn(missing_docs)]

pub mod agent;
pub mod app;
pub mod binaries;
pub mod classify;
pub mod cli;
pub mod diff;
pub mod doctor;
pub mod engine;
pub mod errors;
pub mod evidence;
pub mod explain;
pub mod matrix;
pub mod merge;
pub mod outcome;
pub mod process;
pub mod report;
pub mod report_commands;
pub mod runner;
pub mod sandbox;
pub mod scenario;
pub mod schedule;
pub mod triage;
