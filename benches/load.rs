//! The benchmark suite: a load broker drives a runner and measures it.
//!
//! `cargo bench --bench load` starts the release binary against a load broker (the test broker of
//! `tests/common`: a real WebSocket on 127.0.0.1) that accepts every offer at once with a new task
//! and records per-task latency (accept -> done), throughput, errors, the CPU time of the runner's
//! whole process tree (runner, forkserver and reaped task children, from /proc) and its RSS.
//! One table row and one JSON line per scenario.
//!
//! Options after `--`:
//! - `--runner "CMD ARGS"`: drive another runner (e.g. n8n's, for a side-by-side run); it gets the
//!   broker URI, a grant token and the concurrency in the usual `N8N_RUNNERS_*` variables;
//! - `--tasks N` (per scenario, default 400), `--concurrency N` (default 2);
//! - `--only NAME` to run scenarios whose name contains NAME;
//! - `--fake-runner`: used internally: a do-nothing runner that answers every task at once, to
//!   measure the load broker's own ceiling.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Runner, TestBroker};
use serde_json::{json, Value};
use support::{drive, status_kib, tree_cpu_ms, tree_rss_kib, Head, RssSampler};

struct Options {
    runner: Vec<String>,
    tasks: usize,
    concurrency: usize,
    only: Option<String>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--fake-runner") {
        return fake_runner();
    }
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let options = Options {
        runner: value("--runner")
            .map(|cmd| cmd.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_else(|| vec![env!("CARGO_BIN_EXE_n8n-python-runner").to_owned()]),
        tasks: value("--tasks").and_then(|v| v.parse().ok()).unwrap_or(400),
        concurrency: value("--concurrency")
            .and_then(|v| v.parse().ok())
            .unwrap_or(2),
        only: value("--only"),
    };
    println!("runner: {}", options.runner.join(" "));
    println!(
        "{:<30} {:>9} {:>8} {:>8} {:>10} {:>10} {:>6}",
        "scenario", "tasks/s", "p50 ms", "p99 ms", "CPU ms/t", "peak MiB", "errors"
    );
    let wanted = |name: &str| {
        options
            .only
            .as_deref()
            .is_none_or(|only| name.contains(only))
    };
    for scenario in scenarios() {
        if !wanted(scenario.name) {
            continue;
        }
        let concurrencies = if scenario.scaling {
            vec![1, 2]
        } else {
            vec![options.concurrency]
        };
        for concurrency in concurrencies {
            let tasks = scenario.tasks.unwrap_or(options.tasks);
            let row = run_scenario(&options.runner, &scenario, tasks, concurrency);
            report(
                &format!("{} (c={concurrency})", scenario.name),
                &row,
                tasks,
                concurrency,
            );
        }
    }
    if wanted("startup") {
        startup(&options.runner);
    }
    if wanted("idle") {
        idle_memory(&options.runner);
    }
    if wanted("broker ceiling") {
        let me = std::env::current_exe().unwrap();
        let fake = vec![
            me.to_string_lossy().into_owned(),
            "--fake-runner".to_owned(),
        ];
        let row = run_scenario(&fake, &scenarios()[0], 20_000, options.concurrency);
        report(
            "broker ceiling (fake runner)",
            &row,
            20_000,
            options.concurrency,
        );
    }
}

struct Scenario {
    name: &'static str,
    code: &'static str,
    mode: &'static str,
    items: Value,
    env: Vec<(&'static str, &'static str)>,
    /// Run at concurrency 1 and 2 to show scaling.
    scaling: bool,
    /// A fixed task count instead of `--tasks`.
    tasks: Option<usize>,
}

fn scenarios() -> Vec<Scenario> {
    let thousand: Vec<Value> = (0..1000)
        .map(|n| json!({"json": {"id": n, "name": format!("item {n}"), "value": n * 3}}))
        .collect();
    // ~10 MB: 10,000 items of ~1 KB.
    let ten_mb: Vec<Value> = (0..10_000)
        .map(|n| json!({"json": {"id": n, "text": "x".repeat(1000)}}))
        .collect();
    let base = |name, code, mode, items| Scenario {
        name,
        code,
        mode,
        items,
        env: Vec::new(),
        scaling: false,
        tasks: None,
    };
    vec![
        base(
            "trivial",
            "return [{'json': {'ok': True}}]",
            "runOnceForAllItems",
            json!([{"json": {}}]),
        ),
        base(
            "1000 items, all-items",
            "return [{'json': {**i['json'], 'seen': True}} for i in _items]",
            "runOnceForAllItems",
            Value::Array(thousand.clone()),
        ),
        base(
            "1000 items, per-item",
            "return {'id': _item['json']['id'], 'seen': True}",
            "runOnceForEachItem",
            Value::Array(thousand),
        ),
        Scenario {
            tasks: Some(60),
            ..base("10 MB through", "return _items", "runOnceForAllItems", Value::Array(ten_mb))
        },
        base(
            "50 prints",
            "for i in range(50):\n    print('line', i)\nreturn [{'json': {'ok': True}}]",
            "runOnceForAllItems",
            json!([{"json": {}}]),
        ),
        Scenario {
            env: vec![("N8N_RUNNERS_STDLIB_ALLOW", "time")],
            scaling: true,
            tasks: Some(100),
            ..base(
                "50 ms CPU",
                "import time\nend = time.process_time() + 0.05\nwhile time.process_time() < end:\n    pass\nreturn []",
                "runOnceForAllItems",
                json!([]),
            )
        },
    ]
}

struct Row {
    tasks_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_ms_per_task: f64,
    peak_mib: f64,
    rust_peak_mib: f64,
    errors: usize,
}

fn report(name: &str, row: &Row, tasks: usize, concurrency: usize) {
    println!(
        "{:<30} {:>9.1} {:>8.2} {:>8.2} {:>10.2} {:>10.1} {:>6}",
        name,
        row.tasks_per_sec,
        row.p50_ms,
        row.p99_ms,
        row.cpu_ms_per_task,
        row.peak_mib,
        row.errors
    );
    println!(
        "{}",
        json!({"scenario": name, "concurrency": concurrency, "tasks": tasks,
               "tasks_per_sec": row.tasks_per_sec, "p50_ms": row.p50_ms, "p99_ms": row.p99_ms,
               "cpu_ms_per_task": row.cpu_ms_per_task, "tree_peak_rss_mib": row.peak_mib,
               "runner_process_peak_rss_mib": row.rust_peak_mib, "errors": row.errors})
    );
}

fn start_runner(
    argv: &[String],
    broker: &TestBroker,
    concurrency: usize,
    env: &[(&str, &str)],
) -> Runner {
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut vars = vec![
        ("N8N_RUNNERS_GRANT_TOKEN", common::TOKEN.to_owned()),
        ("N8N_RUNNERS_TASK_BROKER_URI", broker.uri()),
        ("N8N_RUNNERS_MAX_CONCURRENCY", concurrency.to_string()),
        ("HOME", std::env::var("HOME").unwrap_or_default()),
    ];
    vars.extend(env.iter().map(|(k, v)| (*k, v.to_string())));
    Runner::start_command(&argv, &vars)
}

fn run_scenario(argv: &[String], scenario: &Scenario, tasks: usize, concurrency: usize) -> Row {
    let broker = TestBroker::start();
    let runner = start_runner(argv, &broker, concurrency, &scenario.env);
    let mut side = broker.accept();
    side.handshake();
    side.set_read_timeout(Duration::from_secs(60));
    let settings =
        json!({"code": scenario.code, "nodeMode": scenario.mode, "items": scenario.items})
            .to_string();
    // Warm-up: one task through every slot.
    drive(&mut side, concurrency, &settings);
    let sampler = RssSampler::start(runner.pid());
    let cpu_before = tree_cpu_ms(runner.pid());
    let start = Instant::now();
    let (mut latencies, errors) = drive(&mut side, tasks, &settings);
    let elapsed = start.elapsed();
    let cpu = tree_cpu_ms(runner.pid()) - cpu_before;
    let peak_kib = sampler.stop();
    latencies.sort();
    let pick =
        |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    Row {
        tasks_per_sec: tasks as f64 / elapsed.as_secs_f64(),
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        cpu_ms_per_task: cpu / tasks as f64,
        peak_mib: peak_kib as f64 / 1024.0,
        rust_peak_mib: status_kib(runner.pid(), "VmHWM:") as f64 / 1024.0,
        errors,
    }
}

/// Start -> registered and start -> first task done, median of 5 starts.
fn startup(argv: &[String]) {
    let (mut registered, mut first_done) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let broker = TestBroker::start();
        let start = Instant::now();
        let _runner = start_runner(argv, &broker, 2, &[]);
        let mut side = broker.accept();
        side.handshake();
        registered.push(start.elapsed());
        let settings = json!({"code": "return [{'json': {'ok': True}}]", "nodeMode": "runOnceForAllItems", "items": [{"json": {}}]});
        side.run_task("first", settings);
        first_done.push(start.elapsed());
    }
    registered.sort();
    first_done.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{:<30} start->registered {:.1} ms, start->first task done {:.1} ms (median of 5)",
        "startup",
        ms(registered[2]),
        ms(first_done[2])
    );
    println!(
        "{}",
        json!({"scenario": "startup", "registered_ms": ms(registered[2]), "first_task_done_ms": ms(first_done[2])})
    );
}

/// RSS of the idle process tree, after one task.
fn idle_memory(argv: &[String]) {
    let broker = TestBroker::start();
    let runner = start_runner(argv, &broker, 2, &[]);
    let mut side = broker.accept();
    side.handshake();
    side.run_task(
        "t",
        json!({"code": "return []", "nodeMode": "runOnceForAllItems", "items": []}),
    );
    std::thread::sleep(Duration::from_secs(1));
    let tree = tree_rss_kib(runner.pid()) as f64 / 1024.0;
    let own = status_kib(runner.pid(), "VmRSS:") as f64 / 1024.0;
    println!(
        "{:<30} tree {tree:.1} MiB, runner process alone {own:.1} MiB",
        "idle RSS"
    );
    println!(
        "{}",
        json!({"scenario": "idle", "tree_rss_mib": tree, "runner_process_rss_mib": own})
    );
}

/// A runner that does nothing: answers every task at once. Measures the broker's ceiling.
fn fake_runner() {
    let uri = std::env::var("N8N_RUNNERS_TASK_BROKER_URI").unwrap();
    let host_port = uri.trim_start_matches("http://").to_owned();
    let concurrency: usize = std::env::var("N8N_RUNNERS_MAX_CONCURRENCY")
        .unwrap()
        .parse()
        .unwrap();
    let stream = TcpStream::connect(&host_port).unwrap();
    stream.set_nodelay(true).unwrap();
    let url = format!("ws://{host_port}/runners/_ws?id=fake");
    let (mut ws, _) = tungstenite::client(url.as_str(), stream).unwrap();
    let mut offer_n = 0u64;
    let mut offer = |ws: &mut tungstenite::WebSocket<TcpStream>| {
        offer_n += 1;
        let text = format!(
            r#"{{"type":"runner:taskoffer","offerId":"o{offer_n}","taskType":"python","validFor":5000}}"#
        );
        ws.send(tungstenite::Message::text(text)).unwrap();
    };
    loop {
        let Ok(message) = ws.read() else { return };
        let tungstenite::Message::Text(text) = message else {
            continue;
        };
        let head: Head = serde_json::from_str(&text).unwrap();
        match head.kind {
            "broker:inforequest" => ws
                .send(tungstenite::Message::text(
                    r#"{"type":"runner:info","name":"Python Task Runner","types":["python"]}"#,
                ))
                .unwrap(),
            "broker:runnerregistered" => (0..concurrency).for_each(|_| offer(&mut ws)),
            "broker:taskofferaccept" => {
                let task_id = head.task_id.unwrap();
                ws.send(tungstenite::Message::text(format!(
                    r#"{{"type":"runner:taskaccepted","taskId":"{task_id}"}}"#
                )))
                .unwrap();
            }
            "broker:tasksettings" => {
                let task_id = head.task_id.unwrap();
                ws.send(tungstenite::Message::text(format!(
                    r#"{{"type":"runner:taskdone","taskId":"{task_id}","data":{{"result":[{{"json":{{"ok":true}}}}]}}}}"#
                )))
                .unwrap();
                offer(&mut ws);
            }
            _ => {}
        }
    }
}
