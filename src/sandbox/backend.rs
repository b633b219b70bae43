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

/// What a backend's [`Backend::prepare`] may need besides the cell and its
/// paths.
#[derive(Debug, Clone, Copy)]
pub struct PrepareContext<'a> {
    /// This binary, which runs inside the sandbox as the agent.
    pub agent_exe: &'a Path,
    /// `runsc --version` of the cell's runsc, when known.
    pub runsc_version: Option<&'a str>,
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
    fn prepare(
        &self,
        _cell: &Cell,
        _paths: &CellPaths,
        _ctx: PrepareContext<'_>,
    ) -> Result<(), String> {
        Ok(())
    }

    /// The host command line that starts the sandbox running the agent.
    fn host_argv(&self, cell: &Cell, paths: &CellPaths, agent_exe: &Path) -> Vec<OsString>;

    /// Whether the sandbox makes every mount the agent would (the cgroups,
    /// the work directory's tmpfs, the tmpfs over the host's Docker state);
    /// the agent then mounts nothing and records what is at /sys/fs/cgroup.
    fn provides_mounts(&self) -> bool {
        false
    }

    /// A command that removes the runtime's own state once the sandbox's
    /// process is gone or killed (`runsc delete --force`); the runner runs
    /// it with a deadline before its sweep.
    fn teardown_argv(&self, _cell: &Cell, _paths: &CellPaths) -> Option<Vec<OsString>> {
        None
    }

    /// The name of the host cgroups the runtime creates for the cell
    /// (`/sys/fs/cgroup/<controller>/<name>`), which the runner's sweep
    /// removes when the runtime left them behind.
    fn host_cgroup_name(&self, _cell: &Cell, _paths: &CellPaths) -> Option<String> {
        None
    }
}
