//! Scenarios: the YAML model, loading, and validation.

mod error;
mod load;
mod model;
mod oci_template;
mod rewrite;
mod validated;

pub use error::{LoadError, Position};
pub use load::{load_scenario, parse_scenario, parse_yaml};
pub use model::{
    CgroupLayout, Depth, OciBase, OciProfile, OneOrMany, SandboxKind, Selector, SetupCommand,
    ValueSpec,
};
pub use oci_template::read_oci_template;
pub use rewrite::{ExpectationRule, replace_expectations};
pub use validated::{Axis, AxisValue, RUNSC_AXIS, Scenario, check_selector, split_label};

/// Parses a scenario from text, for unit tests of other modules.
#[cfg(test)]
pub(crate) fn load_scenario_text(text: &str) -> Result<Scenario, LoadError> {
    let path = std::path::Path::new("inline.yaml");
    let file: model::ScenarioFile = parse_yaml(path, text)?;
    validated::validate(file, path, &["devices-cgroup-missing"])
}
