//! The interface every sandbox backend implements.
//!
//! A backend owns how a cell's sandbox is started and what is left to
//! remove once its process is gone; the runner drives every backend the
//! same way (spawn through `Supervised`, follow the agent, tear down,
//! sweep). `backends.rs` maps a scenario's `sandbox:` value to its backend.

use std::ffi::OsString;
use std::path::Path;

use crate::matrix::Cell;

use super::layout::CellPaths;

/// What the machine lacks for a backend, found before any cell starts.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// A program the backend runs is not on `PATH`.
    #[error("`{program}` not found ({backend} cells need it)")]
    MissingProgram {
        /// The program.
        program: &'static str,
        /// The backend that needs it.
        backend: &'static str,
    },
}

/// One way of starting a cell's sandbox.
pub trait Backend: Sync {
    /// The scenario's `sandbox:` value.
    fn name(&self) -> &'static str;

    /// Checks the machine before any cell of this backend starts.
    ///
    /// # Errors
    /// [`PreflightError`] naming what is missing.
    fn preflight(&self) -> Result<(), PreflightError> {
        Ok(())
    }

    /// Writes what the backend needs in the cell's scratch directory before
    /// the sandbox starts (the agent spec is already there).
    ///
    /// # Errors
    /// A sentence for the cell's `detail`; the cell becomes `error`.
    fn prepare(&self, _cell: &Cell, _paths: &CellPaths) -> Result<(), String> {
        Ok(())
    }

    /// The host command line that starts the sandbox running the agent.
    fn host_argv(&self, cell: &Cell, paths: &CellPaths, agent_exe: &Path) -> Vec<OsString>;
}
