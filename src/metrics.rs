//! Counters and a latency histogram, rendered in the Prometheus text format for `GET /metrics`.
//!
//! Plain atomics: every thread bumps them without a lock, and the health thread reads them.

use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::sandbox;

/// Upper bounds (seconds) of the task latency histogram's buckets.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

/// How a task ended, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEnd {
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
}

/// The runner's metrics; one per process.
pub struct Metrics {
    started: Instant,
    pub tasks_accepted: AtomicU64,
    pub tasks_rejected: AtomicU64,
    tasks_succeeded: AtomicU64,
    tasks_failed: AtomicU64,
    tasks_timed_out: AtomicU64,
    tasks_cancelled: AtomicU64,
    pub offers_sent: AtomicU64,
    pub reconnects: AtomicU64,
    connected: AtomicBool,
    /// Milliseconds since `started` of the last connect/disconnect.
    connection_changed_ms: AtomicU64,
    bucket_counts: [AtomicU64; BUCKETS.len()],
    latency_sum_micros: AtomicU64,
    latency_count: AtomicU64,
    /// The sandbox layers in force, once the forkserver has reported them.
    sandbox: OnceLock<sandbox::Report>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            started: Instant::now(),
            tasks_accepted: AtomicU64::new(0),
            tasks_rejected: AtomicU64::new(0),
            tasks_succeeded: AtomicU64::new(0),
            tasks_failed: AtomicU64::new(0),
            tasks_timed_out: AtomicU64::new(0),
            tasks_cancelled: AtomicU64::new(0),
            offers_sent: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            connected: AtomicBool::new(false),
            sandbox: OnceLock::new(),
            connection_changed_ms: AtomicU64::new(0),
            bucket_counts: Default::default(),
            latency_sum_micros: AtomicU64::new(0),
            latency_count: AtomicU64::new(0),
        }
    }

    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a finished task and how long it took from settings to reply.
    pub fn task_ended(&self, end: TaskEnd, took: Duration) {
        let counter = match end {
            TaskEnd::Succeeded => &self.tasks_succeeded,
            TaskEnd::Failed => &self.tasks_failed,
            TaskEnd::TimedOut => &self.tasks_timed_out,
            TaskEnd::Cancelled => &self.tasks_cancelled,
        };
        Metrics::inc(counter);
        let secs = took.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.bucket_counts) {
            if secs <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn set_connected(&self, connected: bool) {
        self.connected.store(connected, Ordering::SeqCst);
        let now = self.started.elapsed().as_millis() as u64;
        self.connection_changed_ms.store(now, Ordering::SeqCst);
    }

    /// Whether the broker connection is up, and for how long it has been in that state.
    pub fn connection(&self) -> (bool, Duration) {
        let connected = self.connected.load(Ordering::SeqCst);
        let since = self.connection_changed_ms.load(Ordering::SeqCst);
        let now = self.started.elapsed().as_millis() as u64;
        (connected, Duration::from_millis(now.saturating_sub(since)))
    }

    /// Records the sandbox layers the first forkserver reported.
    pub fn set_sandbox(&self, report: sandbox::Report) {
        let _ = self.sandbox.set(report);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, running_tasks: usize) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            "n8n_runner_tasks_accepted_total",
            "Tasks accepted from the broker.",
            get(&self.tasks_accepted),
        );
        counter(
            "n8n_runner_tasks_rejected_total",
            "Task offers accepted by the broker but rejected by the runner.",
            get(&self.tasks_rejected),
        );
        counter(
            "n8n_runner_tasks_succeeded_total",
            "Tasks answered with runner:taskdone.",
            get(&self.tasks_succeeded),
        );
        counter(
            "n8n_runner_tasks_failed_total",
            "Tasks answered with runner:taskerror (timeouts and cancellations excluded).",
            get(&self.tasks_failed),
        );
        counter(
            "n8n_runner_tasks_timed_out_total",
            "Tasks stopped at N8N_RUNNERS_TASK_TIMEOUT.",
            get(&self.tasks_timed_out),
        );
        counter(
            "n8n_runner_tasks_cancelled_total",
            "Tasks cancelled by the broker or by shutdown.",
            get(&self.tasks_cancelled),
        );
        counter(
            "n8n_runner_offers_sent_total",
            "Task offers sent to the broker.",
            get(&self.offers_sent),
        );
        counter(
            "n8n_runner_reconnects_total",
            "Connections to the broker after the first.",
            get(&self.reconnects),
        );
        let (connected, _) = self.connection();
        let _ = writeln!(
            out,
            "# HELP n8n_runner_broker_connected 1 while the broker connection is up.\n\
             # TYPE n8n_runner_broker_connected gauge\nn8n_runner_broker_connected {}",
            u8::from(connected)
        );
        let _ = writeln!(
            out,
            "# HELP n8n_runner_tasks_running Tasks accepted and not yet answered.\n\
             # TYPE n8n_runner_tasks_running gauge\nn8n_runner_tasks_running {running_tasks}"
        );
        if let Some(report) = self.sandbox.get() {
            let _ = writeln!(
                out,
                "# HELP n8n_runner_sandbox_layer 1 for each kernel sandbox layer in force for \
                 task processes.\n# TYPE n8n_runner_sandbox_layer gauge"
            );
            let namespaces = !report.namespaces.is_empty();
            let network = report.network_isolation.starts_with("on");
            for (layer, on) in [
                ("landlock", report.landlock > 0),
                ("seccomp", report.seccomp),
                ("namespaces", namespaces),
                ("network_isolation", network),
                ("capabilities_dropped", report.capabilities == "none"),
            ] {
                let _ = writeln!(
                    out,
                    "n8n_runner_sandbox_layer{{layer=\"{layer}\"}} {}",
                    u8::from(on)
                );
            }
        }
        let name = "n8n_runner_task_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from a task's settings to its answer.\n# TYPE {name} histogram"
        );
        for (bound, count) in BUCKETS.iter().zip(&self.bucket_counts) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", get(count));
        }
        let total = get(&self.latency_count);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
        let sum = get(&self.latency_sum_micros) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {total}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_is_cumulative() {
        let metrics = Metrics::new();
        metrics.task_ended(TaskEnd::Succeeded, Duration::from_millis(3));
        metrics.task_ended(TaskEnd::Failed, Duration::from_millis(300));
        let text = metrics.render(0);
        assert!(text.contains("n8n_runner_task_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("n8n_runner_task_duration_seconds_bucket{le=\"0.5\"} 2"));
        assert!(text.contains("n8n_runner_task_duration_seconds_bucket{le=\"+Inf\"} 2"));
        assert!(text.contains("n8n_runner_task_duration_seconds_count 2"));
        assert!(text.contains("n8n_runner_tasks_succeeded_total 1"));
        assert!(text.contains("n8n_runner_tasks_failed_total 1"));
    }

    #[test]
    fn the_sandbox_layers_are_gauges_once_known() {
        let metrics = Metrics::new();
        assert!(!metrics.render(0).contains("n8n_runner_sandbox_layer"));
        metrics.set_sandbox(sandbox::Report::complete_example());
        let text = metrics.render(0);
        assert!(text.contains("n8n_runner_sandbox_layer{layer=\"landlock\"} 1"));
        assert!(text.contains("n8n_runner_sandbox_layer{layer=\"network_isolation\"} 0"));
    }
}
