//! Renders a [`DoctorReport`]: a table for people, JSON for tools.
//!
//! Pure functions of the report and a writer; only the text form uses
//! `Styles` (plain unless colour is on), and JSON never contains ANSI codes.

use std::io::{self, Write};

use owo_colors::OwoColorize;

use crate::report::styles::Styles;
use crate::report_format::doctor::{DoctorReport, Prediction, Recommendation, Verdict};

/// Writes the report as one pretty-printed JSON document.
///
/// # Errors
/// The writer's error.
pub fn write_json(report: &DoctorReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
    writeln!(out)
}

/// Writes the report as a table with a fix under every row that needs one,
/// then the recommended flags and the prediction.
///
/// # Errors
/// The writer's error.
pub fn write_text(report: &DoctorReport, styles: &Styles, out: &mut dyn Write) -> io::Result<()> {
    let command = if report.dockerd_args.is_empty() {
        "dockerd (default flags)".to_owned()
    } else {
        let (binary, args) = crate::doctor::split_binary(&report.dockerd_args);
        let mut words = vec![binary.unwrap_or_else(|| "dockerd".to_owned())];
        words.extend(args);
        words.join(" ")
    };
    writeln!(out, "{} {command}", "dindcheck doctor:".style(styles.bold))?;
    let width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    let indent = " ".repeat(2 + 9 + 2 + width + 2);
    for check in &report.checks {
        let (word, style) = match check.verdict {
            Verdict::Ok => ("ok", styles.ok),
            Verdict::Warning => ("warning", styles.warn),
            Verdict::WillFail => ("WILL FAIL", styles.fail),
        };
        let signature = check
            .signature
            .as_deref()
            .map_or_else(String::new, |s| format!("  [{s}]"));
        writeln!(
            out,
            "  {:<9}  {:<width$}  {}{}",
            word.style(style),
            check.name,
            check.found,
            signature.style(styles.dim),
        )?;
        if let Some(fix) = &check.fix {
            let from_check: Vec<&Recommendation> = report
                .recommendations
                .iter()
                .filter(|r| r.checks.contains(&check.name))
                .collect();
            let label = if !from_check.is_empty() && from_check.iter().all(|r| r.proven) {
                "fix (proven):"
            } else {
                "fix (unproven):"
            };
            writeln!(out, "{indent}{} {fix}", label.style(styles.dim))?;
        }
    }
    writeln!(out)?;
    let flags = if report.recommended_flags.is_empty() {
        "none needed".to_owned()
    } else {
        report.recommended_flags.join(" ")
    };
    writeln!(
        out,
        "{} {flags}",
        "recommended dockerd flags:".style(styles.bold)
    )?;
    if !report.recommended_actions.is_empty() {
        writeln!(
            out,
            "{}",
            "recommended changes to the sandbox:".style(styles.bold)
        )?;
        for action in &report.recommended_actions {
            writeln!(out, "  - {action}")?;
        }
    }
    write_recommendations(out, styles, &report.recommendations)?;
    write_prediction(out, styles, "prediction:", &report.prediction)?;
    if !report.recommended_flags.is_empty() {
        write_prediction(
            out,
            styles,
            "with the recommended flags:",
            &report.prediction_with_recommended_flags,
        )?;
    }
    Ok(())
}

/// Each recommendation with whether a real run proved it: the cell that
/// applied it and the cell that failed without it, or where the advice
/// comes from.
fn write_recommendations(
    out: &mut dyn Write,
    styles: &Styles,
    recommendations: &[Recommendation],
) -> io::Result<()> {
    if recommendations.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{}",
        "is each recommendation proven by a real run?".style(styles.bold)
    )?;
    let indent = " ".repeat(2 + 8 + 2);
    for rec in recommendations {
        let (word, style) = if rec.proven {
            ("proven", styles.ok)
        } else {
            ("UNPROVEN", styles.warn)
        };
        writeln!(
            out,
            "  {:<8}  {} {}",
            word.style(style),
            format!("{}:", rec.kind.name()).style(styles.dim),
            rec.text
        )?;
        match &rec.proof {
            Some(proof) => {
                let reached = match &proof.fixed_signature {
                    Some(next) => format!("{}, past it to {next}", proof.fixed_outcome.name()),
                    None => proof.fixed_outcome.name().to_owned(),
                };
                writeln!(
                    out,
                    "{indent}applied verbatim ({}) by {}: {reached}",
                    proof.change, proof.fixed_cell
                )?;
                writeln!(
                    out,
                    "{indent}without it {}: {}",
                    proof.failed_cell, proof.failed_signature
                )?;
                writeln!(
                    out,
                    "{indent}{} {}",
                    "report:".style(styles.dim),
                    proof.report
                )?;
            }
            None => writeln!(
                out,
                "{indent}{} {}",
                "source:".style(styles.dim),
                rec.source
            )?,
        }
    }
    Ok(())
}

fn write_prediction(
    out: &mut dyn Write,
    styles: &Styles,
    label: &str,
    prediction: &Prediction,
) -> io::Result<()> {
    let style = if !prediction.daemon_starts() {
        styles.fail
    } else if prediction.container.is_some() {
        styles.warn
    } else {
        styles.ok
    };
    writeln!(
        out,
        "{} {}",
        label.style(styles.bold),
        prediction.summary.style(style)
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::report_format::Outcome;
    use crate::report_format::doctor::*;

    fn report() -> DoctorReport {
        let skipped = || ProbeResult::Skipped {
            reason: "test".to_owned(),
        };
        let prediction = Prediction {
            outcome: Outcome::DaemonFailed,
            signature: Some("devices-cgroup-missing".to_owned()),
            then: Vec::new(),
            container: None,
            summary: "dockerd will fail to start: devices-cgroup-missing".to_owned(),
        };
        DoctorReport {
            schema: SCHEMA.to_owned(),
            dockerd_args: vec!["--iptables=false".to_owned()],
            config: crate::doctor::config_from_args(&[]),
            environment: Environment {
                runtime: RuntimeFinding {
                    kind: RuntimeKind::Gvisor,
                    detail: "gVisor".to_owned(),
                    runsc_version: None,
                },
                kernel: None,
                capabilities: CapabilityFinding {
                    effective: None,
                    missing: Vec::new(),
                },
                cgroups: CgroupFinding {
                    mode: CgroupMode::V1,
                    listed: Vec::new(),
                    attached: Vec::new(),
                    mounts: Vec::new(),
                    devices: DevicesState::Absent,
                    devices_mount: None,
                    devices_probe: skipped(),
                },
                userns: UsernsFinding {
                    uid_map: None,
                    in_userns: false,
                    ns_inode: None,
                },
                systemd: SystemdFinding {
                    pid1: None,
                    running: false,
                },
                iptables: IptablesFinding {
                    path: None,
                    resolves_to: Vec::new(),
                    backend: None,
                    nft_binary: None,
                    legacy_binary: None,
                    modprobe_helper: None,
                    nft_nat: skipped(),
                    legacy_nat: skipped(),
                },
                bridge: BridgeFinding {
                    netlink: skipped(),
                    ioctl: skipped(),
                },
                storage: StorageFinding {
                    data_root: PathBuf::from("/var/lib/docker"),
                    backing_fs: None,
                    overlay: skipped(),
                    root_slave: skipped(),
                },
                binaries: Vec::new(),
                namespaces: NamespaceFinding {
                    network: skipped(),
                    mount: skipped(),
                },
            },
            checks: vec![
                Check {
                    name: "runtime".to_owned(),
                    found: "gVisor".to_owned(),
                    verdict: Verdict::Ok,
                    signature: None,
                    fix: None,
                },
                Check {
                    name: "devices-cgroup".to_owned(),
                    found: "absent".to_owned(),
                    verdict: Verdict::WillFail,
                    signature: Some("devices-cgroup-missing".to_owned()),
                    fix: Some("use a newer runsc".to_owned()),
                },
            ],
            recommended_flags: Vec::new(),
            recommended_actions: vec!["use a newer runsc".to_owned()],
            recommendations: vec![
                Recommendation {
                    kind: RecommendationKind::Advice,
                    text: "use a newer runsc".to_owned(),
                    checks: vec!["devices-cgroup".to_owned()],
                    signature: Some("devices-cgroup-missing".to_owned()),
                    proven: false,
                    proof: None,
                    source: "the doctor's `devices-cgroup` check; advice in words".to_owned(),
                },
                Recommendation {
                    kind: RecommendationKind::Flag,
                    text: "--iptables=false".to_owned(),
                    checks: vec!["iptables".to_owned()],
                    signature: Some("iptables-nft-unsupported".to_owned()),
                    proven: true,
                    proof: Some(RecommendationProof {
                        scenario: "s".to_owned(),
                        report: "fixtures/evidence/s.json".to_owned(),
                        change: "iptables_flag=doctor".to_owned(),
                        fixed_cell: "s[iptables_flag=doctor]".to_owned(),
                        fixed_outcome: Outcome::Ready,
                        fixed_signature: None,
                        failed_cell: "s[iptables_flag=none]".to_owned(),
                        failed_signature: "iptables-nft-unsupported".to_owned(),
                    }),
                    source: "proven".to_owned(),
                },
            ],
            prediction: prediction.clone(),
            prediction_with_recommended_flags: prediction,
            elapsed_ms: 5,
        }
    }

    #[test]
    fn text_has_a_row_per_check_and_the_prediction() {
        let mut out = Vec::new();
        write_text(&report(), &Styles::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "dindcheck doctor: dockerd --iptables=false\n\
             \x20 ok         runtime         gVisor\n\
             \x20 WILL FAIL  devices-cgroup  absent  [devices-cgroup-missing]\n\
             \x20                            fix (unproven): use a newer runsc\n\
             \n\
             recommended dockerd flags: none needed\n\
             recommended changes to the sandbox:\n\
             \x20 - use a newer runsc\n\
             is each recommendation proven by a real run?\n\
             \x20 UNPROVEN  advice: use a newer runsc\n\
             \x20           source: the doctor's `devices-cgroup` check; advice in words\n\
             \x20 proven    flag: --iptables=false\n\
             \x20           applied verbatim (iptables_flag=doctor) by s[iptables_flag=doctor]: ready\n\
             \x20           without it s[iptables_flag=none]: iptables-nft-unsupported\n\
             \x20           report: fixtures/evidence/s.json\n\
             prediction: dockerd will fail to start: devices-cgroup-missing\n"
        );
    }

    #[test]
    fn json_round_trips() {
        let mut out = Vec::new();
        write_json(&report(), &mut out).unwrap();
        let back: DoctorReport = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, report());
        assert!(!String::from_utf8(out).unwrap().contains('\u{1b}'));
    }
}
