//! Sandbox backends: how a cell's sandbox is started (`backend`, and `backends/`, one file
//! per backend), and the per-cell layout and agent spec every backend
//! shares (`layout`). Nothing here spawns a process: the runner does, the
//! same way for every backend.

mod backend;
mod backends;
mod layout;

pub use backend::{PreflightError, PrepareContext};
pub use backends::backend_for;
pub use layout::{CellPaths, agent_spec, package_dirs};
