//! The report format: what a run, a cell and the doctor produce, as plain
//! data (`dindcheck/report/v2`, `dindcheck/doctor/v1`).
//!
//! This is the ground floor. Every reporter, `diff`, `explain` and `merge`
//! reads these types as they are; the runner, the doctor and the Engine API
//! client fill them in. Nothing here imports the runner, the doctor's
//! machinery or the Engine client, and nothing here runs or renders anything.

pub mod daemon;
pub mod doctor;
pub mod run;

pub use daemon::DaemonInfo;
pub use run::{
    Attempt, CellResult, CgroupReport, DecidedBy, Expectation, HostInfo, Outcome, READABLE_SCHEMAS,
    RunReport, SCHEMA, ScenarioInfo, Timings, millis,
};
