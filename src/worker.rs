//! The worker pool: each worker runs one task at a time, from settings to reply.
//!
//! A task's life in a worker: the security gate (see `executor`) -> a fresh child from the
//! forkserver -> its result under the deadline -> the prints as `runner:rpc` calls -> one
//! `runner:taskdone` or `runner:taskerror` -> the slot is freed and offered again at once.
//! There are exactly `N8N_RUNNERS_MAX_CONCURRENCY` workers and never more accepted tasks, so a
//! task whose settings arrive always finds a worker free.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use log::{error, info};
use serde_json::value::RawValue;

use crate::executor::Executor;
use crate::ids;
use crate::logging;
use crate::messages::{RunnerMessage, TaskDoneData, TaskSettings};
use crate::metrics::{Metrics, TaskEnd};
use crate::nesting;
use crate::offers::Kick;
use crate::outbox::Outbox;
use crate::task_result::{Failure, Settled};
use crate::task_state::{CancelSignal, RunnerState};

/// A task whose settings have arrived.
pub struct Job {
    pub task_id: String,
    pub settings: TaskSettings,
    pub cancel: Arc<CancelSignal>,
    /// The broker connection the task came on; its replies go nowhere else.
    pub connection: u64,
}

/// What every worker shares.
#[derive(Clone)]
pub struct WorkerContext {
    pub state: Arc<RunnerState>,
    pub outbox: Outbox,
    pub kick: Kick,
    pub executor: Arc<Executor>,
    pub metrics: Arc<Metrics>,
}

/// Starts `count` workers taking jobs from `jobs`; they end when the channel closes.
pub fn spawn_pool(count: usize, jobs: Receiver<Job>, ctx: WorkerContext) -> Vec<JoinHandle<()>> {
    (0..count)
        .map(|n| {
            let jobs = jobs.clone();
            let ctx = ctx.clone();
            std::thread::Builder::new()
                .name(format!("worker-{n}"))
                // Workers analyse code (see nesting.rs for why this size).
                .stack_size(nesting::ANALYSIS_STACK)
                .spawn(move || {
                    for job in jobs {
                        let task_id = job.task_id.clone();
                        run_job(&ctx, job);
                        // Only after the reply is queued: the freed slot must not be offered
                        // (and accepted) before the broker hears this task is done.
                        ctx.state.finish(&task_id);
                        ctx.kick.kick();
                    }
                })
                .expect("spawning a worker thread")
        })
        .collect()
}

fn run_job(ctx: &WorkerContext, job: Job) {
    let started = Instant::now();
    let Job {
        task_id,
        settings,
        cancel,
        connection,
    } = job;

    ctx.executor
        .execute(&task_id, &settings, &cancel, |settled| {
            reply(ctx, connection, &task_id, &settings, started, settled)
        });
}

/// Sends a finished task's prints and its one answer to the broker.
fn reply(
    ctx: &WorkerContext,
    connection: u64,
    task_id: &str,
    settings: &TaskSettings,
    started: Instant,
    settled: Settled,
) {
    // Prints go out first, on failure too (n8n's runner drops them when a task fails).
    for params in &settled.prints {
        // As n8n's runner, which writes every print to its own stdout (`docker logs` shows
        // them); marked, and escaped so that a print cannot pass for a line of the runner's.
        info!(
            "[user code] task {task_id}: {}",
            logging::escape_control(&params.join(" "))
        );
        ctx.outbox.send(
            connection,
            &RunnerMessage::Rpc {
                call_id: &ids::new_id(),
                task_id,
                name: "logNodeOutput",
                params,
            },
        );
    }

    let where_ = format!(
        "for node \"{}\" ({}) in workflow \"{}\" ({})",
        settings.node_name, settings.node_id, settings.workflow_name, settings.workflow_id
    );
    let end = match &settled.result {
        Ok(_) => TaskEnd::Succeeded,
        Err(Failure::Cancelled) => TaskEnd::Cancelled,
        Err(Failure::TimedOut(_)) => TaskEnd::TimedOut,
        Err(_) => TaskEnd::Failed,
    };
    ctx.metrics.task_ended(end, started.elapsed());
    match settled.result {
        Ok(result) => {
            ctx.outbox.send(
                connection,
                &RunnerMessage::TaskDone {
                    task_id,
                    data: TaskDoneData { result },
                },
            );
            info!(
                "Completed task {task_id} in {} ({}) {where_}",
                format_duration(started.elapsed()),
                format_size(result.get().len())
            );
        }
        Err(failure) if settings.continue_on_fail && failure.continuable() => {
            let result = continue_on_fail_result(failure.message());
            ctx.outbox.send(
                connection,
                &RunnerMessage::TaskDone {
                    task_id,
                    data: TaskDoneData { result: &result },
                },
            );
            info!(
                "Completed task {task_id} in {} with an error output (continueOnFail): {} {where_}",
                format_duration(started.elapsed()),
                failure.message()
            );
        }
        Err(failure) => {
            ctx.outbox.send(
                connection,
                &RunnerMessage::TaskError {
                    task_id,
                    error: &failure.body(),
                },
            );
            match failure {
                Failure::Cancelled => info!("Cancelled task {task_id} {where_}"),
                Failure::Syntax(message) => {
                    log::warn!("Task {task_id} failed syntax validation: {message}")
                }
                other => error!("Task {task_id} failed: {} {where_}", other.message()),
            }
        }
    }
}

/// `[{"json": {"error": "<message>"}}]`, the whole result of a failed task with continueOnFail.
fn continue_on_fail_result(message: &str) -> Box<RawValue> {
    let value = serde_json::json!([{ "json": { "error": message } }]);
    RawValue::from_string(value.to_string()).expect("valid JSON")
}

/// `12ms`, `3.4s` or `2.1m`, like n8n's runner log lines.
fn format_duration(elapsed: Duration) -> String {
    let ms = elapsed.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{}ms", ms.round() as u64)
    } else if ms < 60_000.0 {
        format!("{:.1}s", ms / 1000.0)
    } else {
        format!("{:.1}m", ms / 60_000.0)
    }
}

/// `512 bytes`, `1.5 KB` or `2.0 MB`.
fn format_size(bytes: usize) -> String {
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_like_n8n() {
        assert_eq!(format_duration(Duration::from_millis(12)), "12ms");
        assert_eq!(format_duration(Duration::from_millis(3400)), "3.4s");
        assert_eq!(format_duration(Duration::from_secs(126)), "2.1m");
        assert_eq!(format_size(512), "512 bytes");
        assert_eq!(format_size(1536), "1.5 KB");
        assert_eq!(format_size(2 * 1024 * 1024), "2.0 MB");
    }

    #[test]
    fn continue_on_fail_wraps_the_message_in_one_item() {
        assert_eq!(
            continue_on_fail_result("boom \"x\"").get(),
            r#"[{"json":{"error":"boom \"x\""}}]"#
        );
    }
}
