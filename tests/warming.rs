//! Warming: the forkserver imports what tasks imported, so later tasks inherit it.
//!
//! The modules come from a virtual environment made for each test (Debian's python3 with
//! `--without-pip`), whose site-packages holds small fixture modules: one that is harmless, one
//! that starts a thread when imported, one that starts a process. Each fixture can tell whether
//! it was imported in the process asking (`loaded_here()`), which is how a task sees that it
//! inherited the module instead of importing it.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::{json, Value};

/// Records the process that imported it.
const HARMLESS: &str = "import os\nLOADED_BY = os.getpid()\n\ndef loaded_here():\n    \
                        return os.getpid() == LOADED_BY\n";
const STARTS_A_THREAD: &str = "import os, threading, time\nLOADED_BY = os.getpid()\n\
                               threading.Thread(target=time.sleep, args=(0.01,)).start()\n\n\
                               def loaded_here():\n    return os.getpid() == LOADED_BY\n";
const STARTS_A_PROCESS: &str = "import os\nLOADED_BY = os.getpid()\npid = os.fork()\n\
                                if pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)\n\n\
                                def loaded_here():\n    return os.getpid() == LOADED_BY\n";

/// A virtual environment with the fixtures, readable by the task user; removed when dropped.
struct Venv {
    root: PathBuf,
}

impl Venv {
    fn new() -> Option<Venv> {
        let base = Path::new("/usr/bin/python3");
        if !base.exists() {
            eprintln!("SKIPPED: no /usr/bin/python3 to make a virtual environment from");
            return None;
        }
        // Not under /tmp (where a checkout, and so CARGO_TARGET_TMPDIR, may well be): each
        // sandbox slot mounts a /tmp of its own over it. /var/tmp is open to the task user.
        let root = Path::new("/var/tmp").join(format!(
            "n8n-warming-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        let made = Command::new(base)
            .args(["-m", "venv", "--without-pip"])
            .arg(&root)
            .status()
            .expect("run python3 -m venv");
        assert!(made.success(), "python3 -m venv --without-pip failed");
        let site = std::fs::read_dir(root.join("lib"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path()
            .join("site-packages");
        for (name, source) in [
            ("warm_harmless", HARMLESS),
            ("warm_thread", STARTS_A_THREAD),
            ("warm_process", STARTS_A_PROCESS),
        ] {
            std::fs::write(site.join(format!("{name}.py")), source).unwrap();
        }
        // Tasks run as nobody when the tests run as root.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        Some(Venv { root })
    }

    fn python(&self) -> String {
        self.root.join("bin/python3").to_string_lossy().into_owned()
    }
}

impl Drop for Venv {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn runner_in(venv: &Venv, env: &[(&str, &str)]) -> (TestBroker, Runner, BrokerSide) {
    let python = venv.python();
    let mut vars = vec![("N8N_RUNNERS_PYTHON", python.as_str())];
    vars.extend_from_slice(env);
    registered_runner(&vars)
}

/// Whether the task imported `module` itself (true) or inherited it from the forkserver.
fn imported_by_task(side: &mut BrokerSide, id: &str, module: &str) -> Value {
    let code = format!("import {module}\nreturn [{{'json': {{'here': {module}.loaded_here()}}}}]");
    side.run_task(id, all_items(&code, json!([])))
        .result()
        .clone()
}

#[test]
fn a_module_a_task_imported_is_inherited_by_later_tasks() {
    let Some(venv) = Venv::new() else { return };
    let (_b, runner, mut side) = runner_in(&venv, &[("N8N_RUNNERS_EXTERNAL_ALLOW", "*")]);
    assert_eq!(
        imported_by_task(&mut side, "first", "warm_harmless"),
        json!([{"json": {"here": true}}])
    );
    runner.wait_for_log("warmed warm_harmless");
    assert_eq!(
        imported_by_task(&mut side, "second", "warm_harmless"),
        json!([{"json": {"here": false}}])
    );
}

#[test]
fn a_module_whose_import_starts_a_thread_is_never_warmed() {
    let Some(venv) = Venv::new() else { return };
    let (_b, runner, mut side) = runner_in(&venv, &[("N8N_RUNNERS_EXTERNAL_ALLOW", "*")]);
    imported_by_task(&mut side, "first", "warm_thread");
    runner.wait_for_log("not warming warm_thread: importing it starts a process or a thread");
    assert_eq!(
        imported_by_task(&mut side, "second", "warm_thread"),
        json!([{"json": {"here": true}}])
    );
}

#[test]
fn a_module_whose_import_starts_a_process_is_never_warmed() {
    let Some(venv) = Venv::new() else { return };
    let (_b, runner, mut side) = runner_in(&venv, &[("N8N_RUNNERS_EXTERNAL_ALLOW", "*")]);
    imported_by_task(&mut side, "first", "warm_process");
    runner.wait_for_log("not warming warm_process: importing it starts a process or a thread");
    assert_eq!(
        imported_by_task(&mut side, "second", "warm_process"),
        json!([{"json": {"here": true}}])
    );
}

#[test]
fn a_preloaded_module_stays_refused_where_the_allowlist_does_not_allow_it() {
    let Some(venv) = Venv::new() else { return };
    let (_b, _runner, mut side) = runner_in(&venv, &[("N8N_RUNNERS_PRELOAD", "warm_harmless")]);
    let outcome = side.run_task(
        "refused",
        all_items("import warm_harmless\nreturn []", json!([])),
    );
    assert!(
        outcome.error()["description"]
            .as_str()
            .unwrap_or_default()
            .contains("Import of external package 'warm_harmless' is disallowed"),
        "{:?}",
        outcome.error()
    );
}

#[test]
fn a_preloaded_module_is_inherited_by_the_first_task() {
    let Some(venv) = Venv::new() else { return };
    let (_b, _runner, mut side) = runner_in(
        &venv,
        &[
            ("N8N_RUNNERS_PRELOAD", "warm_harmless"),
            ("N8N_RUNNERS_EXTERNAL_ALLOW", "*"),
        ],
    );
    assert_eq!(
        imported_by_task(&mut side, "first", "warm_harmless"),
        json!([{"json": {"here": false}}])
    );
}

#[test]
fn a_learnt_module_is_warmed_again_after_a_forkserver_restart() {
    let Some(venv) = Venv::new() else { return };
    let (_b, runner, mut side) = runner_in(&venv, &[("N8N_RUNNERS_EXTERNAL_ALLOW", "*")]);
    imported_by_task(&mut side, "first", "warm_harmless");
    runner.wait_for_log("warmed warm_harmless");
    let forkserver = children_of(runner.pid())
        .into_iter()
        .find(|pid| is_namespace_init(*pid) || !children_of(*pid).is_empty())
        .expect("the forkserver");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(forkserver as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    runner.wait_for_log("Python forkserver restarted");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while runner
        .log()
        .iter()
        .filter(|line| line.contains("warmed warm_harmless"))
        .count()
        < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "not warmed again:\n{}",
            runner.log().join("\n")
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        imported_by_task(&mut side, "second", "warm_harmless"),
        json!([{"json": {"here": false}}])
    );
}

#[test]
fn pandas_imported_under_star_allowlists_is_inherited_by_later_tasks() {
    let python = "/usr/bin/python3";
    let has_pandas = Command::new(python)
        .args(["-c", "import pandas"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !has_pandas {
        eprintln!("SKIPPED: {python} has no pandas");
        return;
    }
    let (_b, runner, mut side) = registered_runner(&[
        ("N8N_RUNNERS_PYTHON", python),
        ("N8N_RUNNERS_STDLIB_ALLOW", "*"),
        ("N8N_RUNNERS_EXTERNAL_ALLOW", "*"),
    ]);
    let code = "import sys\nwarm = 'pandas' in sys.modules\nimport pandas\n\
                return [{'json': {'warm': warm}}]";
    let first = side.run_task("first", all_items(code, json!([])));
    assert_eq!(first.result(), &json!([{"json": {"warm": false}}]));
    runner.wait_for_log("warmed pandas");
    let second = side.run_task("second", all_items(code, json!([])));
    assert_eq!(second.result(), &json!([{"json": {"warm": true}}]));
}
