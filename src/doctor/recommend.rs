//! Whether each thing the doctor recommends is proven: a shipped scenario's
//! real run applied exactly it (the flag as one dockerd argument, the
//! command as a `setup:` command) and got past the failure the check
//! predicts, where the same configuration without it failed with that
//! failure (`evidence::prove_change`). Everything else is printed as
//! unproven, with where the advice comes from.
//!
//! Reads nothing at run time (the evidence is embedded) and renders nothing.

use crate::evidence::{self, Change};
use crate::report_format::doctor::{Recommendation, RecommendationKind, RecommendationProof};

/// The shell commands in an action's text: the backquoted parts
/// [`Change::quoted_in`] takes for commands, not dockerd flags (`mount it
/// before dockerd starts: `mount …``).
pub(super) fn commands_in(action: &str) -> Vec<&str> {
    Change::quoted_in(action)
        .into_iter()
        .filter_map(|change| match change {
            Change::Setup(command) => Some(command),
            Change::DockerdArg(_) => None,
        })
        .collect()
}

/// A recommendation from the check `check` (which predicts `signature`),
/// not yet looked up: unproven until [`prove`] finds a run.
pub(super) fn unproven(
    kind: RecommendationKind,
    text: &str,
    check: &str,
    signature: Option<&str>,
) -> Recommendation {
    Recommendation {
        kind,
        text: text.to_owned(),
        checks: vec![check.to_owned()],
        signature: signature.map(str::to_owned),
        proven: false,
        proof: None,
        source: String::new(),
    }
}

/// Looks every recommendation up in the embedded runs and says where each
/// comes from.
pub(super) fn prove(recommendations: &mut [Recommendation]) {
    for rec in recommendations {
        let checks: Vec<String> = rec.checks.iter().map(|c| format!("`{c}`")).collect();
        let reasoning = format!(
            "the doctor's {} check (src/doctor/assess.rs), reasoning from what it found",
            checks.join(" and ")
        );
        let change = match rec.kind {
            RecommendationKind::Flag => Some(Change::DockerdArg(&rec.text)),
            RecommendationKind::Command => Some(Change::Setup(&rec.text)),
            RecommendationKind::Advice => None,
        };
        let proof = match (change, rec.signature.as_deref()) {
            (Some(change), Some(signature)) => evidence::prove_change(change, signature),
            _ => None,
        };
        rec.proven = proof.is_some();
        rec.proof = proof.map(|p| RecommendationProof {
            scenario: p.fixed.scenario.clone(),
            report: format!("fixtures/evidence/{}.json", p.fixed.scenario),
            change: format!("{}={}", p.axis, p.value),
            fixed_cell: p.fixed.id.clone(),
            fixed_outcome: p.fixed.outcome,
            fixed_signature: p.fixed.signature.clone(),
            failed_cell: p.failed.id.clone(),
            failed_signature: p.failed.signature.clone().unwrap_or_default(),
        });
        rec.source = match (&rec.proof, rec.kind, rec.signature.as_deref()) {
            (Some(proof), _, _) => format!(
                "{reasoning}; proven by scenarios/{}.yaml ({})",
                proof.scenario, proof.report
            ),
            (None, RecommendationKind::Advice, _) => {
                format!("{reasoning}; advice in words, which no scenario cell can apply verbatim")
            }
            (None, _, Some(signature)) => format!(
                "{reasoning}; no shipped scenario's cell applied exactly this and got past \
                 {signature} where the same configuration without it failed with it"
            ),
            (None, _, None) => {
                format!("{reasoning}; the check names no failure a run could get past")
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::command(
        "mount it before dockerd starts: `mount -t tmpfs cgroup /sys/fs/cgroup && mkdir -p x`",
        &["mount -t tmpfs cgroup /sys/fs/cgroup && mkdir -p x"]
    )]
    #[case::flags_are_not_commands("use `--exec-opt native.cgroupdriver=cgroupfs`", &[])]
    #[case::prose("use a runsc released in 2023 or later", &[])]
    fn commands_are_the_backquoted_parts_that_are_not_flags(
        #[case] action: &str,
        #[case] expected: &[&str],
    ) {
        assert_eq!(commands_in(action), expected);
    }

    fn proven(kind: RecommendationKind, text: &str, signature: &str) -> Recommendation {
        let mut recs = vec![unproven(kind, text, "some-check", Some(signature))];
        prove(&mut recs);
        recs.remove(0)
    }

    /// Advice in words and changes no run applied are unproven, and say
    /// where they come from.
    #[test]
    fn what_no_cell_applied_verbatim_is_unproven_with_its_source() {
        let advice = proven(
            RecommendationKind::Advice,
            "use a runsc released in 2023 or later",
            "devices-cgroup-missing",
        );
        assert!(!advice.proven);
        assert!(
            advice.source.contains("`some-check` check"),
            "{}",
            advice.source
        );
        assert!(
            advice.source.contains("advice in words"),
            "{}",
            advice.source
        );
        // A flag the shipped runs only ever applied split in two words
        // (`--exec-opt native.cgroupdriver=cgroupfs`) is not this one word.
        let flag = proven(
            RecommendationKind::Flag,
            "--exec-opt=native.cgroupdriver=cgroupfs",
            "systemd-cgroup-parent-not-slice",
        );
        assert!(!flag.proven);
        assert!(flag.proof.is_none());
        assert!(
            flag.source.contains("no shipped scenario"),
            "{}",
            flag.source
        );
        // The right text for the wrong failure proves nothing.
        let elsewhere = proven(
            RecommendationKind::Flag,
            "--iptables=false",
            "devices-cgroup-missing",
        );
        assert!(!elsewhere.proven, "{elsewhere:?}");
    }
}
