//! The catalogue of known failures, and naming a log's failure with it.
//!
//! Signatures are data (`src/signatures.yaml`, embedded), compiled once.
//! Order is precedence: the first entry whose pattern matches wins. A log is
//! classified by its fatal line (the line that ended the daemon, not the
//! first warning); when no entry matches that line, the other error lines are
//! tried from the last one back. No match is the explicit `unknown`.
//!
//! The parts, each using only those before it: `logline` (reading one log
//! line), `catalogue` (loading and checking entries), `matching` (the
//! compiled [`SignatureSet`]) and `stream` (the streaming [`Classifier`]).

mod catalogue;
mod family;
pub mod logline;
mod matching;
pub mod phase;
mod prefilter;
mod stream;

pub use catalogue::{CatalogueError, SignatureEntry, UNKNOWN};
pub use family::Family;
pub use matching::{Classification, SignatureSet};
pub use phase::Phase;
pub use stream::{Classifier, EvidenceLine, Finding, LineVerdict};
