//! The broker protocol as the runner speaks it: connection, handshake, offers, accept/reject,
//! cancellation and malformed input. Real binary, real WebSocket, real python3.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

#[test]
fn connects_with_runner_id_and_bearer_grant_token() {
    let broker = TestBroker::start();
    let _runner = Runner::start(&broker, &[]);
    let side = broker.accept();
    let id = side
        .path
        .strip_prefix("/runners/_ws?id=")
        .expect(&side.path);
    assert_eq!(id.len(), 22);
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(side.authorization, format!("Bearer {TOKEN}"));
}

#[test]
fn answers_info_request_as_the_python_runner() {
    let broker = TestBroker::start();
    let runner = Runner::start(&broker, &[]);
    let mut side = broker.accept();
    let info = side.handshake();
    assert_eq!(
        info,
        json!({"type": "runner:info", "name": "Python Task Runner", "types": ["python"]})
    );
    runner.wait_for_log("Connected to broker");
    runner.wait_for_log("Registered with broker");
}

#[test]
fn sends_no_offers_before_registration() {
    let broker = TestBroker::start();
    let _runner = Runner::start(&broker, &[]);
    let mut side = broker.accept();
    assert_eq!(side.try_recv(Duration::from_millis(600)), None);
}

#[test]
fn offers_one_per_slot_with_valid_for_between_5000_and_5500() {
    let (_broker, _runner, mut side) = registered_runner(&[("N8N_RUNNERS_MAX_CONCURRENCY", "3")]);
    let offers: Vec<_> = (0..3).map(|_| side.take_offer()).collect();
    for offer in &offers {
        assert_eq!(offer["taskType"], "python");
        assert_eq!(offer["offerId"].as_str().unwrap().len(), 22);
        let valid_for = offer["validFor"].as_u64().unwrap();
        assert!((5000..=5500).contains(&valid_for), "validFor {valid_for}");
    }
    // All slots are offered: nothing more until an offer expires (~5 s).
    assert_eq!(side.try_recv(Duration::from_millis(1000)), None);
}

#[test]
fn rejects_an_unknown_offer_as_expired() {
    let (_broker, _runner, mut side) = registered_runner(&[]);
    side.send(json!({"type": "broker:taskofferaccept", "taskId": "t1", "offerId": "nope"}));
    let reply = side.recv();
    assert_eq!(
        reply,
        json!({"type": "runner:taskrejected", "taskId": "t1",
               "reason": "Offer expired - not accepted within validity window"})
    );
}

#[test]
fn rejects_an_offer_accepted_twice() {
    let (_broker, _runner, mut side) = registered_runner(&[]);
    let offer = side.take_offer();
    for (task, expected) in [("t1", "runner:taskaccepted"), ("t2", "runner:taskrejected")] {
        side.send(
            json!({"type": "broker:taskofferaccept", "taskId": task, "offerId": offer["offerId"]}),
        );
        assert_eq!(side.recv()["type"], expected);
    }
}

#[test]
fn offers_a_freed_slot_again_at_once() {
    let (_broker, _runner, mut side) = registered_runner(&[("N8N_RUNNERS_MAX_CONCURRENCY", "1")]);
    let outcome = side.run_task("t1", all_items("return []", json!([])));
    assert_eq!(outcome.result(), &json!([]));
    // The replacement offer follows the reply within far less than the 250 ms tick.
    let start = Instant::now();
    side.take_offer();
    assert!(
        start.elapsed() < Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn cancel_while_waiting_for_settings_frees_the_slot_without_a_reply() {
    let (_broker, runner, mut side) = registered_runner(&[("N8N_RUNNERS_MAX_CONCURRENCY", "1")]);
    side.accept_task("t1");
    side.send(json!({"type": "broker:taskcancel", "taskId": "t1", "reason": "gone"}));
    let next = side.try_recv(WAIT).expect("a new offer");
    assert_eq!(
        next["type"], "runner:taskoffer",
        "no reply to the cancel itself: {next}"
    );
    runner.wait_for_log("Cancelled task t1 (waiting for settings)");
}

#[test]
fn cancel_while_running_always_reports_task_was_cancelled() {
    let (_broker, _runner, mut side) = registered_runner(&[]);
    for n in 0..6 {
        let task = format!("c{n}");
        side.accept_task(&task);
        side.send_settings(&task, all_items("while True:\n    pass", json!([])));
        // Not synchronisation: each round cancels at a different moment (before the fork,
        // while the child starts, while it runs), and every one must answer the same.
        std::thread::sleep(Duration::from_millis(40 * n));
        side.send(json!({"type": "broker:taskcancel", "taskId": task, "reason": "stop"}));
        let outcome = side.collect(&task);
        assert_eq!(outcome.error(), &json!({"message": "Task was cancelled"}));
    }
}

#[test]
fn cancel_of_an_unknown_task_is_ignored() {
    let (_broker, runner, mut side) = registered_runner(&[]);
    side.send(json!({"type": "broker:taskcancel", "taskId": "ghost", "reason": "x"}));
    runner.wait_for_log("Received cancel for unknown task: ghost. Discarding message.");
    assert_eq!(
        side.run_task("t", all_items("return 1", json!([])))
            .result(),
        &json!(1)
    );
}

#[test]
fn malformed_messages_are_dropped_and_the_next_task_still_works() {
    let (_broker, runner, mut side) = registered_runner(&[]);
    side.send_text("this is not json");
    side.send_binary(vec![0xff, 0x00, 0x13]);
    side.send(json!({"type": "broker:nodetypes"}));
    side.send(json!({"no": "type"}));
    side.send(json!({"type": "broker:taskofferaccept", "taskId": "x"}));
    side.send(json!({"type": "broker:taskcancel", "taskId": "x"}));
    side.send(
        json!({"type": "broker:rpcresponse", "callId": "c", "taskId": "t", "status": "success"}),
    );
    side.send(
        json!({"type": "broker:tasksettings", "taskId": "never-accepted",
                     "settings": all_items("return 1", json!([]))}),
    );
    runner.wait_for_log("Error handling message: Unknown message type: broker:nodetypes");
    runner.wait_for_log("Missing field in task cancel message: 'reason'");
    runner.wait_for_log("Failed to find task never-accepted. This is likely an internal error.");
    let outcome = side.run_task("t", all_items("return [{'ok': True}]", json!([])));
    assert_eq!(outcome.result(), &json!([{"ok": true}]));
}

#[test]
fn malformed_settings_of_an_accepted_task_are_answered_and_free_the_slot() {
    let (_broker, _runner, mut side) = registered_runner(&[("N8N_RUNNERS_MAX_CONCURRENCY", "1")]);
    side.accept_task("bad");
    side.send_settings(
        "bad",
        json!({"code": "return 1", "nodeMode": "sideways", "items": []}),
    );
    let outcome = side.collect("bad");
    assert_eq!(outcome.error()["message"], "Unknown nodeMode: sideways");
    // The slot is free again: the single slot can take the next task.
    let outcome = side.run_task("good", all_items("return 2", json!([])));
    assert_eq!(outcome.result(), &json!(2));
}

#[test]
fn duplicate_settings_are_discarded() {
    let (_broker, runner, mut side) = registered_runner(&[("N8N_RUNNERS_STDLIB_ALLOW", "time")]);
    side.accept_task("t");
    // Still running when the duplicate arrives.
    side.send_settings(
        "t",
        all_items("import time\ntime.sleep(0.5)\nreturn 1", json!([])),
    );
    side.send_settings("t", all_items("return 2", json!([])));
    assert_eq!(side.collect("t").result(), &json!(1));
    runner.wait_for_log("Received settings for task but it is already TaskStatus.RUNNING");
    assert_eq!(side.try_recv_non_offer(Duration::from_millis(500)), None);
}

#[test]
fn tasks_run_in_parallel_up_to_max_concurrency() {
    let (_broker, _runner, mut side) = registered_runner(&[
        ("N8N_RUNNERS_MAX_CONCURRENCY", "4"),
        ("N8N_RUNNERS_STDLIB_ALLOW", "time"),
    ]);
    let code = "import time\ntime.sleep(1)\nreturn [{'done': True}]";
    let start = Instant::now();
    for n in 0..4 {
        side.accept_task(&format!("p{n}"));
    }
    for n in 0..4 {
        side.send_settings(&format!("p{n}"), all_items(code, json!([])));
    }
    let mut done = 0;
    while done < 4 {
        let message = side.recv();
        assert_eq!(message["type"], "runner:taskdone", "{message}");
        done += 1;
    }
    // Four one-second tasks one after another would take four seconds.
    assert!(
        start.elapsed() < Duration::from_millis(2500),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_config_error_names_the_variable_and_exits_1() {
    let broker = TestBroker::start();
    let mut runner = Runner::start(&broker, &[("N8N_RUNNERS_TASK_TIMEOUT", "0")]);
    assert_eq!(runner.wait_exit(), 1);
    let line = runner.wait_for_log("Task timeout must be positive, got 0");
    assert!(line.contains("N8N_RUNNERS_TASK_TIMEOUT"), "{line}");
}

#[test]
fn a_missing_grant_token_exits_1() {
    let mut runner = Runner::start_with_env(&[]);
    assert_eq!(runner.wait_exit(), 1);
    runner.wait_for_log("Environment variable N8N_RUNNERS_GRANT_TOKEN is required");
}

#[test]
fn a_refused_grant_token_stops_the_runner_with_an_error() {
    let broker = TestBroker::start();
    let mut runner = Runner::start(&broker, &[]);
    broker.refuse("403 Forbidden");
    assert_ne!(runner.wait_exit(), 0);
    runner.wait_for_log("Authentication failed with status 403");
    runner.wait_for_log("N8N_RUNNERS_GRANT_TOKEN");
}

#[test]
fn other_connection_failures_are_retried() {
    let broker = TestBroker::start();
    let runner = Runner::start(&broker, &[]);
    broker.refuse("401 Unauthorized");
    runner.wait_for_log("Failed to connect to broker");
    // The retry comes 5 s later and succeeds.
    let mut side = broker.accept();
    side.handshake();
    assert_eq!(
        side.run_task("t", all_items("return 3", json!([])))
            .result(),
        &json!(3)
    );
}

#[test]
fn a_killed_forkserver_fails_only_the_task_in_flight() {
    let (_broker, runner, mut side) = registered_runner(&[]);
    side.accept_task("inflight");
    side.send_settings("inflight", all_items("while True:\n    pass", json!([])));
    let forkserver = children_of(runner.pid());
    assert_eq!(forkserver.len(), 1, "one forkserver: {forkserver:?}");
    wait_until("the task's child is running", || {
        !task_processes(forkserver[0]).is_empty()
    });
    let task_process = task_processes(forkserver[0])[0];
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(forkserver[0] as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let outcome = side.collect("inflight");
    assert!(
        outcome.error()["message"]
            .as_str()
            .unwrap()
            .contains("forkserver"),
        "{:#}",
        outcome.last
    );
    // The orphaned task process must not run on: it dies with its forkserver.
    wait_until("the orphaned task process is gone", || {
        std::fs::read_to_string(format!("/proc/{task_process}/stat")).map_or(true, |stat| {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            state.starts_with('Z')
        })
    });
    let outcome = side.run_task("after", all_items("return 'fine'", json!([])));
    assert_eq!(
        outcome.last["data"]["result"],
        json!("fine"),
        "{:#}\n{}",
        outcome.last,
        runner.log().join("\n")
    );
    runner.wait_for_log("Python forkserver restarted");
}

#[test]
fn sigterm_stops_the_runner_with_exit_0() {
    let (_broker, mut runner, _side) = registered_runner(&[]);
    runner.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(runner.wait_exit(), 0);
    runner.wait_for_log("Received SIGTERM signal, starting shutdown...");
}

#[test]
fn many_tasks_leave_no_zombie_and_no_open_fd_behind() {
    let (_broker, runner, mut side) = registered_runner(&[
        ("N8N_RUNNERS_TASK_TIMEOUT", "1"),
        ("N8N_RUNNERS_STDLIB_ALLOW", "os"),
    ]);
    side.run_task("warm-up", all_items("return 1", json!([])));
    let forkserver = children_of(runner.pid())[0];
    let fds_before = open_fds(runner.pid());
    let codes = [
        "return [{'ok': True}]",
        "raise ValueError('no')",
        "import os\nos._exit(3)",
        "import os\nos.kill(os.getpid(), 9)",
        "return [{'big': 'x' * 1000000}]",
        "if (",
        "print('hi')\nreturn []",
    ];
    for round in 0..4 {
        for (n, code) in codes.iter().enumerate() {
            side.run_task(&format!("r{round}-{n}"), all_items(code, json!([])));
        }
    }
    side.run_task("timeout", all_items("while True:\n    pass", json!([])));
    side.accept_task("cancelled");
    side.send_settings("cancelled", all_items("while True:\n    pass", json!([])));
    wait_until("the task's child is running", || {
        !task_processes(forkserver).is_empty()
    });
    side.send(json!({"type": "broker:taskcancel", "taskId": "cancelled", "reason": "x"}));
    side.collect("cancelled");

    wait_until("no task child is left (not even a zombie)", || {
        task_processes(forkserver).is_empty()
    });
    wait_until("the runner holds no more fds than before", || {
        open_fds(runner.pid()) <= fds_before
    });
    assert_eq!(
        children_of(runner.pid()),
        vec![forkserver],
        "still the same forkserver"
    );
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn the_forkserver_shares_no_socket_or_pipe_with_the_runner() {
    let (_broker, runner, _side) = registered_runner(&[]);
    let forkserver = children_of(runner.pid())[0];
    let targets = |pid: u32| -> Vec<String> {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().unwrap() > 2)
            .filter_map(|entry| std::fs::read_link(entry.path()).ok())
            .map(|target| target.display().to_string())
            .filter(|target| target.starts_with("socket:") || target.starts_with("pipe:"))
            .collect()
    };
    let ours = targets(runner.pid());
    let shared: Vec<_> = targets(forkserver)
        .into_iter()
        .filter(|t| ours.contains(t))
        .collect();
    assert!(shared.is_empty(), "shared with the runner: {shared:?}");
}

#[test]
fn the_forkserver_command_line_is_one_short_line() {
    let (_broker, runner, _side) = registered_runner(&[]);
    let forkserver = children_of(runner.pid())[0];
    let cmdline = std::fs::read(format!("/proc/{forkserver}/cmdline")).unwrap();
    let shown = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(
        cmdline.len() < 300,
        "ps shows {} bytes: {shown}",
        cmdline.len()
    );
    assert!(!shown.contains('\n'), "{shown}");
}
