//! The benchmark suite: a load broker drives a runner and measures it.
//!
//! `cargo bench --bench load` starts the release binary against a load broker (the test broker of
//! `tests/common`: a real WebSocket on 127.0.0.1) that accepts every offer at once with a new task
//! and records per-task latency (accept -> done), throughput, errors, the CPU time of the runner's
//! whole process tree (runner, forkserver and reaped task children, from /proc) and its RSS.
//! One table row and one JSON line per scenario. The Code-node scenarios (200 orders through the
//! standard library, and through pandas, skipped when the interpreter has no pandas) are followed
//! by their floor: the same code's compute time in a warm interpreter and that interpreter's fork
//! cost, measured without the runner (`benches/support/floor.py`).
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

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Runner, TestBroker};
use serde_json::{json, Value};
use support::{drive, status_kib, tree_cpu_ms, tree_pss_kib, tree_rss_kib, Head, RssSampler};

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
    // The interpreter the runner is given (`start_runner` sets N8N_RUNNERS_PYTHON to it).
    let python = common::python();
    let mut floors = Vec::new();
    for scenario in scenarios() {
        if !wanted(scenario.name) {
            continue;
        }
        if let Some(module) = scenario.needs {
            if !has_module(&python, module) {
                let why = format!("no {module} in {python}");
                println!("{:<30} skipped: {why}", scenario.name);
                println!("{}", json!({"scenario": scenario.name, "skipped": why}));
                continue;
            }
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
        if scenario.floor.is_some() {
            floors.push(scenario);
        }
    }
    for scenario in &floors {
        floor(&python, scenario);
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
    /// A module the runner's interpreter must have, else the scenario is skipped.
    needs: Option<&'static str>,
    /// Measure the floor of this code (see `floor`), with these modules imported first.
    floor: Option<&'static [&'static str]>,
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
        needs: None,
        floor: None,
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
        Scenario {
            env: vec![("N8N_RUNNERS_STDLIB_ALLOW", "json,re,datetime,collections")],
            floor: Some(&["json", "re", "datetime", "collections"]),
            ..base("stdlib node", STDLIB_NODE, "runOnceForAllItems", orders())
        },
        // Every task imports pandas (some 300-700 ms of CPU), hence the small count.
        Scenario {
            env: vec![
                ("N8N_RUNNERS_STDLIB_ALLOW", "*"),
                ("N8N_RUNNERS_EXTERNAL_ALLOW", "*"),
            ],
            tasks: Some(40),
            needs: Some("pandas"),
            floor: Some(&["pandas", "numpy"]),
            ..base("pandas node", PANDAS_NODE, "runOnceForAllItems", orders())
        },
    ]
}

/// A data user's Code node on the standard library: per order, the order number out of the note
/// and the day of an ISO date; per customer, order count and total; a JSON summary at the end.
const STDLIB_NODE: &str = r#"import json
import re
from collections import Counter, defaultdict
from datetime import datetime, timezone

order_ref = re.compile(r'#?(ORD-\d{4}-\d{5})', re.IGNORECASE)
totals = defaultdict(float)
orders = Counter()
by_weekday = Counter()
by_month = defaultdict(float)
unmatched = []
out = []
for item in _items:
    order = item['json']
    created = datetime.fromisoformat(order['created_at'].replace('Z', '+00:00'))
    created = created.astimezone(timezone.utc)
    match = order_ref.search(order['note'])
    if not match:
        unmatched.append(order['id'])
    customer = order['customer'].strip()
    totals[customer] += order['amount']
    orders[customer] += 1
    by_weekday[created.strftime('%A')] += 1
    by_month[created.strftime('%Y-%m')] += order['amount']
    out.append({'json': {
        'id': order['id'],
        'order_number': match.group(1).upper() if match else None,
        'customer': customer,
        'amount': order['amount'],
        'day': created.date().isoformat(),
        'age_days': (datetime(2026, 12, 1, tzinfo=timezone.utc) - created).days,
    }})
summary = {
    'customers': {c: {'orders': orders[c], 'total': round(t, 2)} for c, t in sorted(totals.items())},
    'top_customers': orders.most_common(3),
    'by_weekday': dict(by_weekday),
    'by_month': {m: round(t, 2) for m, t in sorted(by_month.items())},
    'without_order_number': unmatched,
}
out.append({'json': {'summary': json.dumps(summary, sort_keys=True)}})
return out"#;

/// The same orders through pandas: per customer, order count, total, mean and latest order.
const PANDAS_NODE: &str = r#"import pandas as pd

df = pd.DataFrame([item['json'] for item in _items])
df['created_at'] = pd.to_datetime(df['created_at'], utc=True)
stats = (
    df.groupby('customer')
    .agg(orders=('id', 'count'), total=('amount', 'sum'), mean=('amount', 'mean'),
         latest=('created_at', 'max'))
    .reset_index()
    .sort_values('total', ascending=False)
)
stats['total'] = stats['total'].round(2)
stats['mean'] = stats['mean'].round(2)
stats['latest'] = stats['latest'].dt.strftime('%Y-%m-%dT%H:%M:%SZ')
return [{'json': row} for row in stats.to_dict('records')]"#;

/// 200 orders as a shop or CRM would send them: id, customer, amount, an ISO creation time as
/// JavaScript writes it, and a free-text note that usually carries the order number.
fn orders() -> Value {
    const CUSTOMERS: [&str; 14] = [
        "Acme GmbH",
        "Globex Corporation",
        "Initech",
        "Umbrella Retail Ltd",
        "Müller & Söhne KG",
        "Stark Industries",
        "Wayne Enterprises",
        "Hooli",
        "Soylent Foods",
        "Tyrell Corp",
        "Cyberdyne Systems",
        "Wonka Confectionery",
        "Vandelay Industries",
        "Oceanic Airlines",
    ];
    // A fixed pseudo-random sequence (an LCG), so every run sends the same items.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |bound: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % bound
    };
    let orders: Vec<Value> = (0..200u64)
        .map(|n| {
            let id = 10_400 + n;
            // Skewed towards the first customers, as real order books are.
            let customer = CUSTOMERS[(next(14) * next(14) / 13) as usize];
            let cents = 500 + next(60_000) + if next(10) == 0 { 250_000 } else { 0 };
            let day = 1 + n * 60 / 200;
            let (month, day) = if day > 31 { (11, day - 31) } else { (10, day) };
            let created_at = format!(
                "2026-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
                next(24),
                next(60),
                next(60),
                next(1000)
            );
            let number = format!("ORD-2026-{id:05}");
            let note = match next(6) {
                0 => format!("Order #{number} - please deliver before noon, gate code 4711"),
                1 => format!("Re: {number} customer asked for gift wrapping and an invoice copy"),
                2 => format!(
                    "Express shipping requested (ref #{}) by phone",
                    number.to_lowercase()
                ),
                3 => "Phone order, no reference given. Call back re: delivery window".to_owned(),
                4 => format!("Paid by bank transfer; reference {number}; ship with DHL"),
                _ => format!("#{number}"),
            };
            json!({"json": {
                "id": id,
                "customer": customer,
                "amount": cents as f64 / 100.0,
                "currency": "EUR",
                "created_at": created_at,
                "note": note,
            }})
        })
        .collect();
    Value::Array(orders)
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

/// Whether `python` can import `module`.
fn has_module(python: &str, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The floor under a scenario's tasks: its code's compute time in a warm interpreter (the code
/// as a function, called over the same items; median of 50 calls after 5 of warm-up) and the CPU
/// time of forking that interpreter, with the modules loaded, and reaping the child (mean of 200).
/// What a task costs above these is the runner's: forking from a replica that holds more, the
/// guards, importing the modules in every task, parsing items and serialising the result.
fn floor(python: &str, scenario: &Scenario) {
    let name = format!("floor: {}", scenario.name);
    let spec = json!({"code": scenario.code, "items": scenario.items,
                      "preload": scenario.floor.unwrap_or_default()});
    let mut child = Command::new(python)
        .args(["-c", include_str!("support/floor.py")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {python}: {e}"));
    // The script reads all of its input before it writes anything.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let measured: Option<Value> = serde_json::from_slice(&output.stdout).ok();
    let (Some(compute), Some(fork)) = (
        measured.as_ref().and_then(|m| m["compute_ms"].as_f64()),
        measured.as_ref().and_then(|m| m["fork_ms"].as_f64()),
    ) else {
        println!(
            "{name}: failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        return;
    };
    println!("{name}: compute {compute:.2} ms warm, fork {fork:.2} ms");
    println!(
        "{}",
        json!({"scenario": name, "python": python, "compute_ms_warm": compute,
               "fork_cpu_ms": fork})
    );
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
    let pss = tree_pss_kib(runner.pid()) as f64 / 1024.0;
    let own = status_kib(runner.pid(), "VmRSS:") as f64 / 1024.0;
    println!(
        "{:<30} tree {tree:.1} MiB (PSS {pss:.1} MiB), runner process alone {own:.1} MiB",
        "idle RSS"
    );
    println!(
        "{}",
        json!({"scenario": "idle", "tree_rss_mib": tree, "tree_pss_mib": pss,
               "runner_process_rss_mib": own})
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
