//! The backends, one file each, and which one runs a scenario's `sandbox:`
//! value: the only place that matches on backend kinds. A new backend is
//! one new file here, its `mod` line and arm below, and its variant in the
//! scenario model.

mod native;
mod runsc_do;
mod runsc_oci;

use crate::scenario::SandboxKind;

use super::backend::Backend;

/// The backend for a scenario's `sandbox:` value.
pub fn backend_for(kind: SandboxKind) -> &'static dyn Backend {
    match kind {
        SandboxKind::Runsc => &runsc_do::RunscDo,
        SandboxKind::RunscOci => &runsc_oci::RunscOci,
        SandboxKind::Native => &native::Native,
    }
}
