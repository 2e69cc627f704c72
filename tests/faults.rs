//! Faults the runner must survive: abusive task code and an abusive broker. After each, the
//! runner answers the task that caused it exactly once, the next task still works, and no task
//! process is left behind. Real binary, real python3, real signals and limits.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// The runner still works and its forkserver has no child left (not even a zombie).
fn assert_still_healthy(runner: &Runner, side: &mut BrokerSide) {
    let outcome = side.run_task(
        "health-check",
        all_items("return [{'ok': True}]", json!([])),
    );
    assert_eq!(outcome.result(), &json!([{"ok": true}]));
    let forkservers = children_of(runner.pid());
    assert_eq!(forkservers.len(), 1, "one forkserver: {forkservers:?}");
    let deadline = Instant::now() + WAIT;
    while !task_processes(forkservers[0]).is_empty() {
        assert!(Instant::now() < deadline, "a task process was left behind");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn with_os(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut env = vec![("N8N_RUNNERS_STDLIB_ALLOW", "*")];
    env.extend_from_slice(extra);
    env
}

fn error_message(outcome: &TaskOutcome) -> String {
    outcome.error()["message"].as_str().unwrap().to_owned()
}

#[test]
fn a_memory_bomb_hits_the_memory_limit_with_a_clear_error() {
    let (_b, runner, mut side) = registered_runner(&[("N8N_RUNNERS_TASK_MEMORY_LIMIT", "256")]);
    let outcome = side.run_task(
        "bomb",
        all_items(
            "x = []\nwhile True:\n    x.append(' ' * 10_000_000)",
            json!([]),
        ),
    );
    assert_eq!(
        error_message(&outcome),
        "Task exceeded the memory limit of 256 MiB (N8N_RUNNERS_TASK_MEMORY_LIMIT)"
    );
    assert_still_healthy(&runner, &mut side);
}

#[test]
fn a_cpu_hog_hits_the_cpu_limit_with_a_clear_error() {
    let (_b, runner, mut side) = registered_runner(&[
        ("N8N_RUNNERS_TASK_CPU_LIMIT", "1"),
        ("N8N_RUNNERS_TASK_TIMEOUT", "30"),
    ]);
    let outcome = side.run_task("hog", all_items("while True:\n    pass", json!([])));
    assert_eq!(
        error_message(&outcome),
        "Task exceeded the CPU time limit of 1 seconds (N8N_RUNNERS_TASK_CPU_LIMIT)"
    );
    assert_still_healthy(&runner, &mut side);
}

#[test]
fn a_fork_bomb_is_bounded_by_the_process_limit() {
    let (_b, runner, mut side) = registered_runner(&with_os(&[
        ("N8N_RUNNERS_TASK_MAX_PROCESSES", "8"),
        ("N8N_RUNNERS_TASK_TIMEOUT", "5"),
    ]));
    let code = "import os\nforks = 0\ntry:\n    for _ in range(1000):\n        if os.fork() == 0:\n            import time\n            time.sleep(60)\n            os._exit(0)\n        forks += 1\nexcept OSError as e:\n    return [{'forks': forks, 'error': e.errno}]\nreturn [{'forks': forks}]";
    let outcome = side.run_task("bomb", all_items(code, json!([])));
    let result = outcome.result()[0].clone();
    assert!(result["forks"].as_u64().unwrap() < 8, "{result}");
    assert_eq!(result["error"], 11, "EAGAIN: {result}");
    // The sleeping grandchildren belong to the task's process group and go with it.
    assert_still_healthy(&runner, &mut side);
}

#[test]
fn a_file_larger_than_the_limit_cannot_be_written() {
    let (_b, runner, mut side) =
        registered_runner(&with_os(&[("N8N_RUNNERS_TASK_MAX_FILE_SIZE", "1")]));
    // A write that crosses the limit stops at it; the next one fails with EFBIG.
    let code = "import os, tempfile\nfd, path = tempfile.mkstemp()\ndata = b'x' * (2 * 1024 * 1024)\nwritten = 0\ntry:\n    while written < len(data):\n        written += os.write(fd, data[written:])\nfinally:\n    os.close(fd)\n    os.unlink(path)";
    let outcome = side.run_task("big", all_items(code, json!([])));
    assert!(
        error_message(&outcome).contains("File too large"),
        "{:#}",
        outcome.last
    );
    assert_still_healthy(&runner, &mut side);
}

#[test]
fn task_processes_do_not_run_as_root() {
    if !nix::unistd::geteuid().is_root() {
        return; // Only a root runner switches users.
    }
    let (_b, _r, mut side) = registered_runner(&with_os(&[]));
    let outcome = side.run_task(
        "who",
        all_items(
            "import os\nreturn [{'uid': os.getuid(), 'euid': os.geteuid()}]",
            json!([]),
        ),
    );
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .unwrap()
        .uid
        .as_raw();
    assert_eq!(outcome.result(), &json!([{"uid": nobody, "euid": nobody}]));
}

#[test]
fn a_segfault_is_reported_and_survived() {
    let (_b, runner, mut side) = registered_runner(&with_os(&[]));
    let outcome = side.run_task(
        "segv",
        all_items("import ctypes\nctypes.string_at(0)", json!([])),
    );
    assert_eq!(
        error_message(&outcome),
        "Task subprocess exited with code -11"
    );
    assert_still_healthy(&runner, &mut side);
}

#[test]
fn closing_stdio_and_the_result_pipe_is_reported_and_survived() {
    let (_b, runner, mut side) = registered_runner(&with_os(&[]));
    // Close everything the process holds, the result pipe included, then return normally.
    let code = "import os\nos.closerange(0, 1024)\nreturn [{'never': 'delivered'}]";
    let outcome = side.run_task("fds", all_items(code, json!([])));
    assert!(
        outcome.last["type"] == "runner:taskerror",
        "{:#}",
        outcome.last
    );
    assert_still_healthy(&runner, &mut side);
}

#[test]
fn a_flood_of_output_is_survived() {
    let (_b, runner, mut side) = registered_runner(&with_os(&[]));
    let code = "import os, sys\nchunk = 'x' * (1 << 20)\nfor _ in range(100):\n    print(chunk)\n    os.write(1, chunk.encode())\n    sys.stderr.write(chunk)\nreturn [{'done': True}]";
    let outcome = side.run_task("flood", all_items(code, json!([])));
    assert_eq!(outcome.result(), &json!([{"done": true}]));
    assert_eq!(outcome.prints().len(), 100, "every print of 1 MiB arrives");
    assert_still_healthy(&runner, &mut side);
}

#[test]
fn values_json_cannot_hold_become_strings_or_a_clear_error() {
    let (_b, runner, mut side) = registered_runner(&[]);
    let outcome = side.run_task(
        "set",
        all_items("return [{'s': {1, 2}, 'b': b'x', 'c': 1+2j}]", json!([])),
    );
    assert_eq!(
        outcome.result(),
        &json!([{"s": "{1, 2}", "b": "b'x'", "c": "(1+2j)"}])
    );
    let outcome = side.run_task(
        "cycle",
        all_items("x = []\nx.append(x)\nreturn x", json!([])),
    );
    assert_eq!(error_message(&outcome), "Circular reference detected");
    let outcome = side.run_task("key", all_items("return {(1, 2): 3}", json!([])));
    assert_eq!(
        error_message(&outcome),
        "keys must be str, int, float, bool or None, not tuple"
    );
    assert_still_healthy(&runner, &mut side);
}

#[test]
fn deep_recursion_is_an_ordinary_error() {
    let (_b, runner, mut side) = registered_runner(&[]);
    let outcome = side.run_task(
        "deep",
        all_items("def f(n):\n    return f(n + 1)\nreturn f(0)", json!([])),
    );
    assert!(error_message(&outcome).contains("maximum recursion depth exceeded"));
    assert_still_healthy(&runner, &mut side);
}

#[test]
fn an_oversized_frame_costs_the_connection_not_the_runner() {
    let broker = TestBroker::start();
    let runner = Runner::start(&broker, &[("N8N_RUNNERS_MAX_PAYLOAD", "10000")]);
    let mut side = broker.accept();
    side.handshake();
    side.accept_task("huge");
    let big = "x".repeat(20_000);
    side.send_settings("huge", all_items(&format!("return '{big}'"), json!([])));
    runner.wait_for_log("Lost connection to broker");
    // It reconnects and works; the task of the lost connection is not answered on
    // the new one.
    let mut side = broker.accept();
    side.handshake();
    let outcome = side.run_task("after", all_items("return 1", json!([])));
    assert_eq!(outcome.result(), &json!(1));
    assert_eq!(side.try_recv_non_offer(Duration::from_millis(300)), None);
}

#[test]
fn settings_after_a_cancel_and_cancels_after_the_answer_are_ignored() {
    let (_b, runner, mut side) = registered_runner(&[]);
    side.accept_task("t");
    side.send(json!({"type": "broker:taskcancel", "taskId": "t", "reason": "x"}));
    side.send_settings("t", all_items("return 1", json!([])));
    runner.wait_for_log("Failed to find task t");
    let outcome = side.run_task("u", all_items("return 2", json!([])));
    assert_eq!(outcome.result(), &json!(2));
    side.send(json!({"type": "broker:taskcancel", "taskId": "u", "reason": "late"}));
    side.send(json!({"type": "broker:taskcancel", "taskId": "u", "reason": "twice"}));
    runner.wait_for_log("Received cancel for unknown task: u");
    assert_eq!(side.try_recv_non_offer(Duration::from_millis(300)), None);
    assert_still_healthy(&runner, &mut side);
}

#[test]
fn a_cancel_sent_twice_while_running_gets_one_answer() {
    let (_b, runner, mut side) = registered_runner(&[]);
    side.accept_task("t");
    side.send_settings("t", all_items("while True:\n    pass", json!([])));
    runner.wait_for_log("Received task t");
    side.send(json!({"type": "broker:taskcancel", "taskId": "t", "reason": "1"}));
    side.send(json!({"type": "broker:taskcancel", "taskId": "t", "reason": "2"}));
    assert_eq!(
        side.collect("t").error(),
        &json!({"message": "Task was cancelled"})
    );
    assert_eq!(side.try_recv_non_offer(Duration::from_millis(500)), None);
    assert_still_healthy(&runner, &mut side);
}

#[test]
fn a_task_finishing_after_its_connection_dropped_is_not_answered_on_the_next() {
    let broker = TestBroker::start();
    let runner = Runner::start(&broker, &[("N8N_RUNNERS_STDLIB_ALLOW", "time")]);
    let mut side = broker.accept();
    side.handshake();
    side.accept_task("orphan");
    side.send_settings(
        "orphan",
        all_items("import time\ntime.sleep(1)\nreturn 'late'", json!([])),
    );
    runner.wait_for_log("Received task orphan");
    side.drop_connection();
    let mut side = broker.accept();
    side.handshake();
    let outcome = side.run_task("fresh", all_items("return 'new'", json!([])));
    assert_eq!(outcome.result(), &json!("new"));
    // Nothing about "orphan" ever arrives here.
    let deadline = Instant::now() + Duration::from_millis(1500);
    while let Some(message) = side.try_recv(deadline.saturating_duration_since(Instant::now())) {
        assert_ne!(message["taskId"], Value::from("orphan"), "{message}");
    }
}

#[test]
fn a_broker_that_never_reads_is_dropped_before_buffers_grow_without_bound() {
    let broker = TestBroker::start();
    let runner = Runner::start(&broker, &[("N8N_RUNNERS_MAX_PAYLOAD", "4000000")]);
    let mut side = broker.accept();
    side.handshake();
    let offers: Vec<Value> = (0..5).map(|_| side.take_offer()).collect();
    // Five tasks of ~3.9 MB results, and from now on the broker reads nothing.
    for (n, offer) in offers.iter().enumerate() {
        side.send(json!({"type": "broker:taskofferaccept", "taskId": format!("t{n}"), "offerId": offer["offerId"]}));
        side.send_settings(
            &format!("t{n}"),
            all_items("return 'x' * 3_900_000", json!([])),
        );
    }
    let line = runner.wait_for_log("Lost connection to broker");
    assert!(line.contains("buffer"), "{line}");
    let rss_kib: u64 = std::fs::read_to_string(format!("/proc/{}/status", runner.pid()))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap();
    assert!(rss_kib < 64 * 1024, "runner peak RSS {rss_kib} KiB");
}

#[test]
fn with_network_isolation_a_task_cannot_reach_even_loopback() {
    if !nix::unistd::geteuid().is_root() {
        return; // Network namespaces need the runner to start as root.
    }
    let (broker, runner, mut side) =
        registered_runner(&with_os(&[("N8N_RUNNERS_TASK_NETWORK_ISOLATION", "true")]));
    let code = format!(
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {}), timeout=2)\n    return [{{'connected': True}}]\nexcept OSError as e:\n    return [{{'connected': False}}]",
        broker.port
    );
    let outcome = side.run_task("net", all_items(&code, json!([])));
    assert_eq!(outcome.result(), &json!([{"connected": false}]));
    assert_still_healthy(&runner, &mut side);
}

#[test]
fn code_nested_100000_deep_in_any_form_is_answered_and_other_tasks_carry_on() {
    let (_b, runner, mut side) = registered_runner(&[
        ("N8N_RUNNERS_MAX_CONCURRENCY", "2"),
        ("N8N_RUNNERS_STDLIB_ALLOW", "time"),
    ]);
    // A task in flight on the other worker the whole time. The deep ones take about 4 s on a quiet
    // machine but took 11.8 s on a busy one, so the bystander outlasts them with a wide margin
    // (its answer in the middle of theirs would fail `collect`).
    let bystander = Duration::from_secs(30);
    side.accept_task("bystander");
    side.send_settings(
        "bystander",
        all_items(
            &format!(
                "import time\ntime.sleep({})\nreturn 'still here'",
                bystander.as_secs()
            ),
            json!([]),
        ),
    );
    let all_started = Instant::now();
    for (name, form) in n8n_python_runner::fuzz_support::nesting_forms() {
        for depth in [3_500, 100_000] {
            let started = Instant::now();
            let outcome = side.run_task(
                &format!("{name}-{depth}"),
                all_items(&form(depth), json!([])),
            );
            let message = &outcome.error()["message"];
            eprintln!("{name} × {depth}: {message} ({:?})", started.elapsed());
        }
    }
    eprintln!("all deep tasks answered in {:?}", all_started.elapsed());
    // `collect` waits 20 s at most: start it shortly before the bystander is due.
    std::thread::sleep(
        bystander
            .saturating_sub(Duration::from_secs(2))
            .saturating_sub(all_started.elapsed()),
    );
    assert_eq!(side.collect("bystander").result(), &json!("still here"));
    assert_still_healthy(&runner, &mut side);
}

#[test]
fn exec_answers_code_nested_100000_deep_with_an_error() {
    let dir = std::env::temp_dir().join(format!("n8n-nesting-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, form) in n8n_python_runner::fuzz_support::nesting_forms() {
        let file = dir.join("deep.py");
        std::fs::write(&file, form(100_000)).unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_n8n-python-runner"))
            .args(["exec", file.to_str().unwrap()])
            .env("N8N_RUNNERS_PYTHON", python())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains("Error"), "{name}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
