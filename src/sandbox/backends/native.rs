//! The `native` backend: the host kernel, with the agent as PID 1 of its
//! own pid namespace (`unshare --pid --fork --kill-child --mount-proc
//! --cgroup`), started by the runner in fresh mount and network namespaces,
//! so everything it starts dies with it.

use std::ffi::OsString;
use std::path::Path;

use crate::binaries;
use crate::matrix::Cell;

use crate::sandbox::backend::{Backend, PreflightError};
use crate::sandbox::layout::CellPaths;

/// Fresh namespaces on the host kernel.
#[derive(Debug)]
pub struct Native;

impl Backend for Native {
    fn name(&self) -> &'static str {
        "native"
    }

    fn preflight(&self) -> Result<(), PreflightError> {
        match binaries::which("unshare") {
            Some(_) => Ok(()),
            None => Err(PreflightError::MissingProgram {
                program: "unshare",
                backend: self.name(),
            }),
        }
    }

    fn host_argv(&self, _cell: &Cell, paths: &CellPaths, agent_exe: &Path) -> Vec<OsString> {
        let mut argv: Vec<OsString> = [
            "unshare",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--cgroup",
            "--",
        ]
        .map(OsString::from)
        .into();
        argv.extend(paths.agent_command(agent_exe));
        argv
    }
}
