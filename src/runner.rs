//! Starting the runner's threads, and stopping them.
//!
//! Threads: the WebSocket thread (sole owner of the broker connection), the offer timer, a fixed
//! pool of workers, the forkserver supervisor, the health server, and a signal thread. The main
//! thread only waits for a reason to stop: SIGTERM/SIGINT, the idle timeout, or a fatal broker
//! error; then it shuts down within the configured budget.

use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{error, info, warn};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crossbeam_channel::Receiver;

use crate::broker_connection::{BrokerConnection, Ended};
use crate::config::Config;
use crate::executor::Executor;
use crate::forkserver::{self, Forkserver};
use crate::health;
use crate::messages::RunnerMessage;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::sandbox;
use crate::secrets::SECRET_VARS;
use crate::security_rules::{self, ImportPolicy};
use crate::task_result::Failure;
use crate::task_state::RunnerState;
use crate::validation::Validator;
use crate::worker::{self, WorkerContext};
use crate::{ids, offers, outbox};

/// Modules every task uses; imported once in the forkserver instead of once per task.
const PRELOAD: &[&str] = &["json"];

enum Stop {
    Signal(i32),
    Connection(Ended),
    /// The forkserver (or the security gate) could not be started.
    StartFailed(String),
}

/// The OS-level limits of every task process, as the forkserver applies them.
fn task_limits(config: &Config) -> Result<serde_json::Value, String> {
    const MIB: u64 = 1024 * 1024;
    let mut limits = serde_json::json!({
        "memory_bytes": config.task_memory_limit_mib * MIB,
        "cpu_seconds": config.task_cpu_limit_secs,
        "max_processes": config.task_max_processes,
        "max_file_bytes": config.task_max_file_size_mib * MIB,
        "isolate_network": config.task_network_isolation,
        "memory_message": format!(
            "Task exceeded the memory limit of {} MiB (N8N_RUNNERS_TASK_MEMORY_LIMIT)",
            config.task_memory_limit_mib
        ),
    });
    if nix::unistd::geteuid().is_root() {
        if config.task_user.is_empty() {
            warn!("N8N_RUNNERS_TASK_USER is empty: task processes run as root");
        } else {
            let user = nix::unistd::User::from_name(&config.task_user)
                .map_err(|err| {
                    format!(
                        "N8N_RUNNERS_TASK_USER: cannot look up '{}': {err}",
                        config.task_user
                    )
                })?
                .ok_or_else(|| {
                    format!(
                        "N8N_RUNNERS_TASK_USER: there is no user '{}' on this system; name an \
                         unprivileged user for task processes",
                        config.task_user
                    )
                })?;
            limits["uid"] = user.uid.as_raw().into();
            limits["gid"] = user.gid.as_raw().into();
            info!(
                "Task processes run as user {} (uid {})",
                user.name, user.uid
            );
        }
    }
    Ok(limits)
}

/// The uid and gid task processes switch to, if any.
fn task_user_of(settings: &forkserver::Settings) -> Option<(u32, u32)> {
    let limits = settings.config.get("limits")?;
    Some((
        limits.get("uid")?.as_u64()? as u32,
        limits.get("gid")?.as_u64()? as u32,
    ))
}

/// Whether a user (not root) can traverse every directory down to `dir` and read `dir`; the
/// first path it cannot reach otherwise.
fn readable_by(dir: &str, uid: u32, gid: u32) -> Result<(), std::path::PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let target = std::path::Path::new(dir);
    for path in target.ancestors().collect::<Vec<_>>().into_iter().rev() {
        let Ok(meta) = std::fs::metadata(path) else {
            return Err(path.to_owned());
        };
        let mode = meta.mode();
        let bits = if meta.uid() == uid {
            mode >> 6
        } else if meta.gid() == gid {
            mode >> 3
        } else {
            mode
        };
        let needed = if path == target { 0o5 } else { 0o1 };
        if bits & needed != needed {
            return Err(path.to_owned());
        }
    }
    Ok(())
}

/// Variables that size the thread pools of numerical libraries (OpenBLAS, OpenMP, MKL,
/// numexpr), passed through when set and 1 otherwise.
const THREAD_POOL_VARS: [&str; 4] = [
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
];

/// How the forkserver is started for this configuration.
pub fn forkserver_settings(config: &Config) -> Result<forkserver::Settings, String> {
    // With env access blocked each child clears its environment; the forkserver keeps only what
    // finding and starting the interpreter needs (pyenv shims, for one, need PATH and HOME).
    let mut env: Vec<(String, String)> = if config.block_env {
        std::env::vars()
            .filter(|(name, _)| {
                matches!(name.as_str(), "PATH" | "HOME" | "LANG" | "TZ")
                    || THREAD_POOL_VARS.contains(&name.as_str())
            })
            .collect()
    } else {
        std::env::vars()
            .filter(|(name, _)| !SECRET_VARS.contains(&name.as_str()))
            .collect()
    };
    // numpy's BLAS and OpenMP start a pool of threads when loaded. One task uses one core (the
    // runner runs N8N_RUNNERS_MAX_CONCURRENCY of them), and a module whose import starts threads
    // is never warmed in the forkserver: one thread each, unless the operator says otherwise.
    for name in THREAD_POOL_VARS {
        if !env.iter().any(|(set, _)| set == name) {
            env.push((name.to_owned(), "1".to_owned()));
        }
    }
    let mut preload: Vec<String> = PRELOAD.iter().map(|m| m.to_string()).collect();
    for list in [&config.stdlib_allow, &config.external_allow] {
        preload.extend(list.to_list().into_iter().filter(|m| m != "*"));
    }
    preload.extend(config.preload.iter().cloned());
    let mut sandbox = serde_json::json!({
        "seccomp": [sandbox::seccomp_program(config.task_network_isolation)?],
        "trial_seccomp": [sandbox::trial_program()?],
    });
    if !nix::unistd::geteuid().is_root() {
        // The forkserver is uid 0 of its own namespace; tasks see the runner's ids instead.
        sandbox["view_uid"] = nix::unistd::geteuid().as_raw().into();
        sandbox["view_gid"] = nix::unistd::getegid().as_raw().into();
    }
    let json = serde_json::json!({
        "preload": preload,
        "block_env": config.block_env,
        "builtins_deny": config.builtins_deny,
        "stdlib_allow": config.stdlib_allow.to_list(),
        "external_allow": config.external_allow.to_list(),
        "allow_transitive_imports": config.allow_transitive_imports,
        "blocked_names": security_rules::BLOCKED_NAMES.to_vec(),
        "blocked_attributes": security_rules::BLOCKED_ATTRIBUTES.to_vec(),
        "limits": task_limits(config)?,
        "warm_max_mib": config.warm_max_memory_mib,
        "sandbox": sandbox,
    });
    let serde_json::Value::Object(config_map) = json else {
        unreachable!("json! of an object literal is an object")
    };
    Ok(forkserver::Settings {
        python: config.python.clone(),
        env,
        config: config_map,
        namespaces: true,
    })
}

/// Debian's interpreter, readable by every user; preferred when the task user cannot read the
/// default `python3` (e.g. a pyenv install under /root) and `N8N_RUNNERS_PYTHON` is not set.
const WORLD_READABLE_PYTHON: &str = "/usr/bin/python3";

/// Starts the forkserver so that task processes run as the task user, when the runner is root.
/// When that user cannot read the interpreter: Debian's `/usr/bin/python3` if the interpreter
/// was not named, else (for the default user only) uid 0 without any capability, said loudly.
fn start_forkserver(
    config: &Config,
    mut settings: forkserver::Settings,
) -> Result<Arc<Forkserver>, String> {
    let Some((uid, gid)) = task_user_of(&settings) else {
        return Forkserver::start(settings);
    };
    let forkserver = Forkserver::start(settings.clone())?;
    let info = ready_info(&forkserver);
    let Err(path) = readable_by(&info.stdlib_dir, uid, gid) else {
        return Ok(forkserver);
    };
    let cannot_read = format!(
        "the task user '{}' cannot read {} (the standard library of {})",
        config.task_user,
        path.display(),
        info.executable
    );
    if config.task_user_explicit {
        return Err(format!(
            "N8N_RUNNERS_TASK_USER: task processes run as '{}', which cannot read {} (the \
             standard library of N8N_RUNNERS_PYTHON={}); install Python where that user can \
             read it, or name another user",
            config.task_user,
            path.display(),
            config.python
        ));
    }
    forkserver.stop();
    if !config.python_explicit && std::path::Path::new(WORLD_READABLE_PYTHON).exists() {
        warn!("Using {WORLD_READABLE_PYTHON}: {cannot_read}. Set N8N_RUNNERS_PYTHON to choose");
        settings.python = WORLD_READABLE_PYTHON.to_owned();
        let forkserver = Forkserver::start(settings.clone())?;
        if readable_by(&ready_info(&forkserver).stdlib_dir, uid, gid).is_ok() {
            return Ok(forkserver);
        }
        forkserver.stop();
    }
    // The one exception to an unprivileged task user: uid 0, but without any capability and
    // with every other layer in force (the start-up line shows which hold).
    warn!(
        "Task processes run as uid 0 without capabilities: {cannot_read}. Install Python where \
         that user can read it (Debian: apt-get install python3, then \
         N8N_RUNNERS_PYTHON=/usr/bin/python3), or set N8N_RUNNERS_TASK_USER"
    );
    if let Some(limits) = settings.config.get_mut("limits") {
        limits["uid"] = serde_json::Value::Null;
        limits["gid"] = serde_json::Value::Null;
    }
    Forkserver::start(settings)
}

/// What a forkserver that [`Forkserver::start`] just returned reported when ready.
fn ready_info(forkserver: &Forkserver) -> forkserver::ReadyInfo {
    forkserver
        .connection(Duration::ZERO)
        .expect("a started forkserver is published")
        .info
        .clone()
}

/// Says which sandbox layers hold; in strict mode, refuses to go on without all of them.
fn check_sandbox(config: &Config, report: &sandbox::Report) -> Result<(), String> {
    let missing = report.missing(config.task_network_isolation);
    if missing.is_empty() {
        info!("{}", report.line());
        return Ok(());
    }
    if config.sandbox_mode == sandbox::Mode::Strict {
        return Err(format!(
            "N8N_RUNNERS_SANDBOX=strict: {} unavailable on this system ({}); run where the \
             kernel allows them (Landlock, seccomp, unprivileged user namespaces) or set \
             N8N_RUNNERS_SANDBOX=best-effort",
            missing.join(", "),
            report.line()
        ));
    }
    warn!(
        "{} ({} unavailable: task processes are less confined; N8N_RUNNERS_SANDBOX=strict \
         refuses to start like this)",
        report.line(),
        missing.join(", ")
    );
    Ok(())
}

/// Starts the forkserver and the security gate for this configuration: what both the broker
/// runner and `exec` need to run a task.
pub fn start_executor(config: &Config) -> Result<Executor, String> {
    let forkserver = start_forkserver(config, forkserver_settings(config)?)?;
    let info = ready_info(&forkserver);
    if let Err(err) = check_sandbox(config, &info.sandbox) {
        forkserver.stop();
        return Err(err);
    }
    let validator = {
        let policy = ImportPolicy::new(
            info.stdlib_module_names.iter().cloned(),
            config.stdlib_allow.clone(),
            config.external_allow.clone(),
        );
        Arc::new(Validator::new(policy, &info.python))
    };
    Ok(Executor {
        forkserver,
        validator,
        task_timeout: Duration::from_secs(config.task_timeout_secs),
        max_payload: config.max_payload,
        cpu_limit_secs: config.task_cpu_limit_secs,
    })
}

/// Runs until told to stop; returns the process exit code.
pub fn run(config: Config) -> i32 {
    let config = Arc::new(config);
    let metrics = Arc::new(Metrics::new());
    let state = Arc::new(RunnerState::new(config.max_concurrency));
    if config.health_enabled {
        if let Err(err) = health::start(
            &config.health_host,
            config.health_port,
            Duration::from_secs(config.health_broker_timeout_secs),
            metrics.clone(),
            state.clone(),
        ) {
            error!("{err}");
            return 1;
        }
    }
    let (outbox, outbox_rx) = outbox::outbox().expect("creating an eventfd");
    let (kick, kicks) = offers::kick_channel();
    offers::spawn(state.clone(), outbox.clone(), kicks, metrics.clone());
    let (stop_tx, stop_rx) = crossbeam_channel::bounded(4);

    // The forkserver starts (~80 ms of interpreter start-up) while the runner already connects
    // and registers. Tasks accepted meanwhile wait in the job channel, which holds as many jobs
    // as there are slots, until the workers start with the executor.
    let (jobs_tx, jobs_rx) = crossbeam_channel::bounded(config.max_concurrency);
    {
        let config = config.clone();
        let context = (state.clone(), outbox.clone(), kick.clone(), metrics.clone());
        let failed_tx = stop_tx.clone();
        std::thread::Builder::new()
            .name("start".into())
            .spawn(move || match start_executor(&config) {
                Ok(executor) => {
                    let (state, outbox, kick, metrics) = context;
                    if let Some(connection) = executor.forkserver.connection(Duration::ZERO) {
                        metrics.set_sandbox(connection.info.sandbox.clone());
                    }
                    worker::spawn_pool(
                        config.max_concurrency,
                        jobs_rx,
                        WorkerContext {
                            state,
                            outbox,
                            kick,
                            executor: Arc::new(executor),
                            metrics,
                        },
                    );
                }
                Err(err) => {
                    let _ = failed_tx.send(Stop::StartFailed(err));
                }
            })
            .expect("spawning the start-up thread");
    }

    let connection = BrokerConnection {
        config: config.clone(),
        runner_id: ids::new_id(),
        state: state.clone(),
        outbox_rx,
        jobs: jobs_tx,
        kick,
        metrics,
    };
    let ended_tx = stop_tx.clone();
    std::thread::Builder::new()
        .name("broker".into())
        .spawn(move || {
            let ended = connection.run();
            let _ = ended_tx.send(Stop::Connection(ended));
        })
        .expect("spawning the broker thread");

    let mut signals = Signals::new([SIGTERM, SIGINT]).expect("installing signal handlers");
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                let _ = stop_tx.send(Stop::Signal(signal));
            }
        })
        .expect("spawning the signal thread");

    let idle_timeout = Duration::from_secs(config.auto_shutdown_timeout_secs);
    let exit_code = loop {
        // With an idle timeout, wake when it would expire; it is re-armed by every registration,
        // accepted task and finished task, so re-check after waking.
        let deadline = (!idle_timeout.is_zero())
            .then(|| state.idle_deadline(idle_timeout))
            .flatten();
        let stop = match deadline {
            Some(deadline) => match stop_rx.recv_deadline(deadline) {
                Ok(stop) => stop,
                Err(_) => {
                    if state
                        .idle_deadline(idle_timeout)
                        .is_some_and(|d| d <= Instant::now())
                    {
                        info!("Reached idle timeout, starting shutdown...");
                        break shut_down(&state, &outbox, &stop_rx, IDLE_SHUTDOWN_BUDGET);
                    }
                    continue;
                }
            },
            // Wake now and then to re-arm the idle timer once tasks are gone.
            None if !idle_timeout.is_zero() => {
                match stop_rx.recv_timeout(Duration::from_millis(500)) {
                    Ok(stop) => stop,
                    Err(_) => continue,
                }
            }
            None => match stop_rx.recv() {
                Ok(stop) => stop,
                Err(_) => break 1,
            },
        };
        match stop {
            Stop::Signal(signal) => {
                let name = if signal == SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                };
                info!("Received {name} signal, starting shutdown...");
                let grace = Duration::from_secs(config.graceful_shutdown_timeout_secs);
                break shut_down(&state, &outbox, &stop_rx, grace);
            }
            Stop::Connection(Ended::GrantTokenRefused(body)) => {
                error!("Authentication failed with status 403: {body}");
                error!(
                    "The broker refused N8N_RUNNERS_GRANT_TOKEN. A grant token is single-use and \
                     expires after N8N_RUNNERS_GRANT_TOKEN_TTL seconds: start the runner with a \
                     fresh one, or set N8N_RUNNERS_AUTH_TOKEN so it fetches its own."
                );
                break 1;
            }
            Stop::Connection(Ended::AuthTokenRefused) => {
                error!(
                    "Authentication failed with status 403: the broker refused \
                     N8N_RUNNERS_AUTH_TOKEN; it must equal n8n's N8N_RUNNERS_AUTH_TOKEN"
                );
                break 1;
            }
            Stop::Connection(Ended::Closed) => break 0,
            Stop::StartFailed(err) => {
                error!("{err}");
                break 1;
            }
        }
    };
    if config.health_enabled {
        info!("Health check server stopped");
    }
    exit_code
}

/// An idle runner has nothing to wait for; n8n's runner allows itself 3 s.
const IDLE_SHUTDOWN_BUDGET: Duration = Duration::from_secs(3);
/// What a stopped task needs to answer: SIGTERM, up to 1 s grace, SIGKILL, the reply.
const STOP_ALLOWANCE: Duration = Duration::from_millis(1500);

/// Stops offering, lets running tasks finish, stops what is left so every task gets its answer,
/// closes the connection and returns the exit code, all within `budget` (plus the time a
/// stopped task needs to answer, when `budget` is shorter than that).
fn shut_down(
    state: &RunnerState,
    outbox: &Outbox,
    stop_rx: &Receiver<Stop>,
    budget: Duration,
) -> i32 {
    let started = Instant::now();
    state.stop_offering();
    let finish_by = started + budget.saturating_sub(STOP_ALLOWANCE);
    if !state.wait_for_no_tasks(finish_by) {
        let running = state.task_count();
        info!("Stopping {running} task(s) that did not finish in time");
        for task_id in state.cancel_all() {
            // Accepted but never started: answer it, so the broker does not wait for it.
            let error = Failure::Cancelled.body();
            outbox.send(
                state.connection(),
                &RunnerMessage::TaskError {
                    task_id: &task_id,
                    error: &error,
                },
            );
        }
        let answered_by = started + budget.max(STOP_ALLOWANCE);
        if !state.wait_for_no_tasks(answered_by) {
            error!("{} task(s) did not answer in time", state.task_count());
        }
    }
    // Everything queued goes out before the close frame.
    outbox.close();
    let closed_by = Instant::now() + Duration::from_secs(3);
    loop {
        match stop_rx.recv_deadline(closed_by) {
            Ok(Stop::Connection(_)) | Err(_) => break,
            Ok(Stop::Signal(_)) | Ok(Stop::StartFailed(_)) => {} // already shutting down
        }
    }
    info!("Runner stopped");
    0
}
