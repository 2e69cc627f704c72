//! Keeping the runner's tokens away from user code.
//!
//! The grant and auth tokens reach the runner through its environment, which Linux keeps readable
//! as `/proc/<pid>/environ` for as long as the process lives, to every process of the same user
//! (and to root). Task children run as that user and, with `os` allowed, can read it. So once the
//! configuration has been read, the runner overwrites the tokens' values in that original
//! environment block (through `/proc/self/mem`, which needs no `unsafe`), drops them from its live
//! environment, and marks itself non-dumpable, which makes its `/proc` files readable by root
//! only. The forkserver never receives the tokens at all (see `runner::forkserver_settings`).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;

/// Variables that must never reach user code, whatever `N8N_BLOCK_RUNNER_ENV_ACCESS` says.
pub const SECRET_VARS: &[&str] = &[
    "N8N_RUNNERS_GRANT_TOKEN",
    "N8N_RUNNERS_GRANT_TOKEN_FILE",
    "N8N_RUNNERS_AUTH_TOKEN",
    "N8N_RUNNERS_AUTH_TOKEN_FILE",
];

/// Scrubs the secrets from this process's environment; call after reading the configuration and
/// before starting any thread. Failures are logged, never fatal: they only weaken a defence.
pub fn hide_from_children() {
    if let Err(err) = scrub_initial_environment() {
        log::warn!("Could not scrub the tokens from /proc/self/environ: {err}");
    }
    for name in SECRET_VARS {
        // Edition 2021: safe; we are still single-threaded here.
        std::env::remove_var(name);
    }
    if let Err(err) = nix::sys::prctl::set_dumpable(false) {
        log::warn!("Could not make the runner non-dumpable: {err}");
    }
}

/// Overwrites `NAME=value` of every secret in the environment block the kernel shows as
/// `/proc/self/environ` with `NAME=` followed by NUL bytes.
fn scrub_initial_environment() -> std::io::Result<()> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name (which may contain spaces); env_start and env_end are the
    // 50th and 51st fields of the whole line.
    let after_comm = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let field = |n: usize| -> std::io::Result<u64> {
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| std::io::Error::other("unexpected /proc/self/stat format"))
    };
    let (start, end) = (field(50)?, field(51)?);
    if end <= start {
        return Ok(());
    }
    let mem: File = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/proc/self/mem")?;
    let mut block = vec![0u8; (end - start) as usize];
    mem.read_exact_at(&mut block, start)?;
    let mut offset = 0;
    for entry in block.split(|b| *b == 0) {
        let entry_start = offset;
        offset += entry.len() + 1;
        let Some(eq) = entry.iter().position(|b| *b == b'=') else {
            continue;
        };
        if !SECRET_VARS
            .iter()
            .any(|name| name.as_bytes() == &entry[..eq])
        {
            continue;
        }
        let value_at = start + (entry_start + eq + 1) as u64;
        mem.write_all_at(&vec![0u8; entry.len() - eq - 1], value_at)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_environment_block_is_readable_where_stat_says() {
        // The scrub relies on env_start/env_end; check they frame what /proc/self/environ shows.
        let shown = std::fs::read("/proc/self/environ").unwrap();
        assert!(!shown.is_empty());
        super::scrub_initial_environment().unwrap();
    }
}
