//! The `n8n-python-runner` binary: reads the environment, then runs the runner.

use n8n_python_runner::config::{Config, ProcessEnv};
use n8n_python_runner::{logging, runner, secrets};

const HELP: &str = "\
n8n-python-runner: runs n8n's Python Code nodes; a drop-in replacement for n8n's Python task runner.

USAGE:
    n8n-python-runner            connect to the task broker named by the environment and run tasks
    n8n-python-runner --help     print this help
    n8n-python-runner --version  print the version

Configuration comes from the environment, as n8n and its launcher pass it. Any variable can also
be given as NAME_FILE (a file holding the value). The main ones:
    N8N_RUNNERS_GRANT_TOKEN              grant token for the broker (required)
    N8N_RUNNERS_TASK_BROKER_URI          broker address               [http://127.0.0.1:5679]
    N8N_RUNNERS_MAX_CONCURRENCY          tasks run at once            [5]
    N8N_RUNNERS_TASK_TIMEOUT             seconds a task may run       [60]
    N8N_RUNNERS_MAX_PAYLOAD              largest message, bytes       [1073741824]
    N8N_RUNNERS_STDLIB_ALLOW             stdlib modules user code may import (',' list or *) []
    N8N_RUNNERS_EXTERNAL_ALLOW           other packages user code may import (',' list or *) []
    N8N_RUNNERS_BUILTINS_DENY            builtins removed from user code [eval,exec,...]
    N8N_BLOCK_RUNNER_ENV_ACCESS          hide the environment from user code [true]
    N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT seconds tasks get on SIGTERM [10]
    N8N_RUNNERS_LAUNCHER_LOG_LEVEL       debug, info, warning, error  [info]
    N8N_RUNNERS_PYTHON                   Python interpreter to run code with [python3]
See README.md for every variable.
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => {}
        Some("-h" | "--help") => {
            print!("{HELP}");
            return;
        }
        Some("-V" | "--version") => {
            println!("n8n-python-runner {}", env!("CARGO_PKG_VERSION"));
            return;
        }
        Some(other) => {
            eprintln!("n8n-python-runner: unknown argument '{other}' (see --help)");
            std::process::exit(2);
        }
    }
    let config = match Config::from_source(&ProcessEnv) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(1);
        }
    };
    logging::init(config.log_level);
    secrets::hide_from_children();
    log::info!("Starting runner...");
    if std::env::var("N8N_SENTRY_DSN").is_ok_and(|dsn| !dsn.trim().is_empty()) {
        log::warn!("N8N_SENTRY_DSN is set, but this runner does not report to Sentry; ignoring it");
    }
    std::process::exit(runner::run(config));
}
