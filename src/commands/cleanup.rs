//! `dindcheck cleanup`: remove what runs killed with SIGKILL left behind
//! (found by owner file and marker, never by name). `run` does the same
//! before it starts.

use crate::errors::{EXIT_OK, EnvironmentError, HarnessError};
use crate::process::stale;

/// Runs `dindcheck cleanup`.
///
/// # Errors
/// [`EnvironmentError::NotRoot`].
pub fn run() -> Result<u8, HarnessError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(EnvironmentError::NotRoot { command: "cleanup" }.into());
    }
    let cleaned = stale::clean_stale_runs();
    println!("{}", describe_cleaned(&cleaned));
    Ok(EXIT_OK)
}

/// One paragraph about what a cleanup of dead runs removed.
pub fn describe_cleaned(cleaned: &stale::Cleaned) -> String {
    if cleaned.is_empty() {
        return "cleanup: no dead run left anything behind".to_owned();
    }
    let mut lines = vec![format!(
        "cleanup: removed what dead runs left: {} processes, {} mounts, {} directories, \
         {} cgroups",
        cleaned.processes.len(),
        cleaned.mounts.len(),
        cleaned.dirs.len(),
        cleaned.cgroups.len()
    )];
    lines.extend(cleaned.processes.iter().map(|p| format!("  killed {p}")));
    lines.extend(
        cleaned
            .mounts
            .iter()
            .map(|m| format!("  unmounted {}", m.display())),
    );
    lines.extend(
        cleaned
            .dirs
            .iter()
            .chain(&cleaned.cgroups)
            .map(|d| format!("  removed {}", d.display())),
    );
    lines.join("\n")
}
