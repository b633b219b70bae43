//! The `runsc` backend: `runsc --root=DIR [flags] do -quiet dindcheck
//! __agent SPEC`. runsc's own overlay keeps every write inside the sandbox,
//! and the runner gives runsc a `TMPDIR` in the cell's scratch directory
//! for the bundle `runsc do` writes.

use std::ffi::OsString;
use std::path::Path;

use crate::matrix::Cell;

use crate::sandbox::backend::Backend;
use crate::sandbox::layout::CellPaths;

/// `runsc do`.
#[derive(Debug)]
pub struct RunscDo;

impl Backend for RunscDo {
    fn name(&self) -> &'static str {
        "runsc"
    }

    fn host_argv(&self, cell: &Cell, paths: &CellPaths, agent_exe: &Path) -> Vec<OsString> {
        let s = &cell.settings;
        let mut argv: Vec<OsString> = vec![
            s.runsc.clone().unwrap_or_else(|| "runsc".to_owned()).into(),
            format!("--root={}", paths.runsc_root.display()).into(),
        ];
        argv.extend(s.runsc_flags.iter().map(OsString::from));
        argv.extend(["do", "-quiet"].map(OsString::from));
        argv.extend(paths.agent_command(agent_exe));
        argv
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::first_cell;

    #[test]
    fn runsc_argv_has_its_own_root_and_flags() {
        let mut cell = first_cell("runsc:\n  flags: [--network=none, --debug]\n");
        cell.settings.runsc = Some("/usr/bin/runsc".to_owned());
        let paths = CellPaths::new(Path::new("/tmp/dc-1"), 2).unwrap();
        let argv = RunscDo.host_argv(&cell, &paths, Path::new("/bin/dindcheck"));
        let argv: Vec<String> = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            argv,
            [
                "/usr/bin/runsc",
                "--root=/tmp/dc-1/2/runsc",
                "--network=none",
                "--debug",
                "do",
                "-quiet",
                "/bin/dindcheck",
                "__agent",
                "/tmp/dc-1/2/agent.json"
            ]
        );
    }
}
