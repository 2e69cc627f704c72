//! What the benchmarks share: driving a runner from the load broker, and reading a process
//! tree's memory, CPU time and file descriptors from /proc.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use crate::common;

#[derive(Deserialize)]
pub struct Head<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    #[serde(rename = "taskId")]
    pub task_id: Option<&'a str>,
    #[serde(rename = "offerId")]
    pub offer_id: Option<&'a str>,
}

/// Task ids are unique across rounds.
static NEXT_TASK: AtomicUsize = AtomicUsize::new(1);

/// Accepts every offer with a new task until `count` tasks are answered; returns each task's
/// accept -> done latency and the number of failed tasks.
pub fn drive(
    side: &mut common::BrokerSide,
    count: usize,
    settings: &str,
) -> (Vec<Duration>, usize) {
    let mut started = HashMap::new();
    let mut latencies = Vec::with_capacity(count);
    let mut errors = 0;
    let mut issued = 0;
    let mut pending: Vec<String> = side
        .take_all_offers()
        .iter()
        .map(Value::to_string)
        .collect();
    while latencies.len() < count {
        let text = match pending.pop() {
            Some(text) => text,
            None => side.recv_text(),
        };
        let head: Head = serde_json::from_str(&text).expect("a runner message");
        match head.kind {
            "runner:taskoffer" if issued < count => {
                issued += 1;
                let task_id = format!("task{}", NEXT_TASK.fetch_add(1, Ordering::Relaxed));
                started.insert(task_id.clone(), Instant::now());
                let offer_id = head.offer_id.unwrap();
                side.send_text(&format!(
                    r#"{{"type":"broker:taskofferaccept","taskId":"{task_id}","offerId":"{offer_id}"}}"#
                ));
            }
            "runner:taskaccepted" => {
                let task_id = head.task_id.unwrap();
                side.send_text(&format!(
                    r#"{{"type":"broker:tasksettings","taskId":"{task_id}","settings":{settings}}}"#
                ));
            }
            "runner:taskdone" | "runner:taskerror" => {
                if head.kind == "runner:taskerror" {
                    errors += 1;
                    if errors == 1 {
                        eprintln!("first error: {}", &text[..text.len().min(300)]);
                    }
                }
                let task_id = head.task_id.unwrap();
                latencies.push(started.remove(task_id).unwrap().elapsed());
            }
            // Not needed for this round: keep it for the next, or the runner would count it as
            // open until it expires and run with a slot less.
            "runner:taskoffer" => side.put_back_offer(&text),
            "runner:taskrejected" => panic!("task rejected: {text}"),
            _ => {}
        }
    }
    for offer in pending {
        side.put_back_offer(&offer);
    }
    (latencies, errors)
}

/// Samples the RSS of the whole process tree every 20 ms on its own thread.
pub struct RssSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<u64>,
}

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(tree_rss_kib(pid));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        });
        RssSampler { stop, handle }
    }

    pub fn stop(self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

pub fn descendants(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        all.extend(common::children_of(all[i]));
        i += 1;
    }
    all
}

pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

pub fn tree_rss_kib(pid: u32) -> u64 {
    descendants(pid)
        .into_iter()
        .map(|p| status_kib(p, "VmRSS:"))
        .sum()
}

/// Proportional set size of a process tree in KiB: shared pages counted once across it (summed
/// RSS counts a page once per process that maps it, so every forked process adds its parent's).
pub fn tree_pss_kib(pid: u32) -> u64 {
    descendants(pid)
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")).ok())
        .filter_map(|rollup| {
            rollup
                .lines()
                .find(|line| line.starts_with("Pss:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .sum()
}

/// CPU time (user + system) of a process tree, including reaped children, in ms.
pub fn tree_cpu_ms(pid: u32) -> f64 {
    let ticks_per_sec = 100.0; // USER_HZ on Linux
    let mut total = 0.0;
    for pid in descendants(pid) {
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
    }
    total / ticks_per_sec * 1000.0
}

/// Open file descriptors of a process.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}
