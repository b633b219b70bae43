//! dindcheck runs Docker's daemon inside gVisor (`runsc`) across a matrix of
//! configurations described in YAML, and reports which cells reach
//! readiness (and can run a container), names each failure by a known
//! signature, and keeps the logs as evidence.
//!
//! The crate is a house of layers; each imports only from the layers below
//! it (ARCHITECTURE.md draws them):
//! 1. plain data: `report_format`, `scenario`, `matrix`, `error_text`;
//! 2. OS and daemon clients: `process`, `engine`, `binaries`;
//! 3. knowledge: `classify` (catalogue, matching, streaming classifier),
//!    `evidence`, `triage`, `doctor`;
//! 4. execution: `agent`, `sandbox` (one file per backend), `runner`,
//!    `schedule`;
//! 5. analysis and output: `analysis` (explain, diff, merge) and `report`
//!    (reporters behind one interface);
//! 6. commands: `errors`, `commands` (one file per subcommand), `cli`.
#![warn(missing_docs)]

pub mod error_text;
#[cfg(test)]
mod fixture_reports;
pub(crate) mod matrix;
pub(crate) mod report_format;
pub(crate) mod scenario;

pub mod binaries;
pub(crate) mod engine;
pub(crate) mod process;

pub mod classify;
pub(crate) mod doctor;
pub(crate) mod evidence;
pub mod triage;

pub(crate) mod agent;
pub(crate) mod runner;
pub(crate) mod sandbox;
pub(crate) mod schedule;

pub(crate) mod analysis;
pub(crate) mod report;

pub mod cli;
pub mod commands;
pub mod errors;
