//! Which backend runs a scenario's `sandbox:` value: the only place that
//! matches on backend kinds. A new backend is one new file plus its line
//! here (and its variant in the scenario model).

use crate::scenario::SandboxKind;

use super::backend::Backend;
use super::native::Native;
use super::runsc_do::RunscDo;

/// The backend for a scenario's `sandbox:` value.
pub fn backend_for(kind: SandboxKind) -> &'static dyn Backend {
    match kind {
        SandboxKind::Runsc => &RunscDo,
        SandboxKind::Native => &Native,
    }
}
