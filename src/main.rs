use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    canopy::telemetry::init();
    canopy::cli::run(canopy::cli::Cli::parse())
}
