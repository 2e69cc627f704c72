//! The `n8n-python-runner` binary: reads the environment, then runs the runner, one snippet
//! (`exec`), or a health probe (`healthcheck`).

use n8n_python_runner::config::{Config, ProcessEnv};
use n8n_python_runner::exec::{self, ExecArgs};
use n8n_python_runner::{health, logging, runner, secrets};

const HELP: &str = "\
n8n-python-runner: runs n8n's Python Code nodes; a drop-in replacement for n8n's Python task runner.

USAGE:
    n8n-python-runner                  connect to the task broker named by the environment and run tasks
    n8n-python-runner exec CODE_FILE [--items ITEMS.json] [--mode all|each] [--query JSON]
                                       run one Code-node snippet locally, exactly as a task, and print
                                       its prints (stderr) and result items (stdout)
    n8n-python-runner healthcheck      exit 0 if the health server of a runner on this host says healthy
    n8n-python-runner --help | --version

Configuration comes from the environment, as n8n and its launcher pass it. Any variable can also
be given as NAME_FILE (a file holding the value). The main ones [default]:
    N8N_RUNNERS_GRANT_TOKEN               single-use grant token for the broker
    N8N_RUNNERS_AUTH_TOKEN                or: the shared auth token; the runner fetches its own grant tokens
    N8N_RUNNERS_TASK_BROKER_URI           broker address                       [http://127.0.0.1:5679]
    N8N_RUNNERS_MAX_CONCURRENCY           tasks run at once                    [5]
    N8N_RUNNERS_TASK_TIMEOUT              seconds a task may run               [60]
    N8N_RUNNERS_MAX_PAYLOAD               largest message, bytes               [1073741824]
    N8N_RUNNERS_STDLIB_ALLOW              stdlib modules user code may import (a,b or *)  []
    N8N_RUNNERS_EXTERNAL_ALLOW            other packages user code may import (a,b or *)  []
    N8N_RUNNERS_BUILTINS_DENY             builtins removed from user code      [eval,exec,...]
    N8N_BLOCK_RUNNER_ENV_ACCESS           hide the environment from user code  [true]
    N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT seconds tasks get on SIGTERM         [10]
    N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT     exit after this many idle seconds    [0 = never]
    N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED  serve /healthz and /metrics       [false]
    N8N_RUNNERS_LAUNCHER_LOG_LEVEL        debug, info, warning, error          [info]
    N8N_RUNNERS_PYTHON                    Python interpreter for user code     [python3]
    N8N_RUNNERS_SANDBOX                   best-effort, or strict: refuse to start without
                                          every kernel sandbox layer           [best-effort]
    N8N_RUNNERS_TASK_USER                 uid tasks run as when started as root [nobody]
    N8N_RUNNERS_TASK_NETWORK_ISOLATION    tasks get no network at all          [false]
    N8N_RUNNERS_PRELOAD                   modules to import before the first task (a,b) []
    N8N_RUNNERS_WARM_MAX_MEMORY           MiB the forkserver may grow by importing what
                                          tasks import, for later tasks (0 = never) [512]
See README.md for every variable.
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str);
    match command {
        None | Some("exec") | Some("healthcheck") => {}
        Some("-h" | "--help" | "help") => {
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
    match command {
        Some("healthcheck") => match health::probe(&config.health_host, config.health_port) {
            Ok(()) => println!("healthy"),
            Err(err) => {
                eprintln!("unhealthy: {err}");
                std::process::exit(1);
            }
        },
        Some("exec") => {
            let exec_args = match ExecArgs::parse(&args[1..]) {
                Ok(exec_args) => exec_args,
                Err(err) => {
                    eprintln!("{err}");
                    std::process::exit(2);
                }
            };
            // Only problems, unless asked: the output is the snippet's.
            let quiet = std::env::var_os("N8N_RUNNERS_LAUNCHER_LOG_LEVEL").is_none();
            let level = if quiet {
                log::LevelFilter::Warn
            } else {
                config.log_level
            };
            logging::init(level, logging::Target::Stderr);
            std::process::exit(exec::run(exec_args, config));
        }
        _ => {
            if let Err(err) = config.require_credentials() {
                eprintln!("{err}");
                std::process::exit(1);
            }
            logging::init(config.log_level, logging::Target::Stdout);
            secrets::hide_from_children();
            log::info!("Starting runner...");
            if std::env::var("N8N_SENTRY_DSN").is_ok_and(|dsn| !dsn.trim().is_empty()) {
                log::warn!(
                    "N8N_SENTRY_DSN is set, but this runner does not report to Sentry; ignoring it"
                );
            }
            std::process::exit(runner::run(config));
        }
    }
}
