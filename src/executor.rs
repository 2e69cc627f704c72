//! Running one task: the security gate, then a fresh child, then its outcome.
//!
//! Shared by the worker pool (tasks from the broker) and the `exec` command (a snippet from the
//! command line), so a snippet tested locally goes through exactly what a broker task does.

use std::sync::Arc;
use std::time::Duration;

use log::error;
use serde_json::value::RawValue;

use crate::analyzer::ParseFailure;
use crate::child_process::{self, ChildOutcome, Limits, TaskInput};
use crate::forkserver::{compile_hint, Forkserver};
use crate::messages::{NodeMode, TaskSettings};
use crate::task_result::{settle, Bounds, Failure, Settled};
use crate::task_state::CancelSignal;
use crate::validation::{Validator, Verdict};

/// What running a task needs.
pub struct Executor {
    pub forkserver: Arc<Forkserver>,
    pub validator: Arc<Validator>,
    pub task_timeout: Duration,
    pub max_payload: u64,
    /// `N8N_RUNNERS_TASK_CPU_LIMIT`, for the message of a task that hits it.
    pub cpu_limit_secs: u64,
}

impl Executor {
    /// Validates and runs a task; `report` gets the outcome (borrowing the child's result frame,
    /// so a large result is never copied) and its return value is returned.
    pub fn execute<R>(
        &self,
        task_id: &str,
        settings: &TaskSettings,
        cancel: &CancelSignal,
        report: impl FnOnce(Settled) -> R,
    ) -> R {
        let run = |purpose| match run_child(self, settings, cancel, purpose) {
            Ok(outcome) => outcome,
            Err(err) => {
                error!("Task {task_id} could not be run: {err}");
                ChildOutcome::ForkFailed(err.raw_os_error().unwrap_or(0))
            }
        };
        // The security gate: nothing runs before the code has passed it.
        let verdict = self.validator.validate(&settings.code);
        let outcome = match &verdict {
            Verdict::Clean => Some(run(Purpose::Run)),
            Verdict::Unparsable(_) => Some(run(Purpose::SyntaxCheck)),
            Verdict::Violations(_) => None,
        };
        let bounds = Bounds {
            timeout_secs: self.task_timeout.as_secs(),
            max_payload: self.max_payload,
            cpu_limit_secs: self.cpu_limit_secs,
        };
        let settled = match (verdict, &outcome) {
            (Verdict::Clean, Some(outcome)) => settle(outcome, &bounds),
            (Verdict::Unparsable(failure), Some(outcome)) => {
                let checked = settle(outcome, &bounds).result;
                Settled {
                    prints: Vec::new(),
                    imports: Vec::new(),
                    result: Err(syntax_failure(task_id, checked, &failure)),
                }
            }
            (Verdict::Violations(violations), _) => Settled {
                prints: Vec::new(),
                imports: Vec::new(),
                result: Err(Failure::Security(violations.join("\n"))),
            },
            _ => unreachable!("a child ran for every verdict but violations"),
        };
        if !settled.imports.is_empty() {
            self.forkserver.learn(&settled.imports);
        }
        report(settled)
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
    ctx: &Executor,
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
    // Only code that runs: a syntax check compiles in its own way.
    let hint = match purpose {
        Purpose::Run => compile_hint(settings.node_mode == NodeMode::PerItem, &settings.code),
        Purpose::SyntaxCheck => Vec::new(),
    };
    let input = TaskInput {
        parts: [
            head.as_bytes(),
            settings.items.get().as_bytes(),
            tail.as_bytes(),
        ],
        hint: &hint,
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
