//! The soak run: many trivial tasks through one runner, watching for growth.
//!
//! `cargo bench --bench soak` (not part of CI) drives 100,000 trivial tasks (`--tasks N` to
//! change) from the load broker at max concurrency 2 and samples, every second, the RSS of the
//! runner and of its forkserver, their open file descriptors and the forkserver's children. It
//! prints a line every 10 s and a summary comparing the first and the last tenth of the run; the
//! goal is flat.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Runner, TestBroker};
use serde_json::json;
use support::{drive, open_fds, status_kib};

#[derive(Clone, Copy, Debug)]
struct Sample {
    seconds: f64,
    runner_rss_kib: u64,
    forkserver_rss_kib: u64,
    runner_fds: usize,
    forkserver_fds: usize,
    children: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let tasks: usize = args
        .iter()
        .position(|a| a == "--tasks")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(100_000);
    let broker = TestBroker::start();
    let runner = Runner::start(&broker, &[("N8N_RUNNERS_MAX_CONCURRENCY", "2")]);
    let mut side = broker.accept();
    side.handshake();
    side.set_read_timeout(Duration::from_secs(60));
    let forkserver = common::children_of(runner.pid())[0];
    let pid = runner.pid();

    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut samples = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let sample = Sample {
                    seconds: start.elapsed().as_secs_f64(),
                    runner_rss_kib: status_kib(pid, "VmRSS:"),
                    forkserver_rss_kib: status_kib(forkserver, "VmRSS:"),
                    runner_fds: open_fds(pid),
                    forkserver_fds: open_fds(forkserver),
                    children: common::task_processes(forkserver).len(),
                };
                if samples.len() % 10 == 0 {
                    println!(
                        "t={:>5.0}s runner {:>6} KiB {:>3} fds | forkserver {:>6} KiB {:>3} fds {} children",
                        sample.seconds, sample.runner_rss_kib, sample.runner_fds,
                        sample.forkserver_rss_kib, sample.forkserver_fds, sample.children
                    );
                }
                samples.push(sample);
                std::thread::sleep(Duration::from_secs(1));
            }
            samples
        })
    };
    let settings = json!({"code": "return [{'json': {'ok': True}}]", "nodeMode": "runOnceForAllItems", "items": [{"json": {}}]}).to_string();
    let start = Instant::now();
    let (_, errors) = drive(&mut side, tasks, &settings);
    let elapsed = start.elapsed();
    done.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap();

    let tenth = (samples.len() / 10).max(1);
    let average = |part: &[Sample], f: fn(&Sample) -> f64| {
        part.iter().map(f).sum::<f64>() / part.len() as f64
    };
    let (first, last) = (&samples[..tenth], &samples[samples.len() - tenth..]);
    let report = |name: &str, f: fn(&Sample) -> f64| {
        let (a, b) = (average(first, f), average(last, f));
        println!(
            "{name:<22} first tenth {a:>9.1}  last tenth {b:>9.1}  growth {:>+8.1}",
            b - a
        );
        (a, b)
    };
    println!(
        "{tasks} tasks in {:.0} s ({:.0} tasks/s), {errors} errors",
        elapsed.as_secs_f64(),
        tasks as f64 / elapsed.as_secs_f64()
    );
    let rss = report("runner RSS KiB", |s| s.runner_rss_kib as f64);
    let fs_rss = report("forkserver RSS KiB", |s| s.forkserver_rss_kib as f64);
    let fds = report("runner fds", |s| s.runner_fds as f64);
    let fs_fds = report("forkserver fds", |s| s.forkserver_fds as f64);
    let children = report("forkserver children", |s| s.children as f64);
    println!(
        "{}",
        json!({"scenario": "soak", "tasks": tasks, "seconds": elapsed.as_secs_f64(), "errors": errors,
               "runner_rss_kib": [rss.0, rss.1], "forkserver_rss_kib": [fs_rss.0, fs_rss.1],
               "runner_fds": [fds.0, fds.1], "forkserver_fds": [fs_fds.0, fs_fds.1],
               "forkserver_children": [children.0, children.1]})
    );
}
