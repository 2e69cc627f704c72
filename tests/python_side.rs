//! Runs the Python side's own tests (`tests/python`, unittest) under every supported CPython
//! found on this machine, so `cargo test` is the one command that tests everything.
//!
//! Interpreters: `N8N_TEST_PYTHONS` (a `:`-separated list) if set; otherwise `python3` plus
//! whichever of `python3.10` .. `python3.13` are on PATH or installed by pyenv.

use std::path::PathBuf;
use std::process::Command;

/// The real executable behind a command name (pyenv shims resolve to the interpreter they run),
/// or None when it does not run.
fn real_executable(python: &str) -> Option<String> {
    let output = Command::new(python)
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()?;
    let path = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !path.is_empty()).then_some(path)
}

fn interpreters() -> Vec<String> {
    let candidates = match std::env::var("N8N_TEST_PYTHONS") {
        Ok(list) => list
            .split(':')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Err(_) => candidates(),
    };
    let mut found: Vec<String> = Vec::new();
    for candidate in candidates {
        // Several names may lead to one interpreter (python3 -> python3.11): run it once.
        let real = real_executable(&candidate)
            .map(|path| std::fs::canonicalize(&path).map_or(path, |p| p.to_string_lossy().into()));
        match real {
            Some(path) if !found.contains(&path) => found.push(path),
            Some(_) => {}
            None => eprintln!("skipping {candidate}: it does not run"),
        }
    }
    assert!(!found.is_empty(), "no Python interpreter found");
    found
}

fn candidates() -> Vec<String> {
    let mut found = vec!["python3".to_owned()];
    let pyenv_versions = std::env::var("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|home| PathBuf::from(home).join(".pyenv")))
        .map(|root| root.join("versions"));
    for minor in 10..=13 {
        let mut installed: Vec<PathBuf> = pyenv_versions
            .as_ref()
            .ok()
            .and_then(|dir| std::fs::read_dir(dir).ok())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|v| {
                v.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("3.{minor}."))
            })
            .map(|v| v.path().join("bin/python3"))
            .filter(|p| p.is_file())
            .collect();
        installed.sort();
        match installed.pop() {
            Some(newest) => found.push(newest.to_string_lossy().into_owned()),
            None => found.push(format!("python3.{minor}")),
        }
    }
    found
}

#[test]
fn python_side_unit_tests_pass_on_every_supported_interpreter() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python");
    let mut failures = Vec::new();
    for python in interpreters() {
        let output = Command::new(&python)
            .args(["-B", "-m", "unittest", "discover", "-s", dir])
            .env("N8N_RUNNERS_PYTHON", &python)
            .output()
            .unwrap_or_else(|err| panic!("cannot run {python}: {err}"));
        let report = String::from_utf8_lossy(&output.stderr);
        let summary = report.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
        eprintln!("{python}: {summary}");
        if !output.status.success() {
            failures.push(format!("{python}:\n{report}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
