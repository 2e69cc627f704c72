//! What an operator relies on: health and metrics, idle exit, graceful shutdown, drain,
//! reconnecting with fresh grant tokens, `exec` and the command line. Real binary, real sockets.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::Signal;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_n8n-python-runner");

/// `GET path` on the health server: (status code, body).
fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

fn with_health(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut env = vec![
        ("N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED", "true"),
        ("N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT", "0"),
    ];
    env.extend_from_slice(extra);
    env
}

#[test]
fn the_health_server_answers_ok_on_any_path() {
    let (_b, runner, _side) = registered_runner(&with_health(&[]));
    let port = runner.health_port();
    for path in ["/", "/healthz", "/anything"] {
        assert_eq!(http_get(port, path), (200, "OK".to_owned()), "{path}");
    }
}

#[test]
fn the_health_server_answers_while_every_worker_is_busy() {
    let (_b, runner, mut side) =
        registered_runner(&with_health(&[("N8N_RUNNERS_MAX_CONCURRENCY", "1")]));
    let port = runner.health_port();
    side.accept_task("busy");
    side.send_settings("busy", all_items("while True:\n    pass", json!([])));
    runner.wait_for_log("Received task busy");
    assert_eq!(http_get(port, "/healthz"), (200, "OK".to_owned()));
}

#[test]
fn healthz_turns_unhealthy_when_the_broker_connection_stays_down() {
    let (_b, runner, side) = registered_runner(&with_health(&[(
        "N8N_RUNNERS_HEALTH_CHECK_BROKER_TIMEOUT",
        "1",
    )]));
    let port = runner.health_port();
    assert_eq!(http_get(port, "/healthz").0, 200);
    side.drop_connection();
    runner.wait_for_log("Lost connection to broker");
    let deadline = Instant::now() + WAIT;
    while http_get(port, "/healthz").0 != 503 {
        assert!(Instant::now() < deadline, "/healthz never turned 503");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The plain liveness answer stays n8n's.
    assert_eq!(http_get(port, "/").0, 200);
}

#[test]
fn metrics_count_tasks_and_time_them() {
    let (_b, runner, mut side) = registered_runner(&with_health(&[]));
    let port = runner.health_port();
    side.run_task("ok", all_items("return 1", json!([])));
    side.run_task("bad", all_items("raise ValueError('x')", json!([])));
    let (status, body) = http_get(port, "/metrics");
    assert_eq!(status, 200);
    for line in [
        "n8n_runner_tasks_accepted_total 2",
        "n8n_runner_tasks_succeeded_total 1",
        "n8n_runner_tasks_failed_total 1",
        "n8n_runner_broker_connected 1",
        "n8n_runner_task_duration_seconds_count 2",
    ] {
        assert!(
            body.lines().any(|l| l == line),
            "missing {line:?} in\n{body}"
        );
    }
    assert!(body.contains("n8n_runner_task_duration_seconds_bucket{le=\"+Inf\"} 2"));
}

#[test]
fn a_busy_health_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let broker = TestBroker::start();
    let mut runner = Runner::start(
        &broker,
        &[
            ("N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED", "true"),
            ("N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT", &port),
        ],
    );
    assert_eq!(runner.wait_exit(), 1);
    runner.wait_for_log(&format!(
        "Failed to start health check server: Port {port} is already in use"
    ));
}

#[test]
fn an_idle_runner_exits_0_after_the_auto_shutdown_timeout() {
    let (_b, mut runner, mut side) =
        registered_runner(&[("N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT", "1")]);
    assert!(
        side.wait_closed_by_runner(WAIT),
        "the runner did not close the connection"
    );
    assert_eq!(runner.wait_exit(), 0);
    runner.wait_for_log("Reached idle timeout, starting shutdown...");
}

#[test]
fn the_idle_timer_waits_for_running_tasks() {
    let (_b, mut runner, mut side) = registered_runner(&[
        ("N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT", "1"),
        ("N8N_RUNNERS_STDLIB_ALLOW", "time"),
    ]);
    let outcome = side.run_task(
        "t",
        all_items("import time\ntime.sleep(1.5)\nreturn 1", json!([])),
    );
    assert_eq!(outcome.result(), &json!(1));
    assert_eq!(runner.wait_exit(), 0);
}

#[test]
fn sigterm_lets_a_short_task_deliver_its_result() {
    let (_b, mut runner, mut side) = registered_runner(&[("N8N_RUNNERS_STDLIB_ALLOW", "time")]);
    side.accept_task("t");
    side.send_settings(
        "t",
        all_items("import time\ntime.sleep(0.5)\nreturn 'done'", json!([])),
    );
    runner.wait_for_log("Received task t");
    runner.signal(Signal::SIGTERM);
    assert_eq!(side.collect("t").result(), &json!("done"));
    assert!(side.wait_closed_by_runner(WAIT));
    assert_eq!(runner.wait_exit(), 0);
    runner.wait_for_log("Runner stopped");
}

#[test]
fn sigterm_stops_a_task_that_outlives_the_grace_period_within_the_budget() {
    let (_b, mut runner, mut side) =
        registered_runner(&[("N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT", "2")]);
    side.accept_task("long");
    side.send_settings("long", all_items("while True:\n    pass", json!([])));
    runner.wait_for_log("Received task long");
    let signalled = Instant::now();
    runner.signal(Signal::SIGTERM);
    assert_eq!(
        side.collect("long").error(),
        &json!({"message": "Task was cancelled"})
    );
    assert!(side.wait_closed_by_runner(WAIT));
    assert_eq!(runner.wait_exit(), 0);
    // The budget is 2 s; a loose bound shows it is not unbounded (n8n's can hang).
    assert!(
        signalled.elapsed() < Duration::from_secs(6),
        "{:?}",
        signalled.elapsed()
    );
}

#[test]
fn sigterm_answers_a_task_still_waiting_for_its_settings() {
    let (_b, mut runner, mut side) =
        registered_runner(&[("N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT", "1")]);
    side.accept_task("waiting");
    runner.signal(Signal::SIGTERM);
    assert_eq!(
        side.collect("waiting").error(),
        &json!({"message": "Task was cancelled"})
    );
    assert_eq!(runner.wait_exit(), 0);
}

#[test]
fn drain_stops_new_offers_but_running_tasks_finish() {
    let (_b, runner, mut side) = registered_runner(&[
        ("N8N_RUNNERS_MAX_CONCURRENCY", "1"),
        ("N8N_RUNNERS_STDLIB_ALLOW", "time"),
    ]);
    side.accept_task("t");
    side.send_settings(
        "t",
        all_items("import time\ntime.sleep(0.3)\nreturn 1", json!([])),
    );
    side.send(json!({"type": "broker:drain"}));
    runner.wait_for_log("Received drain signal, stopped accepting new tasks");
    assert_eq!(side.collect("t").result(), &json!(1));
    // The freed slot is not offered again.
    assert_eq!(side.try_recv(Duration::from_millis(800)), None);
}

#[test]
fn a_runner_with_an_auth_token_fetches_a_fresh_grant_token_for_every_connection() {
    let broker = TestBroker::start();
    let runner = Runner::start_with_env(&[
        ("N8N_RUNNERS_AUTH_TOKEN", "shared-secret".to_owned()),
        ("N8N_RUNNERS_TASK_BROKER_URI", broker.uri()),
    ]);
    let (path, auth) = broker.answer_auth(Some("grant-1"));
    assert_eq!(
        (path.as_str(), auth.as_str()),
        ("/runners/auth", "shared-secret")
    );
    let mut side = broker.accept();
    assert_eq!(side.authorization, "Bearer grant-1");
    side.handshake();
    side.drop_connection();
    runner.wait_for_log("Lost connection to broker");
    // The reconnect asks for a new token instead of reusing the spent one.
    let (_, auth) = broker.answer_auth(Some("grant-2"));
    assert_eq!(auth, "shared-secret");
    let mut side = broker.accept();
    assert_eq!(side.authorization, "Bearer grant-2");
    side.handshake();
    assert_eq!(
        side.run_task("t", all_items("return 7", json!([])))
            .result(),
        &json!(7)
    );
}

#[test]
fn a_broker_that_comes_back_has_its_runner_within_a_second() {
    let broker = TestBroker::start();
    let port = broker.port;
    let runner = Runner::start_with_env(&[
        ("N8N_RUNNERS_AUTH_TOKEN", "shared-secret".to_owned()),
        ("N8N_RUNNERS_TASK_BROKER_URI", broker.uri()),
    ]);
    broker.answer_auth(Some("grant-1"));
    let mut side = broker.accept();
    side.handshake();
    // The broker goes away as a stopped worker's does: connection and listener gone.
    side.drop_connection();
    drop(broker);
    runner.wait_for_log("Lost connection to broker");
    runner.wait_for_log("Failed to connect to broker");
    // Long enough for several refused attempts and for the delay to reach its fast ceiling.
    std::thread::sleep(Duration::from_secs(2));
    let broker = TestBroker::start_on(port);
    let back = Instant::now();
    let (_, auth) = broker.answer_auth(Some("grant-2"));
    let lag = back.elapsed();
    assert_eq!(auth, "shared-secret");
    assert!(
        lag < Duration::from_secs(1),
        "the runner came back {lag:?} after the broker"
    );
    let mut side = broker.accept();
    assert_eq!(side.authorization, "Bearer grant-2");
    side.handshake();
    assert_eq!(
        side.run_task("t", all_items("return 5", json!([])))
            .result(),
        &json!(5)
    );
    // The fast attempts after the first failed one are not logged at the default level.
    let failures = runner
        .log()
        .into_iter()
        .filter(|l| l.contains("Failed to connect to broker"))
        .collect::<Vec<_>>();
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(failures[0].ends_with(" - retrying..."), "{failures:#?}");
}

#[test]
fn a_refused_auth_token_stops_the_runner_with_an_error() {
    let broker = TestBroker::start();
    let mut runner = Runner::start_with_env(&[
        ("N8N_RUNNERS_AUTH_TOKEN", "wrong".to_owned()),
        ("N8N_RUNNERS_TASK_BROKER_URI", broker.uri()),
    ]);
    broker.answer_auth(None);
    assert_eq!(runner.wait_exit(), 1);
    runner.wait_for_log("the broker refused N8N_RUNNERS_AUTH_TOKEN");
}

#[test]
fn a_path_prefix_in_the_broker_uri_is_honoured() {
    let broker = TestBroker::start();
    let _runner = Runner::start(
        &broker,
        &[(
            "N8N_RUNNERS_TASK_BROKER_URI",
            &format!("{}/n8n", broker.uri()),
        )],
    );
    let side = broker.accept();
    assert!(
        side.path.starts_with("/n8n/runners/_ws?id="),
        "{}",
        side.path
    );
}

fn exec(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("N8N_RUNNERS_PYTHON", python())
        .output()
        .unwrap()
}

#[test]
fn exec_runs_the_example_snippet_and_prints_items_and_prints() {
    let out = exec(&[
        "exec",
        "examples/snippet.py",
        "--items",
        "examples/items.json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        result[0]["json"],
        json!({"id": 2, "customer": "Alan Turing", "amount": 19.99})
    );
    assert_eq!(result.as_array().unwrap().len(), 3);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "print: '3 orders, 45.99 in total'"
    );
}

#[test]
fn exec_reports_a_failing_snippet_with_status_1() {
    let dir = std::env::temp_dir().join(format!("exec-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.py");
    std::fs::write(&file, "x = 1\nraise ValueError('nope')").unwrap();
    let out = exec(&["exec", file.to_str().unwrap(), "--mode", "each"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("Error: nope"), "{stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");
}

#[test]
fn help_names_the_commands_and_the_variables() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "exec CODE_FILE",
        "healthcheck",
        "N8N_RUNNERS_GRANT_TOKEN",
        "N8N_RUNNERS_AUTH_TOKEN",
        "N8N_RUNNERS_TASK_TIMEOUT",
    ] {
        assert!(help.contains(needle), "{needle}");
    }
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("n8n-python-runner "));
}

#[test]
fn the_healthcheck_command_reflects_the_health_server() {
    let (_b, runner, _side) = registered_runner(&with_health(&[]));
    let port = runner.health_port().to_string();
    let probe = |port: &str| {
        let out = Command::new(BIN)
            .arg("healthcheck")
            .env("N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT", port)
            .output()
            .unwrap();
        eprintln!("healthcheck: {}", String::from_utf8_lossy(&out.stderr));
        out.status.success()
    };
    assert!(probe(&port));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert!(!probe(&closed.to_string()));
}

/// An interpreter the user `nobody` cannot read (pyenv under /root), if this machine has one.
fn python_unreadable_by_nobody() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let home = std::env::var("HOME").ok()?;
    let dir = std::fs::read_dir(format!("{home}/.pyenv/versions")).ok()?;
    let root_mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&home).ok()?.permissions());
    if root_mode & 0o001 != 0 {
        return None; // others can traverse the home directory
    }
    dir.flatten()
        .map(|v| v.path().join("bin/python3"))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
}

#[test]
fn tasks_run_as_uid_0_without_any_capability_when_the_default_user_cannot_read_the_named_python() {
    let Some(python) = python_unreadable_by_nobody() else {
        return;
    };
    let (_b, runner, mut side) = registered_runner(&[
        ("N8N_RUNNERS_PYTHON", &python),
        ("N8N_RUNNERS_STDLIB_ALLOW", "os"),
    ]);
    runner.wait_for_log(
        "Task processes run as uid 0 without capabilities: the task user 'nobody' cannot read",
    );
    let code = "import os\n\
                fd = os.open('/proc/self/status', os.O_RDONLY)\n\
                status = os.read(fd, 65536).decode()\n\
                caps = sorted({l.split()[1] for l in status.splitlines() if l.startswith('Cap')})\n\
                return [{'uid': os.getuid(), 'caps': caps}]";
    assert_eq!(
        side.run_task("t", all_items(code, json!([]))).result(),
        &json!([{"uid": 0, "caps": ["0000000000000000"]}])
    );
}

#[test]
fn an_explicit_task_user_that_cannot_read_python_is_a_configuration_error() {
    let Some(python) = python_unreadable_by_nobody() else {
        return;
    };
    let broker = TestBroker::start();
    let mut runner = Runner::start(
        &broker,
        &[
            ("N8N_RUNNERS_PYTHON", &python),
            ("N8N_RUNNERS_TASK_USER", "nobody"),
        ],
    );
    assert_eq!(runner.wait_exit(), 1);
    runner.wait_for_log("N8N_RUNNERS_TASK_USER: task processes run as 'nobody', which cannot read");
}
