//! Runner configuration, read once at start-up from the environment.
//!
//! Every variable n8n's Python runner reads is read here, with the same name, default and
//! validation message. Each variable can also be given as `NAME_FILE` (a path whose trimmed
//! content is the value); `NAME` wins when both are set. A bad value is a [`ConfigError`] whose
//! text names the variable at fault; `main` prints it on one line and exits with status 1.

use std::collections::BTreeSet;
use std::fmt;

/// The largest message the 4-byte length prefix of the result pipe can describe.
pub const PIPE_MESSAGE_LIMIT: u64 = 4_294_967_295;

/// n8n's default `N8N_RUNNERS_BUILTINS_DENY`.
pub const DEFAULT_BUILTINS_DENY: &str = "eval,exec,compile,open,input,breakpoint,getattr,object,\
type,vars,setattr,delattr,hasattr,dir,memoryview,__build_class__,globals,locals,license,help,\
credits,copyright";

/// A configuration problem, printed as one line before the runner exits with status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// An allowlist of modules (`N8N_RUNNERS_STDLIB_ALLOW`, `N8N_RUNNERS_EXTERNAL_ALLOW`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowlist {
    /// `*`: every module of the category.
    All,
    /// These names (possibly none), sorted and de-duplicated.
    Only(BTreeSet<String>),
}

impl Allowlist {
    /// Parses a comma-separated list: parts trimmed, empty parts dropped, duplicates removed,
    /// case kept. `*` must stand alone.
    pub fn parse(var: &str, raw: &str) -> Result<Allowlist, ConfigError> {
        let entries: BTreeSet<String> = raw
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(str::to_owned)
            .collect();
        if !entries.contains("*") {
            return Ok(Allowlist::Only(entries));
        }
        if entries.len() == 1 {
            return Ok(Allowlist::All);
        }
        let listed: Vec<&str> = entries.iter().map(String::as_str).collect();
        Err(ConfigError(format!(
            "Wildcard '*' in {var} must be used alone, not with other modules. Got: {}",
            listed.join(", ")
        )))
    }

    /// The list as the runner hands it to the Python side: `["*"]` or the names.
    pub fn to_list(&self) -> Vec<String> {
        match self {
            Allowlist::All => vec!["*".to_owned()],
            Allowlist::Only(names) => names.iter().cloned().collect(),
        }
    }
}

/// Everything the runner needs to know, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// `N8N_RUNNERS_GRANT_TOKEN`: single-use token for the first WebSocket upgrade.
    pub grant_token: Option<String>,
    /// `N8N_RUNNERS_AUTH_TOKEN` (ours to read; n8n's launcher reads it): the shared secret the
    /// runner exchanges for a fresh grant token before every connection.
    pub auth_token: Option<String>,
    /// `N8N_RUNNERS_TASK_BROKER_URI`, e.g. `http://127.0.0.1:5679`.
    pub broker_uri: String,
    /// `N8N_RUNNERS_PATH` (as n8n's broker names it): where the broker's endpoints live, after
    /// any path of the broker URI itself. Default `/runners`.
    pub runners_path: String,
    /// `N8N_RUNNERS_MAX_CONCURRENCY`: tasks run at once (= worker threads).
    pub max_concurrency: usize,
    /// `N8N_RUNNERS_MAX_PAYLOAD`: largest WebSocket message and child result, in bytes.
    pub max_payload: u64,
    /// `N8N_RUNNERS_TASK_TIMEOUT`: seconds a task may run.
    pub task_timeout_secs: u64,
    /// `N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT`: idle seconds before exiting (0 = never).
    pub auto_shutdown_timeout_secs: u64,
    /// `N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT`: seconds running tasks get on shutdown.
    pub graceful_shutdown_timeout_secs: u64,
    /// `N8N_RUNNERS_STDLIB_ALLOW`.
    pub stdlib_allow: Allowlist,
    /// `N8N_RUNNERS_EXTERNAL_ALLOW`.
    pub external_allow: Allowlist,
    /// `N8N_RUNNERS_BUILTINS_DENY`: builtins removed from the user's namespace.
    pub builtins_deny: Vec<String>,
    /// `N8N_BLOCK_RUNNER_ENV_ACCESS`: clear the environment user code sees.
    pub block_env: bool,
    /// `N8N_RUNNERS_ALLOW_TRANSITIVE_IMPORTS`: imports made by allowlisted packages' own code
    /// skip the allowlist (the user's own imports never do).
    pub allow_transitive_imports: bool,
    /// `N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED`.
    pub health_enabled: bool,
    /// `N8N_RUNNERS_HEALTH_CHECK_SERVER_HOST`.
    pub health_host: String,
    /// `N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT` (0 = chosen by the OS).
    pub health_port: u16,
    /// `N8N_RUNNERS_HEALTH_CHECK_BROKER_TIMEOUT` (ours): seconds the broker connection may be
    /// down before `/healthz` answers 503.
    pub health_broker_timeout_secs: u64,
    /// `N8N_RUNNERS_TASK_MEMORY_LIMIT` (ours): MiB of address space per task process (0: none).
    pub task_memory_limit_mib: u64,
    /// `N8N_RUNNERS_TASK_CPU_LIMIT` (ours): CPU seconds per task process (0: none).
    pub task_cpu_limit_secs: u64,
    /// `N8N_RUNNERS_TASK_MAX_PROCESSES` (ours): processes and threads of the task user (0: none).
    pub task_max_processes: u64,
    /// `N8N_RUNNERS_TASK_MAX_FILE_SIZE` (ours): MiB a task may write to one file (0: none).
    pub task_max_file_size_mib: u64,
    /// `N8N_RUNNERS_TASK_USER` (ours): when the runner runs as root, task processes run as this
    /// user instead.
    pub task_user: String,
    /// Whether `N8N_RUNNERS_TASK_USER` was set (when the default `nobody` cannot read the
    /// interpreter, tasks fall back to uid 0 without capabilities; a user named explicitly is a
    /// configuration error instead).
    pub task_user_explicit: bool,
    /// `N8N_RUNNERS_TASK_NETWORK_ISOLATION` (ours): task processes get no network.
    pub task_network_isolation: bool,
    /// `N8N_RUNNERS_SANDBOX` (ours): `strict` refuses to start without every sandbox layer.
    pub sandbox_mode: crate::sandbox::Mode,
    /// `N8N_RUNNERS_PRELOAD` (ours): modules the forkserver imports before the first task.
    pub preload: Vec<String>,
    /// `N8N_RUNNERS_WARM_MAX_MEMORY` (ours): MiB the forkserver may grow by importing what
    /// tasks imported (0: it never does).
    pub warm_max_memory_mib: u64,
    /// `N8N_RUNNERS_LAUNCHER_LOG_LEVEL`.
    pub log_level: log::LevelFilter,
    /// `N8N_RUNNERS_PYTHON` (ours): the interpreter that runs the forkserver.
    pub python: String,
    /// Whether `N8N_RUNNERS_PYTHON` was set (else another interpreter may be preferred when the
    /// task user cannot read the default one).
    pub python_explicit: bool,
}

/// Where configuration values come from; the process environment in production, a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<F: Fn(&str) -> Option<String>> Source for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// Reads `NAME`, else the trimmed content of the file named by `NAME_FILE`.
fn read_var(src: &dyn Source, name: &str) -> Result<Option<String>, ConfigError> {
    if let Some(value) = src.get(name) {
        return Ok(Some(value));
    }
    let file_var = format!("{name}_FILE");
    let Some(path) = src.get(&file_var) else {
        return Ok(None);
    };
    match std::fs::read_to_string(&path) {
        Ok(content) => Ok(Some(content.trim().to_owned())),
        Err(err) => Err(ConfigError(format!(
            "Failed to read {file_var} from file {path}: {err}"
        ))),
    }
}

fn read_string(src: &dyn Source, name: &str, default: &str) -> Result<String, ConfigError> {
    Ok(read_var(src, name)?.unwrap_or_else(|| default.to_owned()))
}

fn read_int(src: &dyn Source, name: &str, default: i64) -> Result<i64, ConfigError> {
    match read_var(src, name)? {
        None => Ok(default),
        Some(raw) => raw.trim().parse::<i64>().map_err(|_| {
            ConfigError(format!(
                "Environment variable {name} must be an integer, got '{raw}'"
            ))
        }),
    }
}

fn read_bool(src: &dyn Source, name: &str, default: bool) -> Result<bool, ConfigError> {
    Ok(match read_var(src, name)? {
        None => default,
        Some(raw) => raw.trim().eq_ignore_ascii_case("true"),
    })
}

/// n8n's validation messages do not name the variable; ours append it so an operator knows
/// which one to fix, keeping n8n's text intact in front.
/// A comma-separated list of module names (`pandas, numpy.linalg`); empty entries are skipped.
fn parse_module_list(src: &dyn Source, name: &str) -> Result<Vec<String>, ConfigError> {
    let raw = read_string(src, name, "")?;
    let mut modules = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if !is_module_name(entry) {
            return Err(invalid(name, format!("'{entry}' is not a module name")));
        }
        modules.push(entry.to_owned());
    }
    Ok(modules)
}

/// A dotted module name of identifiers, at most 200 bytes: the rule for `N8N_RUNNERS_PRELOAD`
/// and for the module names task replies report (the forkserver applies the same one).
pub fn is_module_name(name: &str) -> bool {
    name.len() <= 200
        && name.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c == '_' || c.is_alphabetic())
                && part.chars().all(|c| c == '_' || c.is_alphanumeric())
        })
}

fn invalid(name: &str, message: String) -> ConfigError {
    ConfigError(format!("{message} ({name})"))
}

fn parse_log_level(raw: Option<String>) -> log::LevelFilter {
    match raw
        .as_deref()
        .map(str::trim)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("debug") => log::LevelFilter::Debug,
        Some("warning") | Some("warn") => log::LevelFilter::Warn,
        Some("error") | Some("critical") => log::LevelFilter::Error,
        Some("silent") | Some("off") => log::LevelFilter::Off,
        _ => log::LevelFilter::Info,
    }
}

impl Config {
    /// Reads and validates the whole configuration.
    pub fn from_source(src: &dyn Source) -> Result<Config, ConfigError> {
        let non_empty = |value: String| (!value.trim().is_empty()).then_some(value);
        let grant_token = non_empty(read_string(src, "N8N_RUNNERS_GRANT_TOKEN", "")?);
        let auth_token = non_empty(read_string(src, "N8N_RUNNERS_AUTH_TOKEN", "")?);
        let broker_uri = read_string(src, "N8N_RUNNERS_TASK_BROKER_URI", "http://127.0.0.1:5679")?;
        parse_broker_uri(&broker_uri)?;
        let runners_path = normalize_path(&read_string(src, "N8N_RUNNERS_PATH", "/runners")?);

        let max_concurrency = read_int(src, "N8N_RUNNERS_MAX_CONCURRENCY", 5)?;
        if max_concurrency < 1 {
            return Err(invalid(
                "N8N_RUNNERS_MAX_CONCURRENCY",
                format!("Max concurrency must be at least 1, got {max_concurrency}"),
            ));
        }
        let max_payload = read_int(src, "N8N_RUNNERS_MAX_PAYLOAD", 1_073_741_824)?;
        if max_payload < 1 {
            return Err(invalid(
                "N8N_RUNNERS_MAX_PAYLOAD",
                format!("Max payload must be positive, got {max_payload}"),
            ));
        }
        if max_payload as u64 > PIPE_MESSAGE_LIMIT {
            return Err(ConfigError(format!(
                "Max payload size of {max_payload} bytes exceeds pipe message limit of \
                 {PIPE_MESSAGE_LIMIT} bytes. Reduce N8N_RUNNERS_MAX_PAYLOAD."
            )));
        }
        let task_timeout = read_int(src, "N8N_RUNNERS_TASK_TIMEOUT", 60)?;
        if task_timeout <= 0 {
            return Err(invalid(
                "N8N_RUNNERS_TASK_TIMEOUT",
                format!("Task timeout must be positive, got {task_timeout}"),
            ));
        }
        let auto_shutdown = read_int(src, "N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT", 0)?;
        if auto_shutdown < 0 {
            return Err(invalid(
                "N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT",
                format!("Auto shutdown timeout must be non-negative, got {auto_shutdown}"),
            ));
        }
        let graceful = read_int(src, "N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT", 10)?;
        if graceful <= 0 {
            return Err(invalid(
                "N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT",
                format!("Graceful shutdown timeout must be positive, got {graceful}"),
            ));
        }

        let stdlib_allow = Allowlist::parse(
            "N8N_RUNNERS_STDLIB_ALLOW",
            &read_string(src, "N8N_RUNNERS_STDLIB_ALLOW", "")?,
        )?;
        let external_allow = Allowlist::parse(
            "N8N_RUNNERS_EXTERNAL_ALLOW",
            &read_string(src, "N8N_RUNNERS_EXTERNAL_ALLOW", "")?,
        )?;
        let builtins_deny = read_string(src, "N8N_RUNNERS_BUILTINS_DENY", DEFAULT_BUILTINS_DENY)?
            .split(',')
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .collect();
        let block_env = read_bool(src, "N8N_BLOCK_RUNNER_ENV_ACCESS", true)?;
        let allow_transitive_imports =
            read_bool(src, "N8N_RUNNERS_ALLOW_TRANSITIVE_IMPORTS", false)?;

        let health_enabled = read_bool(src, "N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED", false)?;
        let health_host = read_string(src, "N8N_RUNNERS_HEALTH_CHECK_SERVER_HOST", "127.0.0.1")?;
        let health_port = read_int(src, "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT", 5681)?;
        if !(0..=65535).contains(&health_port) {
            return Err(invalid(
                "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT",
                format!(
                    "Invalid health check configuration: Port must be between 0 and 65535, \
                     got {health_port}"
                ),
            ));
        }

        let health_broker_timeout = read_int(src, "N8N_RUNNERS_HEALTH_CHECK_BROKER_TIMEOUT", 30)?;
        if health_broker_timeout < 1 {
            return Err(invalid(
                "N8N_RUNNERS_HEALTH_CHECK_BROKER_TIMEOUT",
                format!("Broker timeout must be at least 1 second, got {health_broker_timeout}"),
            ));
        }

        let non_negative = |name: &str, default: i64| -> Result<u64, ConfigError> {
            let value = read_int(src, name, default)?;
            if value < 0 {
                return Err(invalid(
                    name,
                    format!("Value must not be negative, got {value}"),
                ));
            }
            Ok(value as u64)
        };
        let task_memory_limit_mib = non_negative("N8N_RUNNERS_TASK_MEMORY_LIMIT", 2048)?;
        let task_cpu_limit_secs = non_negative("N8N_RUNNERS_TASK_CPU_LIMIT", task_timeout)?;
        let task_max_processes = non_negative("N8N_RUNNERS_TASK_MAX_PROCESSES", 64)?;
        let task_max_file_size_mib = non_negative("N8N_RUNNERS_TASK_MAX_FILE_SIZE", 100)?;
        let task_user_explicit = read_var(src, "N8N_RUNNERS_TASK_USER")?.is_some();
        let task_user = read_string(src, "N8N_RUNNERS_TASK_USER", "nobody")?;
        let task_network_isolation = read_bool(src, "N8N_RUNNERS_TASK_NETWORK_ISOLATION", false)?;
        let warm_max_memory_mib = non_negative("N8N_RUNNERS_WARM_MAX_MEMORY", 512)?;
        let preload = parse_module_list(src, "N8N_RUNNERS_PRELOAD")?;
        let sandbox_raw = read_string(src, "N8N_RUNNERS_SANDBOX", "best-effort")?;
        let sandbox_mode = crate::sandbox::Mode::parse(&sandbox_raw).ok_or_else(|| {
            invalid(
                "N8N_RUNNERS_SANDBOX",
                format!("Sandbox mode must be 'best-effort' or 'strict', got '{sandbox_raw}'"),
            )
        })?;

        let log_level = parse_log_level(src.get("N8N_RUNNERS_LAUNCHER_LOG_LEVEL"));
        let python_explicit = read_var(src, "N8N_RUNNERS_PYTHON")?.is_some();
        let python = read_string(src, "N8N_RUNNERS_PYTHON", "python3")?;
        if python.trim().is_empty() {
            return Err(invalid(
                "N8N_RUNNERS_PYTHON",
                "Python interpreter must not be empty".to_owned(),
            ));
        }

        Ok(Config {
            grant_token,
            auth_token,
            broker_uri,
            runners_path,
            max_concurrency: max_concurrency as usize,
            max_payload: max_payload as u64,
            task_timeout_secs: task_timeout as u64,
            auto_shutdown_timeout_secs: auto_shutdown as u64,
            graceful_shutdown_timeout_secs: graceful as u64,
            stdlib_allow,
            external_allow,
            builtins_deny,
            block_env,
            allow_transitive_imports,
            health_enabled,
            health_host,
            health_port: health_port as u16,
            health_broker_timeout_secs: health_broker_timeout as u64,
            task_memory_limit_mib,
            task_cpu_limit_secs,
            task_max_processes,
            task_max_file_size_mib,
            task_user,
            task_user_explicit,
            task_network_isolation,
            sandbox_mode,
            preload,
            warm_max_memory_mib,
            log_level,
            python,
            python_explicit,
        })
    }

    /// Checks that the runner can authenticate to a broker (not needed by `exec`).
    pub fn require_credentials(&self) -> Result<(), ConfigError> {
        if self.grant_token.is_none() && self.auth_token.is_none() {
            return Err(ConfigError(
                "Environment variable N8N_RUNNERS_GRANT_TOKEN is required (or set \
                 N8N_RUNNERS_AUTH_TOKEN to let the runner fetch its own grant tokens)"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// The `host:port` part of the broker URI.
    pub fn broker_host_port(&self) -> String {
        parse_broker_uri(&self.broker_uri)
            .expect("validated in from_source")
            .0
    }

    /// The path under which the broker's endpoints are: the URI's own path, then
    /// `N8N_RUNNERS_PATH`, e.g. `/runners`.
    pub fn broker_path(&self) -> String {
        let (_, uri_path) = parse_broker_uri(&self.broker_uri).expect("validated in from_source");
        format!("{uri_path}{}", self.runners_path)
    }
}

/// `/runners`, `runners/`, `/` -> `/runners`, `/runners`, ``.
fn normalize_path(path: &str) -> String {
    let trimmed = path.trim().trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// Splits a broker URI such as `http://127.0.0.1:5679/prefix` into `host:port` and a path prefix
/// (`/prefix`, or empty). Only plain `http`/`ws` are supported: TLS needs a proxy in front.
fn parse_broker_uri(uri: &str) -> Result<(String, String), ConfigError> {
    let bad = || {
        invalid(
            "N8N_RUNNERS_TASK_BROKER_URI",
            format!("Invalid task broker URI '{uri}': expected e.g. http://127.0.0.1:5679"),
        )
    };
    let (scheme, rest) = uri.split_once("://").ok_or_else(bad)?;
    if matches!(scheme, "https" | "wss") {
        return Err(invalid(
            "N8N_RUNNERS_TASK_BROKER_URI",
            format!(
                "Broker URI '{uri}' needs TLS, which this runner does not speak; connect to the \
                 broker over http:// (same host or private network) or through a TLS proxy"
            ),
        ));
    }
    if !matches!(scheme, "http" | "ws") {
        return Err(bad());
    }
    let netloc = rest.split(['/', '?', '#']).next().unwrap_or("");
    let path = rest[netloc.len()..].split(['?', '#']).next().unwrap_or("");
    let path = normalize_path(path);
    // Credentials in the URI are not used for anything; drop them.
    let netloc = netloc.rsplit('@').next().unwrap_or("");
    if netloc.is_empty() {
        return Err(bad());
    }
    if netloc
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        return Ok((netloc.to_owned(), path));
    }
    Ok((format!("{netloc}:80"), path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_source(&move |name: &str| map.get(name).cloned())
    }

    #[test]
    fn defaults_match_n8n() {
        let config = load(&[("N8N_RUNNERS_GRANT_TOKEN", "t")]).unwrap();
        assert_eq!(config.broker_host_port(), "127.0.0.1:5679");
        assert_eq!(config.broker_path(), "/runners");
        assert_eq!(config.max_concurrency, 5);
        assert_eq!(config.max_payload, 1_073_741_824);
        assert_eq!(config.task_timeout_secs, 60);
        assert_eq!(config.auto_shutdown_timeout_secs, 0);
        assert_eq!(config.graceful_shutdown_timeout_secs, 10);
        assert_eq!(config.stdlib_allow, Allowlist::Only(BTreeSet::new()));
        assert_eq!(config.builtins_deny.len(), 22);
        assert!(config.block_env);
        assert!(!config.allow_transitive_imports);
        assert!(!config.health_enabled);
        assert_eq!(config.health_port, 5681);
        assert_eq!(config.log_level, log::LevelFilter::Info);
    }

    #[test]
    fn preload_takes_module_names_and_names_the_variable_at_fault() {
        let config = load(&[("N8N_RUNNERS_PRELOAD", " pandas, numpy.linalg ,")]).unwrap();
        assert_eq!(config.preload, ["pandas", "numpy.linalg"]);
        let err = load(&[("N8N_RUNNERS_PRELOAD", "pandas,os;rm")]).unwrap_err();
        assert_eq!(err.0, "'os;rm' is not a module name (N8N_RUNNERS_PRELOAD)");
    }

    #[test]
    fn only_dotted_identifiers_of_up_to_200_bytes_are_module_names() {
        assert!(is_module_name("pandas"));
        assert!(is_module_name("sklearn.linear_model"));
        assert!(is_module_name("_strptime"));
        for bad in ["", "a..b", "1abc", "os; rm", "a/b", &"m".repeat(201)] {
            assert!(!is_module_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_grant_or_auth_token_is_required_to_connect() {
        let err = load(&[]).unwrap().require_credentials().unwrap_err();
        assert!(err
            .0
            .starts_with("Environment variable N8N_RUNNERS_GRANT_TOKEN is required"));
        assert!(load(&[("N8N_RUNNERS_AUTH_TOKEN", "a")])
            .unwrap()
            .require_credentials()
            .is_ok());
    }

    #[test]
    fn file_form_is_read_and_trimmed() {
        let dir = std::env::temp_dir().join(format!("cfg-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, "  secret\n").unwrap();
        let path = path.to_str().unwrap().to_owned();
        let config = load(&[("N8N_RUNNERS_GRANT_TOKEN_FILE", &path)]).unwrap();
        assert_eq!(config.grant_token.as_deref(), Some("secret"));
        let config = load(&[
            ("N8N_RUNNERS_GRANT_TOKEN", "direct"),
            ("N8N_RUNNERS_GRANT_TOKEN_FILE", &path),
        ])
        .unwrap();
        assert_eq!(config.grant_token.as_deref(), Some("direct"));
    }

    #[test]
    fn unreadable_file_names_the_variable() {
        let err = load(&[("N8N_RUNNERS_GRANT_TOKEN_FILE", "/nonexistent/x")]).unwrap_err();
        assert!(err
            .0
            .starts_with("Failed to read N8N_RUNNERS_GRANT_TOKEN_FILE from file /nonexistent/x: "));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases = [
            ("N8N_RUNNERS_TASK_TIMEOUT", "0", "Task timeout must be positive, got 0"),
            ("N8N_RUNNERS_TASK_TIMEOUT", "abc", "Environment variable N8N_RUNNERS_TASK_TIMEOUT must be an integer, got 'abc'"),
            ("N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT", "-1", "Auto shutdown timeout must be non-negative, got -1"),
            ("N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT", "0", "Graceful shutdown timeout must be positive, got 0"),
            ("N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT", "70000", "Invalid health check configuration: Port must be between 0 and 65535, got 70000"),
            ("N8N_RUNNERS_MAX_PAYLOAD", "4294967296", "Max payload size of 4294967296 bytes exceeds pipe message limit of 4294967295 bytes. Reduce N8N_RUNNERS_MAX_PAYLOAD."),
            ("N8N_RUNNERS_MAX_CONCURRENCY", "0", "Max concurrency must be at least 1, got 0"),
            ("N8N_RUNNERS_SANDBOX", "on", "Sandbox mode must be 'best-effort' or 'strict', got 'on'"),
        ];
        for (var, value, text) in cases {
            let err = load(&[("N8N_RUNNERS_GRANT_TOKEN", "t"), (var, value)]).unwrap_err();
            assert!(err.0.contains(text), "{var}={value}: {}", err.0);
            assert!(err.0.contains(var), "{var}={value}: {}", err.0);
        }
    }

    #[test]
    fn allowlists_are_trimmed_deduplicated_and_sorted() {
        let list = Allowlist::parse("X", " re,,json , re,").unwrap();
        assert_eq!(list.to_list(), vec!["json", "re"]);
        assert_eq!(
            Allowlist::parse("X", "   ").unwrap().to_list(),
            Vec::<String>::new()
        );
        assert_eq!(Allowlist::parse("X", " * ").unwrap(), Allowlist::All);
    }

    #[test]
    fn wildcard_with_other_entries_is_rejected() {
        let err = Allowlist::parse("N8N_RUNNERS_STDLIB_ALLOW", "re, *,json").unwrap_err();
        assert_eq!(
            err.0,
            "Wildcard '*' in N8N_RUNNERS_STDLIB_ALLOW must be used alone, not with other modules. \
             Got: *, json, re"
        );
    }

    #[test]
    fn broker_uri_gives_host_port_and_path_prefix() {
        let split = |uri: &str| parse_broker_uri(uri).unwrap();
        assert_eq!(
            split("http://localhost:5679"),
            ("localhost:5679".into(), "".into())
        );
        assert_eq!(
            split("http://n8n.internal/base/"),
            ("n8n.internal:80".into(), "/base".into())
        );
        assert!(parse_broker_uri("localhost:5679").is_err());
        let err = parse_broker_uri("https://n8n.example").unwrap_err();
        assert!(err.0.contains("TLS") && err.0.contains("N8N_RUNNERS_TASK_BROKER_URI"));
    }

    #[test]
    fn broker_path_joins_the_uri_path_and_runners_path() {
        let config = load(&[("N8N_RUNNERS_TASK_BROKER_URI", "http://h:1/base")]).unwrap();
        assert_eq!(config.broker_path(), "/base/runners");
        let config = load(&[("N8N_RUNNERS_PATH", "custom/")]).unwrap();
        assert_eq!(config.broker_path(), "/custom");
    }
}
