//! `dindcheck triage`: name the root cause of a dockerd failure from a log.
//!
//! A log of any size is read as a stream of lines (`read`), judged by the
//! same streaming classifier `dindcheck run` uses (`classify::Classifier`)
//! plus readiness and warnings (`analyse`), and rendered for people or tools
//! (`report::triage`); `commands::triage` wires them to the command line.
//! Nothing here runs daemons.

mod analyse;
mod read;

pub use analyse::{
    CommandProof, FixCommand, FixText, ReadyInstead, Reproduction, Role, SCHEMA, Triage,
    TriageLine, Triager, Verdict, Warning, triage_reader, triage_str,
};
pub use read::{LineReader, read_lossy};
