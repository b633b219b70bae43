//! The in-sandbox side of a cell, `dindcheck __agent SPEC.json` (`cell`, and
//! `depths` for the pull, network and build probes),
//! and its protocol with the host (`protocol`).
//!
//! The runner imports only the protocol; the agent's own code runs inside
//! the sandbox and speaks to the host only through protocol lines.

mod cell;
mod depths;
mod output;
pub mod protocol;
mod readiness;
mod watch;

pub use cell::{AgentError, run_agent, userns_exec};
pub use protocol::{AgentEvent, AgentResult, AgentSpec, parse_event};
