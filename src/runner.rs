//! Starting the runner's threads, and stopping them.
//!
//! Threads: the WebSocket thread (sole owner of the broker connection), the offer timer, a fixed
//! pool of workers, the forkserver supervisor, and a signal thread. The main thread only waits
//! for a reason to stop: SIGTERM/SIGINT, or a fatal broker error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{error, info};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::broker_connection::{BrokerConnection, Fatal};
use crate::config::Config;
use crate::forkserver::{self, Forkserver};
use crate::secrets::SECRET_VARS;
use crate::security_rules::{self, ImportPolicy};
use crate::task_state::RunnerState;
use crate::validation::Validator;
use crate::worker::{self, WorkerContext};
use crate::{ids, offers, outbox};

/// Modules every task uses; imported once in the forkserver instead of once per task.
const PRELOAD: &[&str] = &["json"];

enum Stop {
    Signal(i32),
    Fatal(Fatal),
}

/// How the forkserver is started for this configuration.
pub fn forkserver_settings(config: &Config) -> forkserver::Settings {
    // With env access blocked each child clears its environment; the forkserver keeps only what
    // finding and starting the interpreter needs (pyenv shims, for one, need PATH and HOME).
    let env = if config.block_env {
        std::env::vars()
            .filter(|(name, _)| matches!(name.as_str(), "PATH" | "HOME" | "LANG" | "TZ"))
            .collect()
    } else {
        std::env::vars()
            .filter(|(name, _)| !SECRET_VARS.contains(&name.as_str()))
            .collect()
    };
    let mut preload: Vec<String> = PRELOAD.iter().map(|m| m.to_string()).collect();
    for list in [&config.stdlib_allow, &config.external_allow] {
        preload.extend(list.to_list().into_iter().filter(|m| m != "*"));
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
    });
    let serde_json::Value::Object(config_map) = json else {
        unreachable!("json! of an object literal is an object")
    };
    forkserver::Settings {
        python: config.python.clone(),
        env,
        config: config_map,
    }
}

/// Runs until told to stop; returns the process exit code.
pub fn run(config: Config) -> i32 {
    let config = Arc::new(config);
    let forkserver = match Forkserver::start(forkserver_settings(&config)) {
        Ok(forkserver) => forkserver,
        Err(err) => {
            error!("{err}");
            return 1;
        }
    };
    let validator = {
        let info = &forkserver
            .connection(Duration::ZERO)
            .expect("a started forkserver is published")
            .info;
        let policy = ImportPolicy::new(
            info.stdlib_module_names.iter().cloned(),
            config.stdlib_allow.clone(),
            config.external_allow.clone(),
        );
        Arc::new(Validator::new(policy, &info.python))
    };
    let state = Arc::new(RunnerState::new(config.max_concurrency));
    let (outbox, outbox_rx) = outbox::outbox().expect("creating an eventfd");
    let (kick, kicks) = offers::kick_channel();
    offers::spawn(state.clone(), outbox.clone(), kicks);

    let (jobs_tx, jobs_rx) = crossbeam_channel::bounded(config.max_concurrency);
    worker::spawn_pool(
        config.max_concurrency,
        jobs_rx,
        WorkerContext {
            state: state.clone(),
            outbox,
            kick: kick.clone(),
            forkserver,
            validator,
            task_timeout: Duration::from_secs(config.task_timeout_secs),
            max_payload: config.max_payload,
        },
    );

    let (stop_tx, stop_rx) = crossbeam_channel::bounded(2);
    let connection = BrokerConnection {
        config: config.clone(),
        runner_id: ids::new_id(),
        state: state.clone(),
        outbox_rx,
        jobs: jobs_tx,
        kick,
    };
    let fatal_tx = stop_tx.clone();
    std::thread::Builder::new()
        .name("broker".into())
        .spawn(move || {
            let fatal = connection.run();
            let _ = fatal_tx.send(Stop::Fatal(fatal));
        })
        .expect("spawning the broker thread");

    let mut signals = Signals::new([SIGTERM, SIGINT]).expect("installing signal handlers");
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let _ = stop_tx.send(Stop::Signal(signal));
            }
        })
        .expect("spawning the signal thread");

    match stop_rx.recv() {
        Ok(Stop::Fatal(Fatal::AuthRejected(body))) => {
            error!("Authentication failed with status 403: {body}");
            error!(
                "The broker refused N8N_RUNNERS_GRANT_TOKEN. A grant token is single-use and \
                 expires after N8N_RUNNERS_GRANT_TOKEN_TTL seconds: start the runner with a fresh one."
            );
            1
        }
        Ok(Stop::Signal(signal)) => {
            let name = if signal == SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            info!("Received {name} signal, starting shutdown...");
            shut_down(
                &state,
                Duration::from_secs(config.graceful_shutdown_timeout_secs),
            );
            0
        }
        Err(_) => 1,
    }
}

/// Stops offering, lets running tasks finish within `grace`, then stops what is left.
fn shut_down(state: &RunnerState, grace: Duration) {
    state.stop_offering();
    let deadline = Instant::now() + grace;
    while state.task_count() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if state.task_count() > 0 {
        info!(
            "Shutdown grace period over; stopping {} task(s)",
            state.task_count()
        );
        state.cancel_all_running();
        // Stopped tasks answer within the termination grace; give their replies time to leave.
        let hard_deadline = Instant::now() + Duration::from_secs(2);
        while state.task_count() > 0 && Instant::now() < hard_deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    info!("Runner stopped");
}
