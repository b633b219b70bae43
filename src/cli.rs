//! Command-line types (clap derive) and their conversion into validated
//! configs ([`Cli::into_command`]). Raw flags are parsed here; what they
//! mean is decided in `commands/`, which never sees clap.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::diff::DiffConfig;
use crate::commands::doctor::{DoctorConfig, DoctorFormat as DoctorOutput};
use crate::commands::explain::ExplainConfig;
use crate::commands::list::{ListConfig, ListFormat as ListOutput};
use crate::commands::merge::MergeConfig;
use crate::commands::prepare::MatrixConfig;
use crate::commands::run::{CellOverrides, RunConfig};
use crate::commands::triage::{TriageConfig, TriageFormat as TriageOutput};
use crate::commands::validate::ValidateConfig;
use crate::commands::{AnalysisFormat, Command as Validated, Terminal};
use crate::errors::UsageError;
use crate::report::junit::JunitPolicy;
use crate::report::styles::Styles;
use crate::report::{self, Destination, Output};
use crate::scenario::{Depth, OneOrMany, Selector};
use crate::schedule::{Schedule, default_schedule};

/// The largest `--timeout`: a day.
const MAX_TIMEOUT_SECS: u64 = 86_400;
/// The largest `--grace`: an hour.
const MAX_GRACE_SECS: u64 = 3_600;
/// The largest `--jobs`.
const MAX_JOBS: u64 = 1_024;
/// The largest `--retries`.
const MAX_RETRIES: u64 = 100;

/// Run Docker's daemon inside gVisor across a matrix of configurations and
/// report which cells reach readiness, which fail, and why.
#[derive(Debug, Parser)]
#[command(name = "dindcheck", version, about, long_about = None)]
pub struct Cli {
    /// When to use colour on the terminal.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every cell of one or more scenarios (needs root).
    Run(RunArgs),
    /// List the cells of scenarios without running them.
    List(ListArgs),
    /// Check scenario files and exit.
    Validate(ValidateArgs),
    /// Remove what runs killed with SIGKILL left behind (needs root).
    Cleanup,
    /// Compare two reports (old vs new runsc): regressions, fixes, changes.
    Diff(DiffArgs),
    /// Which axis values are necessary, irrelevant or fatal, from a report.
    Explain(ExplainArgs),
    /// Join shard reports (`run --shard K/N`) into one report.
    Merge(MergeArgs),
    /// Name the root cause of a dockerd failure from a log, with the fix.
    Triage(TriageArgs),
    /// Read this environment and predict what dockerd will hit here, with
    /// the flags that avoid it (exit 0: dockerd should start, 1: it will fail).
    Doctor(DoctorArgs),
    /// The doctor's probes in fresh namespaces (internal).
    #[command(name = "__doctor-probe", hide = true)]
    DoctorProbe {
        /// The probe plan, as JSON.
        plan: String,
    },
    /// Enter a mapped user namespace, then exec PROGRAM (internal).
    #[command(name = "__userns-exec", hide = true)]
    UsernsExec {
        /// The program and its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        argv: Vec<std::ffi::OsString>,
    },
    /// The in-sandbox agent (internal).
    #[command(name = "__agent", hide = true)]
    Agent {
        /// The agent spec file written by the runner.
        spec: PathBuf,
    },
}

/// Options shared by `run` and `list`.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Scenario files (default: scenarios/devices-cgroup.yaml).
    pub scenarios: Vec<PathBuf>,
    /// A runsc binary for the runtime axis, `PATH` or `LABEL=PATH`;
    /// repeatable, replaces the scenario's list.
    #[arg(long = "runsc", value_name = "[LABEL=]PATH")]
    pub runsc: Vec<String>,
    /// Keep only cells with this axis value; repeatable (same axis: any of
    /// the values, different axes: all).
    #[arg(long = "filter", value_name = "AXIS=VALUE")]
    pub filter: Vec<String>,
    /// Only shard K of N (1-based): every N-th cell from the K-th, for fanning
    /// a matrix out over CI jobs.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::matrix::Shard>,
    /// Refuse matrices larger than this (before any filter), so a typo in an
    /// axis cannot launch thousands of sandboxes.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_cells: usize,
}

/// `dindcheck run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenarios, runsc binaries and filters.
    #[command(flatten)]
    pub matrix: MatrixArgs,
    /// Override the scenarios' probe depth.
    #[arg(long, value_enum)]
    pub depth: Option<DepthArg>,
    /// Cells run at once, 1 to 1024 (default: three times the number of
    /// cores, and up to six times while the CPUs idle, at most one per 256
    /// MiB of available memory).
    #[arg(long, short = 'j', value_parser = RangedU64ValueParser::<usize>::new().range(1..=MAX_JOBS))]
    pub jobs: Option<usize>,
    /// Override the scenarios' probe timeout, in seconds (1 to 86400).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECS))]
    pub timeout: Option<u64>,
    /// Seconds between SIGTERM and SIGKILL when tearing a sandbox down (0 to 3600).
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=MAX_GRACE_SECS))]
    pub grace: u64,
    /// Where logs and report.json go (default: reports/<scenario>/<timestamp>/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// No progress on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Run a failed cell up to N more times (0 to 100); a differing verdict
    /// marks it flaky.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = RangedU64ValueParser::<usize>::new().range(0..=MAX_RETRIES))]
    pub retries: usize,
    /// Run only the cells that failed (or missed their expectation) in REPORT.
    #[arg(long, value_name = "REPORT.json")]
    pub rerun_failed: Option<PathBuf>,
    /// Skip the doctor's checks inside each sandbox (saves their time per
    /// cell; the report then has no `doctor` findings).
    #[arg(long)]
    pub no_doctor: bool,
    /// Rewrite each scenario's `expect:` block from this run's verdicts.
    #[arg(long)]
    pub update_expectations: bool,
    /// Fail (exit 1) when a cell is covered by no `expect:` rule, e.g. a
    /// runsc that was upgraded or relabelled.
    #[arg(long)]
    pub strict: bool,
    /// Also write a JUnit XML report (one testsuite per scenario).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Which cells JUnit marks as failed.
    #[arg(long, value_enum, default_value_t = JunitPolicyArg::Auto)]
    pub junit_policy: JunitPolicyArg,
    /// Also write a Markdown matrix (for a PR comment); with several
    /// scenarios, one section each.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

/// `--junit-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JunitPolicyArg {
    /// An unmet expectation where a rule applies, a failed outcome elsewhere.
    Auto,
    /// Only unmet expectations (and flaky cells).
    Expectations,
    /// Every failed outcome (and flaky cells).
    Outcomes,
}

/// `dindcheck diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The baseline report (e.g. the run with the old runsc).
    pub base: PathBuf,
    /// The new report.
    pub new: PathBuf,
    /// Match a renamed value: `OLD=NEW` for the runsc axis, or
    /// `AXIS:OLD=NEW`; repeatable.
    #[arg(long, value_name = "[AXIS:]OLD=NEW")]
    pub pair: Vec<String>,
    /// Compare even when the scenario names differ.
    #[arg(long)]
    pub force: bool,
    /// What to print.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// `dindcheck explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A report written by `dindcheck run`.
    pub report: PathBuf,
    /// What to print.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// `dindcheck merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard reports of one scenario.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Write the merged report here instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write a JUnit XML report of the merged cells.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write a Markdown matrix of the merged cells.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

/// Output formats of the report commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// For people.
    Text,
    /// For tools.
    Json,
    /// For a PR comment.
    Markdown,
}

/// `dindcheck list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Scenarios, runsc binaries and filters.
    #[command(flatten)]
    pub matrix: MatrixArgs,
    /// What to print.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// With `--format github-matrix`: one matrix entry per shard (`K/N`)
    /// instead of one per cell.
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
}

/// `list` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Cell IDs for people.
    Table,
    /// One JSON document per scenario with each cell's settings.
    Json,
    /// The JSON a GitHub Actions `strategy.matrix` consumes.
    GithubMatrix,
}

/// `dindcheck validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files to check.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
}

/// `dindcheck triage`.
#[derive(Debug, Args)]
pub struct TriageArgs {
    /// Log files: dockerd's own (text or JSON), journalctl or syslog output,
    /// a wrapper's log, docker CLI output; `-` or none reads stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Extra catalogue entries (the schema of src/signatures.yaml); they
    /// take precedence over the built-in ones, and an entry with a built-in
    /// id replaces it. Repeatable: a later file's entries come first.
    #[arg(long, value_name = "FILE")]
    pub signatures: Vec<PathBuf>,
    /// What to print.
    #[arg(long, value_enum, default_value_t = TriageFormat::Text)]
    pub format: TriageFormat,
}

/// `dindcheck triage --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TriageFormat {
    /// A summary for people.
    Text,
    /// One JSON document per log (schema dindcheck/triage/v2).
    Json,
}

/// `dindcheck doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// What to print.
    #[arg(long, value_enum, default_value_t = DoctorFormat::Text)]
    pub format: DoctorFormat,
    /// dockerd's arguments as one string, split on whitespace (the same as
    /// giving them after `--`).
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub dockerd_args: Option<String>,
    /// Skip the probes that need fresh namespaces (root): iptables, bridge,
    /// overlay and cgroup mounts are then reported as not tested.
    #[arg(long)]
    pub no_probes: bool,
    /// The dockerd release to predict for (`28.5.2+dfsg4`, or a whole
    /// `dockerd --version` line), instead of running `dockerd --version`.
    #[arg(long, value_name = "VERSION")]
    pub dockerd_version: Option<String>,
    /// The dockerd command line to predict for, after `--` (it may start
    /// with the dockerd binary); none means dockerd's defaults.
    #[arg(last = true, value_name = "DOCKERD ARGS")]
    pub dockerd: Vec<String>,
}

/// `dindcheck doctor --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DoctorFormat {
    /// A table for people.
    Text,
    /// One JSON document (schema dindcheck/doctor/v1).
    Json,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// One JSON document per scenario.
    Json,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// `--depth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DepthArg {
    /// Stop at API readiness.
    Ready,
    /// Also run a container.
    Container,
    /// Also push, pull back and run the image (registry on loopback).
    Pull,
    /// Also run containers on the default bridge.
    Network,
    /// Also build a Dockerfile and run the result.
    Build,
}

impl From<DepthArg> for Depth {
    fn from(d: DepthArg) -> Depth {
        match d {
            DepthArg::Ready => Depth::Ready,
            DepthArg::Container => Depth::Container,
            DepthArg::Pull => Depth::Pull,
            DepthArg::Network => Depth::Network,
            DepthArg::Build => Depth::Build,
        }
    }
}

/// Parses `--filter AXIS=VALUE` flags into one selector.
///
/// # Errors
/// [`UsageError::FilterSyntax`] naming the malformed flag.
pub fn parse_filters(filters: &[String]) -> Result<Selector, UsageError> {
    let mut selector = Selector::new();
    for filter in filters {
        let Some((axis, value)) = filter.split_once('=') else {
            return Err(UsageError::FilterSyntax {
                filter: filter.clone(),
            });
        };
        selector
            .entry(axis.to_owned())
            .or_insert_with(|| OneOrMany(Vec::new()))
            .0
            .push(value.to_owned());
    }
    Ok(selector)
}

impl Cli {
    /// The validated command and the terminal's colours.
    ///
    /// # Errors
    /// [`UsageError`] for flag values clap cannot check alone.
    pub fn into_command(self) -> Result<(Validated, Terminal), UsageError> {
        let terminal = Terminal {
            stdout: styles_for(self.color, std::io::stdout().is_terminal()),
            stderr: styles_for(self.color, std::io::stderr().is_terminal()),
        };
        let command = match self.command {
            Command::Run(args) => Validated::Run(args.into_config()?),
            Command::List(args) => Validated::List(ListConfig {
                matrix: args.matrix.into_config()?,
                format: match args.format {
                    ListFormat::Table => ListOutput::Table,
                    ListFormat::Json => ListOutput::Json,
                    ListFormat::GithubMatrix => ListOutput::GithubMatrix,
                },
                shards: args.shards,
            }),
            Command::Validate(args) => Validated::Validate(ValidateConfig {
                scenarios: args.scenarios,
            }),
            Command::Cleanup => Validated::Cleanup,
            Command::Diff(args) => Validated::Diff(DiffConfig {
                base: args.base,
                new: args.new,
                pairs: args.pair,
                force: args.force,
                format: args.format.into(),
            }),
            Command::Explain(args) => Validated::Explain(ExplainConfig {
                report: args.report,
                format: args.format.into(),
            }),
            Command::Merge(args) => Validated::Merge(MergeConfig {
                reports: args.reports,
                output: args.output,
                junit: args.junit,
                markdown: args.markdown,
            }),
            Command::Triage(args) => Validated::Triage(TriageConfig {
                files: args.files,
                signatures: args.signatures,
                format: match args.format {
                    TriageFormat::Text => TriageOutput::Text,
                    TriageFormat::Json => TriageOutput::Json,
                },
            }),
            Command::Doctor(args) => {
                let mut argv: Vec<String> = args
                    .dockerd_args
                    .as_deref()
                    .map(|line| line.split_whitespace().map(str::to_owned).collect())
                    .unwrap_or_default();
                argv.extend(args.dockerd);
                Validated::Doctor(DoctorConfig {
                    dockerd_argv: argv,
                    probes: !args.no_probes,
                    dockerd_version: args.dockerd_version.map(|v| {
                        if v.starts_with("Docker version ") {
                            v
                        } else {
                            format!("Docker version {v}")
                        }
                    }),
                    format: match args.format {
                        DoctorFormat::Text => DoctorOutput::Text,
                        DoctorFormat::Json => DoctorOutput::Json,
                    },
                })
            }
            Command::DoctorProbe { plan } => Validated::DoctorProbe(plan),
            Command::UsernsExec { argv } => Validated::UsernsExec(argv),
            Command::Agent { spec } => Validated::Agent(spec),
        };
        Ok((command, terminal))
    }
}

fn styles_for(choice: ColorChoice, tty: bool) -> Styles {
    let mut styles = Styles::default();
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    if on {
        styles.colorize();
    }
    styles
}

impl MatrixArgs {
    fn into_config(self) -> Result<MatrixConfig, UsageError> {
        Ok(MatrixConfig {
            filter: parse_filters(&self.filter)?,
            scenarios: self.scenarios,
            runsc: self.runsc,
            shard: self.shard,
            max_cells: self.max_cells,
        })
    }
}

impl RunArgs {
    fn into_config(self) -> Result<RunConfig, UsageError> {
        let mut outputs = vec![Output {
            format: match self.format {
                Format::Table => report::Format::Table,
                Format::Json => report::Format::Json,
            },
            destination: Destination::Stdout,
        }];
        for (format, path) in [
            (report::Format::Junit, self.junit),
            (report::Format::Markdown, self.markdown),
        ] {
            outputs.extend(path.map(|path| Output {
                format,
                destination: Destination::File(path),
            }));
        }
        Ok(RunConfig {
            matrix: self.matrix.into_config()?,
            cells: CellOverrides {
                depth: self.depth.map(Depth::from),
                timeout_secs: self.timeout,
                doctor: !self.no_doctor,
            },
            schedule: match self.jobs {
                Some(jobs) => Schedule {
                    jobs,
                    more_while_idle: None,
                    retries: self.retries,
                },
                None => default_schedule(
                    std::thread::available_parallelism().map_or(1, |n| n.get()),
                    crate::process::memory::available_bytes(),
                    self.retries,
                ),
            },
            grace: Duration::from_secs(self.grace),
            out: self.out,
            outputs,
            junit_policy: match self.junit_policy {
                JunitPolicyArg::Auto => JunitPolicy::Auto,
                JunitPolicyArg::Expectations => JunitPolicy::Expectations,
                JunitPolicyArg::Outcomes => JunitPolicy::Outcomes,
            },
            quiet: self.quiet,
            rerun_failed: self.rerun_failed,
            update_expectations: self.update_expectations,
            strict: self.strict,
        })
    }
}

impl From<ReportFormat> for AnalysisFormat {
    fn from(f: ReportFormat) -> AnalysisFormat {
        match f {
            ReportFormat::Text => AnalysisFormat::Text,
            ReportFormat::Json => AnalysisFormat::Json,
            ReportFormat::Markdown => AnalysisFormat::Markdown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_group_by_axis() {
        let s = parse_filters(&[
            "iptables=false".to_owned(),
            "runsc=a".to_owned(),
            "runsc=b".to_owned(),
        ])
        .unwrap();
        assert_eq!(s["iptables"].0, vec!["false"]);
        assert_eq!(s["runsc"].0, vec!["a", "b"]);
        assert!(parse_filters(&["oops".to_owned()]).is_err());
    }

    #[rstest::rstest]
    #[case(&["--timeout", "0"])]
    #[case(&["--timeout", "86401"])]
    #[case(&["--jobs", "0"])]
    #[case(&["--grace", "3601"])]
    #[case(&["--retries", "101"])]
    #[case(&["--max-cells", "0"])]
    fn out_of_range_values_are_refused(#[case] flags: &[&str]) {
        let argv = ["dindcheck", "run"].iter().chain(flags);
        let err = Cli::try_parse_from(argv).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{err}");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn values_at_the_limits_are_taken() {
        let cli = Cli::try_parse_from([
            "dindcheck",
            "run",
            "--timeout",
            "1",
            "--jobs",
            "1",
            "--grace",
            "0",
            "--strict",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run");
        };
        assert_eq!((args.timeout, args.jobs, args.grace), (Some(1), Some(1), 0));
        assert!(args.strict);
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
