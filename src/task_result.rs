//! Turning how a child run ended into what the broker is told.
//!
//! The error texts are n8n's (users search for them); `continueOnFail` turns a failure inside the
//! execution step into a successful result holding the error, exactly as n8n's runner does, while
//! syntax errors and cancellations stay errors.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::child_process::ChildOutcome;
use crate::messages::TaskErrorBody;

/// The result frame a child writes (see `python/n8n_task/wire.py`).
#[derive(Deserialize)]
struct ChildReply<'a> {
    status: String,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    error: Option<ChildError>,
    #[serde(default)]
    print_args: Vec<Vec<String>>,
    /// Modules the task's imports loaded (not loaded before), for warming the forkserver.
    #[serde(default)]
    imports: Vec<String>,
}

#[derive(Deserialize)]
struct ChildError {
    message: String,
    /// Text as a rule; any JSON value when the exception set its own `description`.
    #[serde(default)]
    description: Option<serde_json::Value>,
    #[serde(default)]
    stack: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

/// Why a task failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// User code raised (or exited); `continueOnFail` applies.
    User(TaskErrorBody),
    /// The code does not parse; always an error, with only a `message`.
    Syntax(String),
    /// The static analysis found violations (the description lists them, one per line); always
    /// an error: it happens before anything runs.
    Security(String),
    /// The broker cancelled the task; always an error, with only a `message`.
    Cancelled,
    /// The runtime around the code failed (kill, crash, unreadable result).
    Runtime(String),
    /// The task ran past `N8N_RUNNERS_TASK_TIMEOUT` and was stopped.
    TimedOut(String),
}

impl Failure {
    /// The `error` object of `runner:taskerror`.
    pub fn body(&self) -> TaskErrorBody {
        let message_only = |message: &str| TaskErrorBody {
            message: message.to_owned(),
            description: None,
            stack: None,
        };
        match self {
            Failure::User(body) => body.clone(),
            Failure::Syntax(message) => message_only(message),
            Failure::Cancelled => message_only(CANCELLED),
            Failure::Security(description) => TaskErrorBody {
                message: SECURITY_VIOLATIONS.to_owned(),
                description: Some(description.as_str().into()),
                stack: None,
            },
            Failure::Runtime(message) | Failure::TimedOut(message) => TaskErrorBody {
                message: message.clone(),
                description: Some("".into()),
                stack: None,
            },
        }
    }

    /// Whether `continueOnFail` turns this failure into a result.
    pub fn continuable(&self) -> bool {
        matches!(
            self,
            Failure::User(_) | Failure::Runtime(_) | Failure::TimedOut(_)
        )
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::User(body) => &body.message,
            Failure::Syntax(message) | Failure::Runtime(message) | Failure::TimedOut(message) => {
                message
            }
            Failure::Cancelled => CANCELLED,
            Failure::Security(_) => SECURITY_VIOLATIONS,
        }
    }
}

pub const CANCELLED: &str = "Task was cancelled";
pub const SECURITY_VIOLATIONS: &str = "Security violations detected";
pub const READ_FAILED: &str = "Failed to read result from child process";

/// What a finished child run amounts to. Borrowing from the frame keeps a large result in the
/// one buffer it was read into.
pub struct Settled<'a> {
    pub prints: Vec<Vec<String>>,
    pub result: Result<&'a RawValue, Failure>,
    /// Modules the task's imports loaded; the forkserver may import them for later tasks.
    pub imports: Vec<String>,
}

/// Reads a child's outcome; the result borrows the frame bytes inside `outcome`.
/// The limits a task ran under, for the messages that name them.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub timeout_secs: u64,
    pub max_payload: u64,
    /// `N8N_RUNNERS_TASK_CPU_LIMIT` (0: none).
    pub cpu_limit_secs: u64,
}

/// Exit code of a child whose confinement (limits, user switch) could not be set up.
const CONFINEMENT_FAILED: i32 = 71;
/// SIGXCPU: the child used up its CPU time limit.
const SIGXCPU: i32 = 24;

pub fn settle<'a>(outcome: &'a ChildOutcome, bounds: &Bounds) -> Settled<'a> {
    let Bounds {
        timeout_secs,
        max_payload,
        cpu_limit_secs,
    } = *bounds;
    let fail = |failure: Failure| Settled {
        prints: Vec::new(),
        imports: Vec::new(),
        result: Err(failure),
    };
    let runtime = |message: String| fail(Failure::Runtime(message));
    match outcome {
        ChildOutcome::Frame(bytes) => parse_frame(bytes),
        ChildOutcome::NoResult => runtime(READ_FAILED.to_owned()),
        ChildOutcome::Cancelled | ChildOutcome::Exited(-15) => fail(Failure::Cancelled),
        ChildOutcome::Exited(-9) => runtime("Process was forcefully killed (SIGKILL)".to_owned()),
        ChildOutcome::Exited(code) if *code == -SIGXCPU => runtime(format!(
            "Task exceeded the CPU time limit of {cpu_limit_secs} seconds \
             (N8N_RUNNERS_TASK_CPU_LIMIT)"
        )),
        ChildOutcome::Exited(CONFINEMENT_FAILED) => runtime(
            "Task process could not be confined (resource limits or user switch failed; \
             see the runner's log)"
                .to_owned(),
        ),
        ChildOutcome::Exited(code) => runtime(format!("Task subprocess exited with code {code}")),
        ChildOutcome::TimedOut => fail(Failure::TimedOut(format!(
            "Task execution timed out after {timeout_secs} {}",
            if timeout_secs == 1 {
                "second"
            } else {
                "seconds"
            }
        ))),
        ChildOutcome::ResultTooLarge(size) => runtime(format!(
            "Task result of {size} bytes exceeds the maximum payload of {max_payload} bytes \
             (N8N_RUNNERS_MAX_PAYLOAD)"
        )),
        ChildOutcome::ForkFailed(errno) => {
            log::error!(
                "The forkserver could not fork a task process: {}",
                nix::errno::Errno::from_raw(*errno)
            );
            runtime("Task subprocess exited with code -1".to_owned())
        }
        ChildOutcome::ForkserverLost | ChildOutcome::ForkserverUnreachable => runtime(
            "The Python forkserver exited while the task was running; the runner has \
             started a new one, retry the task"
                .to_owned(),
        ),
    }
}

fn parse_frame(bytes: &[u8]) -> Settled<'_> {
    let reply: ChildReply = match serde_json::from_slice(bytes) {
        Ok(reply) => reply,
        Err(err) => {
            log::error!("Invalid result frame from child process: {err}");
            return Settled {
                prints: Vec::new(),
                imports: Vec::new(),
                result: Err(Failure::Runtime(READ_FAILED.to_owned())),
            };
        }
    };
    let result = match (reply.status.as_str(), reply.error) {
        ("ok", _) => Ok(reply.result.unwrap_or_else(|| null())),
        (_, Some(error)) => Err(match error.kind.as_deref() {
            Some("syntax") => Failure::Syntax(error.message),
            _ => Failure::User(TaskErrorBody {
                message: error.message,
                description: Some(error.description.unwrap_or_else(|| "".into())),
                stack: error.stack.filter(|s| !s.is_empty()),
            }),
        }),
        (_, None) => Err(Failure::Runtime(READ_FAILED.to_owned())),
    };
    Settled {
        prints: reply.print_args,
        imports: reply.imports,
        result,
    }
}

fn null() -> &'static RawValue {
    // A JSON `null` that outlives any frame.
    static NULL: std::sync::OnceLock<Box<RawValue>> = std::sync::OnceLock::new();
    NULL.get_or_init(|| RawValue::from_string("null".to_owned()).expect("valid JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(timeout_secs: u64, max_payload: u64) -> Bounds {
        Bounds {
            timeout_secs,
            max_payload,
            cpu_limit_secs: 30,
        }
    }

    #[test]
    fn resource_limit_exits_name_the_limit() {
        assert_eq!(
            message(ChildOutcome::Exited(-24)),
            "Task exceeded the CPU time limit of 30 seconds (N8N_RUNNERS_TASK_CPU_LIMIT)"
        );
        assert!(message(ChildOutcome::Exited(71)).contains("could not be confined"));
    }

    /// The failure message of a run that ended this way.
    fn message(outcome: ChildOutcome) -> String {
        settle(&outcome, &bounds(60, 1))
            .result
            .unwrap_err()
            .message()
            .to_owned()
    }

    fn frame(json: &str) -> ChildOutcome {
        ChildOutcome::Frame(json.as_bytes().to_vec())
    }

    #[test]
    fn a_successful_frame_passes_the_result_through_raw() {
        let outcome = frame(r#"{"status":"ok","result":[{"a":1.50}],"print_args":[["'x'"]]}"#);
        let settled = settle(&outcome, &bounds(60, 1 << 30));
        assert_eq!(settled.result.unwrap().get(), r#"[{"a":1.50}]"#);
        assert_eq!(settled.prints, vec![vec!["'x'".to_owned()]]);
    }

    #[test]
    fn a_null_result_stays_null() {
        let outcome = frame(r#"{"status":"ok","result":null,"print_args":[]}"#);
        assert_eq!(
            settle(&outcome, &bounds(60, 1)).result.unwrap().get(),
            "null"
        );
    }

    #[test]
    fn exit_codes_map_to_n8n_messages() {
        assert_eq!(message(ChildOutcome::Exited(-15)), "Task was cancelled");
        assert_eq!(
            message(ChildOutcome::Exited(-9)),
            "Process was forcefully killed (SIGKILL)"
        );
        assert_eq!(
            message(ChildOutcome::Exited(7)),
            "Task subprocess exited with code 7"
        );
        assert_eq!(message(ChildOutcome::NoResult), READ_FAILED);
        assert_eq!(
            message(ChildOutcome::TimedOut),
            "Task execution timed out after 60 seconds"
        );
        assert_eq!(
            settle(&ChildOutcome::TimedOut, &bounds(1, 1))
                .result
                .unwrap_err()
                .message(),
            "Task execution timed out after 1 second"
        );
    }

    #[test]
    fn cancellation_and_syntax_errors_carry_only_a_message() {
        assert_eq!(
            Failure::Cancelled.body(),
            TaskErrorBody {
                message: CANCELLED.into(),
                description: None,
                stack: None
            }
        );
        let outcome = frame(
            r#"{"status":"error","error":{"message":"invalid syntax (<unknown>, line 1)","kind":"syntax"},"print_args":[]}"#,
        );
        let failure = settle(&outcome, &bounds(60, 1)).result.unwrap_err();
        assert!(!failure.continuable());
        assert_eq!(failure.body().description, None);
    }

    #[test]
    fn an_exceptions_own_non_text_description_is_passed_through() {
        let outcome = frame(
            r#"{"status":"error","error":{"message":"bad","description":{"code":7,"why":["x"]}},"print_args":[]}"#,
        );
        let failure = settle(&outcome, &bounds(60, 1)).result.unwrap_err();
        assert_eq!(
            failure.body().description,
            Some(serde_json::json!({"code": 7, "why": ["x"]}))
        );
    }

    #[test]
    fn a_malformed_frame_is_a_read_failure() {
        let failure = settle(&frame("{nope"), &bounds(60, 1)).result.unwrap_err();
        assert_eq!(failure.message(), READ_FAILED);
    }
}
