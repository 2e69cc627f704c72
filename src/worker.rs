//! The worker pool: each worker runs one task at a time, from settings to reply.
//!
//! A task's life in a worker: (validation, see the security issue) -> a fresh child from the
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

use crate::analyzer::ParseFailure;
use crate::child_process::{self, ChildOutcome, Limits, TaskInput};
use crate::forkserver::Forkserver;
use crate::ids;
use crate::messages::{RunnerMessage, TaskDoneData, TaskSettings};
use crate::offers::Kick;
use crate::outbox::Outbox;
use crate::task_result::{settle, Failure, Settled};
use crate::task_state::{CancelSignal, RunnerState};
use crate::validation::{Validator, Verdict};

/// A task whose settings have arrived.
pub struct Job {
    pub task_id: String,
    pub settings: TaskSettings,
    pub cancel: Arc<CancelSignal>,
}

/// What every worker shares.
#[derive(Clone)]
pub struct WorkerContext {
    pub state: Arc<RunnerState>,
    pub outbox: Outbox,
    pub kick: Kick,
    pub forkserver: Arc<Forkserver>,
    pub validator: Arc<Validator>,
    pub task_timeout: Duration,
    pub max_payload: u64,
}

/// Starts `count` workers taking jobs from `jobs`; they end when the channel closes.
pub fn spawn_pool(count: usize, jobs: Receiver<Job>, ctx: WorkerContext) -> Vec<JoinHandle<()>> {
    (0..count)
        .map(|n| {
            let jobs = jobs.clone();
            let ctx = ctx.clone();
            std::thread::Builder::new()
                .name(format!("worker-{n}"))
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
    } = job;

    let run = |purpose| match run_child(ctx, &settings, &cancel, purpose) {
        Ok(outcome) => outcome,
        Err(err) => {
            error!("Task {task_id} could not be run: {err}");
            ChildOutcome::ForkFailed(err.raw_os_error().unwrap_or(0))
        }
    };
    // The security gate: nothing runs before the code has passed it.
    let verdict = ctx.validator.validate(&settings.code);
    let outcome = match &verdict {
        Verdict::Clean => Some(run(Purpose::Run)),
        Verdict::Unparsable(_) => Some(run(Purpose::SyntaxCheck)),
        Verdict::Violations(_) => None,
    };
    let (timeout_secs, max_payload) = (ctx.task_timeout.as_secs(), ctx.max_payload);
    let settled = match (verdict, &outcome) {
        (Verdict::Clean, Some(outcome)) => settle(outcome, timeout_secs, max_payload),
        (Verdict::Unparsable(failure), Some(outcome)) => {
            let checked = settle(outcome, timeout_secs, max_payload).result;
            Settled {
                prints: Vec::new(),
                result: Err(syntax_failure(&task_id, checked, &failure)),
            }
        }
        (Verdict::Violations(violations), _) => Settled {
            prints: Vec::new(),
            result: Err(Failure::Security(violations.join("\n"))),
        },
        _ => unreachable!("a child ran for every verdict but violations"),
    };

    // Prints go out first, on failure too (n8n's runner drops them when a task fails).
    for params in &settled.prints {
        log::debug!("[user code] {}", params.join(" "));
        ctx.outbox.send(&RunnerMessage::Rpc {
            call_id: &ids::new_id(),
            task_id: &task_id,
            name: "logNodeOutput",
            params,
        });
    }

    let where_ = format!(
        "for node \"{}\" ({}) in workflow \"{}\" ({})",
        settings.node_name, settings.node_id, settings.workflow_name, settings.workflow_id
    );
    match settled.result {
        Ok(result) => {
            ctx.outbox.send(&RunnerMessage::TaskDone {
                task_id: &task_id,
                data: TaskDoneData { result },
            });
            info!(
                "Completed task {task_id} in {} ({}) {where_}",
                format_duration(started.elapsed()),
                format_size(result.get().len())
            );
        }
        Err(failure) if settings.continue_on_fail && failure.continuable() => {
            let result = continue_on_fail_result(failure.message());
            ctx.outbox.send(&RunnerMessage::TaskDone {
                task_id: &task_id,
                data: TaskDoneData { result: &result },
            });
            info!(
                "Completed task {task_id} in {} with an error output (continueOnFail): {} {where_}",
                format_duration(started.elapsed()),
                failure.message()
            );
        }
        Err(failure) => {
            ctx.outbox.send(&RunnerMessage::TaskError {
                task_id: &task_id,
                error: &failure.body(),
            });
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

/// What a child is asked to do with the code.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Run,
    /// Only compile it, to report a syntax error in CPython's own words.
    SyntaxCheck,
}

/// The analyzer could not parse the code. CPython's verdict decides: a syntax error in its own
/// wording, or (if it accepts code our parser does not) a refusal, since unanalysed code must
/// never run.
fn syntax_failure(
    task_id: &str,
    checked: Result<&RawValue, Failure>,
    failure: &ParseFailure,
) -> Failure {
    match checked {
        Err(Failure::Syntax(message)) => Failure::Syntax(message),
        Ok(_) => {
            log::warn!(
                "Task {task_id}: the analyzer could not parse code that Python accepts \
                 (line {}: {}); refusing it",
                failure.line,
                failure.message
            );
            Failure::Security(format!(
                "Line {}: The code could not be checked for security: {}",
                failure.line, failure.message
            ))
        }
        Err(other) => other,
    }
}

fn run_child(
    ctx: &WorkerContext,
    settings: &TaskSettings,
    cancel: &CancelSignal,
    purpose: Purpose,
) -> std::io::Result<ChildOutcome> {
    // Cancelled while queued: no process needed.
    if cancel.is_fired() {
        return Ok(ChildOutcome::Cancelled);
    }
    // Validation of the code (the security gate) belongs here, before any process is used.
    let Some(forkserver) = ctx.forkserver.connection(ctx.task_timeout) else {
        return Ok(ChildOutcome::ForkserverLost);
    };
    let (head, tail) = input_envelope(settings, purpose);
    let input = TaskInput {
        parts: [
            head.as_bytes(),
            settings.items.get().as_bytes(),
            tail.as_bytes(),
        ],
    };
    let limits = Limits {
        timeout: ctx.task_timeout,
        max_result_bytes: ctx.max_payload,
    };
    match child_process::run(&forkserver, input, &limits, cancel)? {
        // The forkserver died before it took the request (nothing ran yet): use its successor.
        ChildOutcome::ForkserverUnreachable => {
            let Some(successor) = ctx
                .forkserver
                .replacement_for(&forkserver, ctx.task_timeout)
            else {
                return Ok(ChildOutcome::ForkserverLost);
            };
            child_process::run(&successor, input, &limits, cancel)
        }
        outcome => Ok(outcome),
    }
}

/// The task as the child reads it: a JSON object whose `items` (last) are spliced in raw
/// between the returned head and tail.
fn input_envelope(settings: &TaskSettings, purpose: Purpose) -> (String, &'static str) {
    let code = serde_json::to_string(&settings.code).expect("strings serialise");
    let query = settings.query.as_deref().map_or("null", RawValue::get);
    let validate_only = purpose == Purpose::SyntaxCheck;
    let head = format!(
        "{{\"code\":{code},\"nodeMode\":\"{}\",\"validateOnly\":{validate_only},\"query\":{query},\"items\":",
        settings.node_mode.wire_name()
    );
    (head, "}")
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
