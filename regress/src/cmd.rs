//! Running the system's tools (ip, tc, ovs-vsctl, ...) with errors that say what failed.

use std::process::Command;

/// A command that could not be started or exited non-zero; carries what it printed.
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    #[error("cannot run {cmd}: {source}")]
    Spawn { cmd: String, source: std::io::Error },
    #[error("{cmd} failed ({status}): {stderr}{stdout}")]
    Failed {
        cmd: String,
        status: std::process::ExitStatus,
        stdout: String,
        stderr: String,
    },
}

fn describe(args: &[&str]) -> String {
    args.join(" ")
}

/// Run `args[0]` with the rest as arguments; on success return its standard output.
pub fn run_ok(args: &[&str]) -> Result<String, CmdError> {
    run_env(args, &[])
}

/// Like [`run_ok`], with extra environment variables.
pub(crate) fn run_env(args: &[&str], env: &[(&str, &str)]) -> Result<String, CmdError> {
    let (prog, rest) = args.split_first().ok_or_else(|| CmdError::Spawn {
        cmd: String::new(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"),
    })?;
    let out = Command::new(prog)
        .args(rest)
        .envs(env.iter().copied())
        .output()
        .map_err(|source| CmdError::Spawn {
            cmd: describe(args),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(CmdError::Failed {
            cmd: describe(args),
            status: out.status,
            stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// Run a command and report only whether it succeeded (for probes such as ping, where
/// failure is an expected answer, not an error).
pub fn run(args: &[&str]) -> bool {
    run_ok(args).is_ok()
}
