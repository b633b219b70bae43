//! The `dindcheck` binary: parse the command line, run, map the result to an
//! exit code. No logic lives here.

use std::process::ExitCode;

use clap::Parser;
use dindcheck::app;
use dindcheck::cli::Cli;
use dindcheck::error_text::print_error_chain;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match app::run(cli) {
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
