//! The `dindcheck` binary: parse the command line, run, map the result to an
//! exit code. No logic lives here.

use std::process::ExitCode;

use clap::Parser;
use dindcheck::cli::Cli;
use dindcheck::commands;
use dindcheck::error_text::print_error_chain;
use dindcheck::errors::HarnessError;

fn main() -> ExitCode {
    let result = Cli::parse()
        .into_command()
        .map_err(HarnessError::from)
        .and_then(|(command, terminal)| commands::dispatch(&command, &terminal));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            print_error_chain(&err);
            if let Some(hint) = err.hint() {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(err.exit_code())
        }
    }
}
