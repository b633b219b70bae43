//! `dindcheck validate SCENARIO…`: check scenario files and say how many
//! cells each expands to. Every invalid file is reported; the exit code is
//! 2 when any is invalid.

use std::path::PathBuf;

use crate::classify::SignatureSet;
use crate::error_text::print_error_chain;
use crate::errors::{EXIT_OK, HarnessError, UsageError};
use crate::matrix;
use crate::scenario::load_scenario;

/// What `dindcheck validate` was asked to check.
#[derive(Debug, Clone)]
pub struct ValidateConfig {
    /// Scenario files.
    pub scenarios: Vec<PathBuf>,
}

/// Runs `dindcheck validate`.
///
/// # Errors
/// [`UsageError::InvalidScenarios`] when any file is invalid.
pub fn run(config: &ValidateConfig) -> Result<u8, HarnessError> {
    let signatures = SignatureSet::shared();
    let mut bad = 0;
    for path in &config.scenarios {
        match load_scenario(path, &signatures.ids()) {
            Ok(scenario)
                if matrix::checked_size(&scenario.axes).is_none_or(|n| n > matrix::HARD_LIMIT) =>
            {
                bad += 1;
                eprintln!(
                    "error: {}: expands to more than {} cells; split it or narrow its axes",
                    path.display(),
                    matrix::HARD_LIMIT
                );
            }
            Ok(scenario) => {
                let cells = matrix::expand(&scenario, &scenario.axes, &[]).len();
                let runtime = if scenario.sandbox.uses_runsc() {
                    format!(" × {} runsc", scenario.runsc_binaries.len())
                } else {
                    String::new()
                };
                println!("ok {} ({cells} cells{runtime})", path.display());
            }
            Err(err) => {
                bad += 1;
                print_error_chain(&err);
            }
        }
    }
    if bad > 0 {
        return Err(UsageError::InvalidScenarios {
            bad,
            total: config.scenarios.len(),
        }
        .into());
    }
    Ok(EXIT_OK)
}
