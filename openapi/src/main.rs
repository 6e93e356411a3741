//! `nango-openapi generate` writes `openapi/nango.json` (rendered from the server code) and
//! `sdk/src/generated.rs` (progenitor's output for that document); `nango-openapi check`
//! fails when either is stale.

use std::process::ExitCode;

use anyhow::Context as _;
use nango_openapi::{REGENERATE, generate_sdk, render_spec, sdk_path, spec_path};

fn main() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_default();
    let result = match command.as_str() {
        "generate" => generate(),
        "check" => check(),
        _ => Err(anyhow::anyhow!("usage: nango-openapi generate|check")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nango-openapi: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn generate() -> anyhow::Result<()> {
    let spec = render_spec()?;
    let sdk = generate_sdk(&spec)?;
    std::fs::write(spec_path(), &spec).with_context(|| format!("writing {}", spec_path().display()))?;
    std::fs::write(sdk_path(), &sdk).with_context(|| format!("writing {}", sdk_path().display()))?;
    eprintln!("wrote {} and {}", spec_path().display(), sdk_path().display());
    Ok(())
}

fn check() -> anyhow::Result<()> {
    let spec = render_spec()?;
    let stored_spec = std::fs::read_to_string(spec_path()).unwrap_or_default();
    anyhow::ensure!(stored_spec == spec, "openapi/nango.json is stale; run `{REGENERATE}`");
    let stored_sdk = std::fs::read_to_string(sdk_path()).unwrap_or_default();
    anyhow::ensure!(stored_sdk == generate_sdk(&spec)?, "sdk/src/generated.rs is stale; run `{REGENERATE}`");
    eprintln!("openapi/nango.json and sdk/src/generated.rs are up to date");
    Ok(())
}
