//! Sandbox backends: how a cell's sandbox is started (`backend`, one file
//! per backend), and the per-cell layout and agent spec every backend
//! shares (`layout`). Nothing here spawns a process: the runner does, the
//! same way for every backend.

mod backend;
mod layout;
mod native;
mod registry;
mod runsc_do;

pub use backend::{Backend, PreflightError};
pub use registry::backend_for;
pub use layout::{CellPaths, SUN_PATH_MAX, SandboxError, agent_spec};
