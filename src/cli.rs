//! Command-line types (clap derive) and their conversion into validated
//! settings. Raw flags are parsed here; what they mean is decided in `app.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::scenario::{Depth, OneOrMany, Selector};

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
    #[arg(long, value_name = "N", default_value_t = 256)]
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
    /// Cells run at once (default: the number of cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Override the scenarios' probe timeout, in seconds.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Seconds between SIGTERM and SIGKILL when tearing a sandbox down.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
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
    /// Run a failed cell up to N more times; a differing verdict marks it flaky.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: usize,
    /// Run only the cells that failed (or missed their expectation) in REPORT.
    #[arg(long, value_name = "REPORT.json")]
    pub rerun_failed: Option<PathBuf>,
    /// Rewrite each scenario's `expect:` block from this run's verdicts.
    #[arg(long)]
    pub update_expectations: bool,
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
}

impl From<DepthArg> for Depth {
    fn from(d: DepthArg) -> Depth {
        match d {
            DepthArg::Ready => Depth::Ready,
            DepthArg::Container => Depth::Container,
        }
    }
}

/// Parses `--filter AXIS=VALUE` flags into one selector.
///
/// # Errors
/// A message naming the malformed flag.
pub fn parse_filters(filters: &[String]) -> Result<Selector, String> {
    let mut selector = Selector::new();
    for filter in filters {
        let Some((axis, value)) = filter.split_once('=') else {
            return Err(format!("--filter `{filter}` is not AXIS=VALUE"));
        };
        selector
            .entry(axis.to_owned())
            .or_insert_with(|| OneOrMany(Vec::new()))
            .0
            .push(value.to_owned());
    }
    Ok(selector)
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

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
