//! Throughput and latency of the runner under a broker that accepts every offer at once.
//!
//! `cargo bench --bench throughput` starts the release binary against a load broker (the test
//! broker of `tests/common`, a real WebSocket on 127.0.0.1), keeps every slot busy with new tasks
//! and reports tasks/s, p50/p99 latency (accept -> done) and CPU per task of the runner's whole
//! process tree (runner + forkserver + reaped task children, from /proc). One table row and one
//! JSON line per scenario.
//!
//! Options (after `--`): `--tasks N` (per scenario, default 400), `--concurrency N` (default 2).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{BrokerSide, Runner, TestBroker};
use serde_json::{json, Value};

struct Scenario {
    name: &'static str,
    code: &'static str,
    mode: &'static str,
    items: Value,
}

fn scenarios() -> Vec<Scenario> {
    let thousand: Vec<Value> = (0..1000)
        .map(|n| json!({"json": {"id": n, "name": format!("item {n}"), "value": n * 3}}))
        .collect();
    vec![
        Scenario {
            name: "trivial",
            code: "return [{'json': {'ok': True}}]",
            mode: "runOnceForAllItems",
            items: json!([{"json": {}}]),
        },
        Scenario {
            name: "1000 items, all-items",
            code: "return [{'json': {**i['json'], 'seen': True}} for i in _items]",
            mode: "runOnceForAllItems",
            items: Value::Array(thousand.clone()),
        },
        Scenario {
            name: "1000 items, per-item",
            code: "return {'id': _item['json']['id'], 'seen': True}",
            mode: "runOnceForEachItem",
            items: Value::Array(thousand),
        },
        Scenario {
            name: "50 prints",
            code: "for i in range(50):\n    print('line', i)\nreturn [{'json': {'ok': True}}]",
            mode: "runOnceForAllItems",
            items: json!([{"json": {}}]),
        },
    ]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let option = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let tasks = option("--tasks", 400);
    let concurrency = option("--concurrency", 2);

    println!(
        "{:<24} {:>8} {:>9} {:>9} {:>12} {:>7}",
        "scenario", "tasks/s", "p50 ms", "p99 ms", "CPU ms/task", "errors"
    );
    for scenario in scenarios() {
        let row = run(&scenario, tasks, concurrency);
        println!(
            "{:<24} {:>8.1} {:>9.2} {:>9.2} {:>12.2} {:>7}",
            scenario.name,
            row.tasks_per_sec,
            row.p50_ms,
            row.p99_ms,
            row.cpu_ms_per_task,
            row.errors
        );
        println!(
            "{}",
            json!({"scenario": scenario.name, "concurrency": concurrency, "tasks": tasks,
                   "tasks_per_sec": row.tasks_per_sec, "p50_ms": row.p50_ms, "p99_ms": row.p99_ms,
                   "cpu_ms_per_task": row.cpu_ms_per_task, "errors": row.errors})
        );
    }
}

struct Row {
    tasks_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_ms_per_task: f64,
    errors: usize,
}

fn run(scenario: &Scenario, tasks: usize, concurrency: usize) -> Row {
    let broker = TestBroker::start();
    let runner = Runner::start(
        &broker,
        &[("N8N_RUNNERS_MAX_CONCURRENCY", &concurrency.to_string())],
    );
    let mut side = broker.accept();
    side.handshake();
    let settings =
        |code: &str| json!({"code": code, "nodeMode": scenario.mode, "items": scenario.items});
    // Warm-up: one task through every slot.
    drive(&mut side, concurrency, &settings(scenario.code));
    let cpu_before = tree_cpu_ms(runner.pid());
    let start = Instant::now();
    let (latencies, errors) = drive(&mut side, tasks, &settings(scenario.code));
    let elapsed = start.elapsed();
    let cpu = tree_cpu_ms(runner.pid()) - cpu_before;
    let mut sorted = latencies;
    sorted.sort();
    let pick = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    Row {
        tasks_per_sec: tasks as f64 / elapsed.as_secs_f64(),
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        cpu_ms_per_task: cpu / tasks as f64,
        errors,
    }
}

/// Accepts every offer with a new task until `count` tasks are answered; returns each task's
/// accept -> done latency and the number of failed tasks.
fn drive(side: &mut BrokerSide, count: usize, settings: &Value) -> (Vec<Duration>, usize) {
    let mut started = std::collections::HashMap::new();
    let mut latencies = Vec::with_capacity(count);
    let mut errors = 0;
    let mut issued = 0;
    while latencies.len() < count {
        let message = match side.offers.pop_front() {
            Some(offer) => offer,
            None => side
                .try_recv(Duration::from_secs(30))
                .expect("the runner went quiet"),
        };
        match message["type"].as_str().unwrap_or("") {
            "runner:taskoffer" if issued < count => {
                issued += 1;
                let task_id = format!("task{issued}");
                started.insert(task_id.clone(), Instant::now());
                side.send(json!({"type": "broker:taskofferaccept", "taskId": task_id,
                                 "offerId": message["offerId"]}));
            }
            "runner:taskaccepted" => {
                let task_id = message["taskId"].as_str().unwrap();
                side.send(json!({"type": "broker:tasksettings", "taskId": task_id,
                                 "settings": settings}));
            }
            "runner:taskdone" | "runner:taskerror" => {
                if message["type"] == "runner:taskerror" {
                    errors += 1;
                }
                let task_id = message["taskId"].as_str().unwrap();
                latencies.push(started.remove(task_id).unwrap().elapsed());
            }
            "runner:taskrejected" => panic!("task rejected: {message}"),
            _ => {}
        }
    }
    (latencies, errors)
}

/// CPU time (user + system) of a process and its descendants, including reaped children, in ms.
fn tree_cpu_ms(pid: u32) -> f64 {
    let ticks_per_sec = 100.0; // USER_HZ on Linux
    let mut total = 0.0;
    let mut stack = vec![pid];
    while let Some(pid) = stack.pop() {
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // Fields after the command name (which may contain spaces) start at field 3.
            let rest = &stat[stat.rfind(')').unwrap() + 2..];
            let fields: Vec<f64> = rest
                .split_whitespace()
                .map(|f| f.parse().unwrap_or(0.0))
                .collect();
            // utime, stime, cutime, cstime are fields 14..=17, i.e. 11..=14 here.
            total += fields[11] + fields[12] + fields[13] + fields[14];
        }
        stack.extend(common::children_of(pid));
    }
    total / ticks_per_sec * 1000.0
}
