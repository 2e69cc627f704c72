//! Assume breach: user code has the real `open`, `os`, `ctypes` and `subprocess` (every module
//! allowed, no builtin removed) and tries, one thing per probe, to reach past its task. Each
//! probe names the exact failure the kernel sandbox gives it (exception class and errno), and
//! the runner goes on serving ordinary tasks afterwards. Real binary in broker mode (and once in
//! `exec` mode), real python3, real namespaces, Landlock and seccomp.
//!
//! The whole suite runs three times: with the runner started as root (task processes then run as
//! `nobody`), as an unprivileged user (uid 1000 through `setpriv`), and as that user under a
//! seccomp filter that refuses namespaces the way Docker's default profile does, so the runner
//! falls back to confining each task without namespaces (as in the Docker image).

mod common;

use std::collections::HashMap;
use std::io::{ErrorKind, Read};
use std::net::TcpListener;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const BINARY: &str = env!("CARGO_BIN_EXE_n8n-python-runner");
/// The uid the unprivileged runner runs as (when the test process is root).
const UNPRIVILEGED_UID: u32 = 1000;

/// Who starts the runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The runner is root; task processes switch to `N8N_RUNNERS_TASK_USER` (`nobody`).
    Root,
    /// The runner is an ordinary user; task processes keep its uid.
    Unprivileged,
    /// As `Unprivileged`, under a seccomp filter that refuses namespaces as Docker's default
    /// profile does ([`docker_like_filters`]): the forkserver is a plain child and every task
    /// confines itself without namespaces.
    DockerLike,
}

fn test_process_is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

impl Mode {
    /// Why this mode cannot run here, if it cannot.
    fn skip_reason(self) -> Option<&'static str> {
        match self {
            Mode::Root if !test_process_is_root() => Some("the test process is not root"),
            Mode::Unprivileged | Mode::DockerLike
                if test_process_is_root() && !Path::new(SETPRIV).exists() =>
            {
                Some("setpriv is not installed")
            }
            _ => None,
        }
    }

    /// `argv` as started in this mode.
    fn argv(self, argv: &[&str]) -> Vec<String> {
        let mut command = Vec::new();
        if self != Mode::Root && test_process_is_root() {
            command.extend([
                SETPRIV.to_owned(),
                format!("--reuid={UNPRIVILEGED_UID}"),
                format!("--regid={UNPRIVILEGED_UID}"),
                "--clear-groups".to_owned(),
                "--".to_owned(),
            ]);
        }
        command.extend(argv.iter().map(|a| a.to_string()));
        command
    }

    /// The uid task code sees.
    fn task_uid(self) -> u32 {
        match self {
            Mode::Root => nix::unistd::User::from_name("nobody")
                .unwrap()
                .expect("a nobody user")
                .uid
                .as_raw(),
            Mode::Unprivileged | Mode::DockerLike if test_process_is_root() => UNPRIVILEGED_UID,
            Mode::Unprivileged | Mode::DockerLike => nix::unistd::geteuid().as_raw(),
        }
    }

    /// Whether task processes get namespaces of their own.
    fn namespaced(self) -> bool {
        self != Mode::DockerLike
    }

    /// `argv` as started in this mode, with a clean environment but `PATH`, in `cwd`; in
    /// `DockerLike` mode under [`docker_like_filters`], installed just before the exec.
    fn command(self, argv: &[&str], cwd: &Path) -> Command {
        let argv = self.argv(argv);
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(cwd);
        if self == Mode::DockerLike {
            // Built here: the closure runs between fork and exec, where it must not allocate.
            let filters = docker_like_filters();
            // SAFETY: the closure only makes the prctl and seccomp system calls (through
            // seccompiler::apply_filter, which allocates nothing on success or failure) on
            // programs built before the fork.
            unsafe {
                command.pre_exec(move || {
                    for filter in &filters {
                        seccompiler::apply_filter(filter).map_err(|err| match err {
                            seccompiler::Error::Prctl(err) | seccompiler::Error::Seccomp(err) => {
                                err
                            }
                            _ => std::io::Error::from_raw_os_error(nix::libc::EINVAL),
                        })?;
                    }
                    Ok(())
                });
            }
        }
        command
    }
}

/// What Docker's default seccomp profile does to namespaces, for a process that holds no
/// `CAP_SYS_ADMIN`: EPERM for `unshare`, `setns`, `mount`, `umount2` and for `clone` with any
/// namespace flag, ENOSYS for `clone3` (whose flags seccomp cannot see; glibc then falls back to
/// `clone`). Two programs, as one seccompiler filter has one action on a match.
fn docker_like_filters() -> Vec<seccompiler::BpfProgram> {
    use nix::libc;
    use seccompiler::{
        BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule, TargetArch,
    };
    let arch = TargetArch::try_from(std::env::consts::ARCH).expect("a seccompiler architecture");
    let build = |rules: Vec<(i64, Vec<SeccompRule>)>, errno: i32| -> BpfProgram {
        SeccompFilter::new(
            rules.into_iter().collect(),
            SeccompAction::Allow,
            SeccompAction::Errno(errno as u32),
            arch,
        )
        .expect("a valid filter")
        .try_into()
        .expect("a compilable filter")
    };
    let namespace_flags = [
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWNS,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWCGROUP,
    ];
    // clone's flags are its first argument on x86_64 and aarch64 alike; rules of one syscall
    // are alternatives, so any one of the bits is enough.
    let clone_rules = namespace_flags
        .into_iter()
        .map(|flag| {
            let flag = flag as u64;
            let condition = SeccompCondition::new(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(flag),
                flag,
            )
            .expect("a valid condition");
            SeccompRule::new(vec![condition]).expect("a valid rule")
        })
        .collect();
    // An empty rule list matches every call.
    let eperm = vec![
        (libc::SYS_unshare, Vec::new()),
        (libc::SYS_setns, Vec::new()),
        (libc::SYS_mount, Vec::new()),
        (libc::SYS_umount2, Vec::new()),
        (libc::SYS_clone, clone_rules),
    ];
    let enosys = vec![(libc::SYS_clone3, Vec::new())];
    vec![build(eperm, libc::EPERM), build(enosys, libc::ENOSYS)]
}

const SETPRIV: &str = "/usr/bin/setpriv";

/// The interpreter: Debian's world-readable `/usr/bin/python3` in every mode when present.
fn python() -> String {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3".to_owned()
    } else {
        common::python()
    }
}

/// A fresh world-writable directory outside /tmp (where every task's temporary directory is), so
/// only the sandbox, not file permissions, stands between a task and it. Removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> ScratchDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "sandbox-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
        ScratchDir(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The variables every runner here gets: all modules allowed, no builtin removed.
fn breach_env() -> Vec<(&'static str, String)> {
    vec![
        ("N8N_RUNNERS_PYTHON", python()),
        ("N8N_RUNNERS_STDLIB_ALLOW", "*".to_owned()),
        ("N8N_RUNNERS_EXTERNAL_ALLOW", "*".to_owned()),
        ("N8N_RUNNERS_BUILTINS_DENY", String::new()),
    ]
}

/// Starts the runner binary in `mode`, in `cwd`, with `vars`.
fn start_runner(mode: Mode, cwd: &Path, vars: &[(&str, String)]) -> Runner {
    let mut command = mode.command(&[BINARY], cwd);
    command
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null());
    Runner::spawn(command)
}

/// A registered runner in broker mode, started in `mode` with its working directory in a
/// world-writable scratch directory.
struct Sandboxed {
    runner: Runner,
    side: BrokerSide,
    cwd: ScratchDir,
    _broker: TestBroker,
}

impl Sandboxed {
    fn start(mode: Mode, extra: &[(&'static str, &str)]) -> Sandboxed {
        let broker = TestBroker::start();
        let cwd = ScratchDir::new();
        let mut vars = breach_env();
        vars.push(("N8N_RUNNERS_GRANT_TOKEN", TOKEN.to_owned()));
        vars.push(("N8N_RUNNERS_TASK_BROKER_URI", broker.uri()));
        vars.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        let runner = start_runner(mode, &cwd.0, &vars);
        let mut side = broker.accept();
        side.handshake();
        runner.wait_for_log("Sandbox: ");
        Sandboxed {
            runner,
            side,
            cwd,
            _broker: broker,
        }
    }

    /// Runs `code` (with the `attempt` helper defined) as a task; returns the `json` of the
    /// first item it returns.
    fn probe(&mut self, task_id: &str, code: &str, input: Value) -> Value {
        let code = format!("{ATTEMPT}{code}");
        let outcome = self
            .side
            .run_task(task_id, all_items(&code, json!([{ "json": input }])));
        outcome.result()[0]["json"].clone()
    }

    /// The forkserver's pid as the runner sees it. Read again for a while when the list is not
    /// one pid: the kernel documents /proc/<pid>/task/<tid>/children as unreliable while the
    /// children change, and a read once came back empty under load.
    fn forkserver_pid(&self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut children = children_of(self.runner.pid());
        while children.len() != 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            children = children_of(self.runner.pid());
        }
        assert_eq!(children.len(), 1, "one forkserver: {children:?}");
        children[0]
    }

    /// An ordinary task still runs and returns its result.
    fn assert_still_works(&mut self) {
        let outcome = self.side.run_task(
            "ordinary",
            all_items("return [{'json': {'sum': 1 + 1}}]", json!([])),
        );
        assert_eq!(outcome.result(), &json!([{"json": {"sum": 2}}]));
    }

    /// Runs `hog` and, once it writes `hog holding` to its stderr, `victim` next to it (two
    /// tasks at once). Returns the `json` of each one's first item and the task ids in the order
    /// they finished.
    fn hog_and_victim(&mut self, hog: &str, victim: &str) -> (Value, Value, Vec<String>) {
        self.side.accept_task("hog");
        self.side.accept_task("victim");
        self.side.send_settings("hog", all_items(hog, json!([])));
        self.runner.wait_for_log("python: hog holding");
        self.side
            .send_settings("victim", all_items(victim, json!([])));
        let mut results = HashMap::new();
        let mut order = Vec::new();
        while order.len() < 2 {
            let message = self.side.recv();
            match message["type"].as_str().unwrap() {
                "runner:rpc" => continue,
                "runner:taskdone" => {
                    let id = message["taskId"].as_str().unwrap().to_owned();
                    results.insert(id.clone(), message["data"]["result"][0]["json"].clone());
                    order.push(id);
                }
                _ => panic!("a task failed: {message}"),
            }
        }
        (
            results.remove("hog").unwrap(),
            results.remove("victim").unwrap(),
            order,
        )
    }
}

/// Task-code prelude: `attempt(action)` is `'ok'` or `[exception class, errno]`.
const ATTEMPT: &str = r#"
import os

def attempt(action):
    try:
        action()
        return 'ok'
    except OSError as error:
        return [type(error).__name__, error.errno]

"#;

fn permission_error(errno: i32) -> Value {
    json!(["PermissionError", errno])
}

/// How a task fails to reach a host path that it must not reach: Landlock's PermissionError,
/// or, with namespaces, FileNotFoundError for a path under /tmp (the task's own /tmp covers
/// the host's; this checkout may well live there).
fn out_of_reach(mode: Mode, path: &str) -> Value {
    if mode.namespaced() && path.starts_with("/tmp/") {
        json!(["FileNotFoundError", 2])
    } else {
        permission_error(13)
    }
}

// ---------------------------------------------------------------------------------------------
// The probes, each run once per mode (see the end of the file).

fn the_start_up_line_reports_every_layer_on(mode: Mode) {
    let sb = Sandboxed::start(mode, &[]);
    let line = sb.runner.wait_for_log("Sandbox: ");
    assert!(line.starts_with("Sandbox: landlock v"), "{line}");
    let expected_tail = if mode.namespaced() {
        format!(
            " on, seccomp on, namespaces user+pid+mount on, network isolation off, \
             capabilities none, task uid {}",
            mode.task_uid()
        )
    } else {
        // Every layer but the namespaces, and the missing one said loudly.
        format!(
            " on, seccomp on, namespaces OFF, network isolation off, capabilities none, task \
             uid {} (namespaces unavailable: task processes are less confined; \
             N8N_RUNNERS_SANDBOX=strict refuses to start like this)",
            mode.task_uid()
        )
    };
    assert!(line.ends_with(&expected_tail), "{line}");
    let refused: Vec<String> = sb
        .runner
        .log()
        .into_iter()
        .filter(|l| l.starts_with("Could not start the Python forkserver in namespaces"))
        .collect();
    if mode.namespaced() {
        assert_eq!(refused, Vec::<String>::new());
    } else {
        let expected = "Could not start the Python forkserver in namespaces of its own (clone: \
                        EPERM: Operation not permitted); task processes get no namespaces";
        assert_eq!(refused, [expected]);
    }
}

fn the_runner_and_the_forkserver_cannot_be_signalled(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    let input = json!({"runner_pid": sb.runner.pid(), "forkserver_pid": sb.forkserver_pid()});
    let code = r#"
pids = _items[0]['json']
return [{'json': {
    'runner': attempt(lambda: os.kill(pids['runner_pid'], 0)),
    'forkserver': attempt(lambda: os.kill(pids['forkserver_pid'], 0)),
}}]
"#;
    let result = sb.probe("signal", code, input);
    if mode.namespaced() {
        assert_eq!(
            result,
            json!({"runner": ["ProcessLookupError", 3], "forkserver": ["ProcessLookupError", 3]})
        );
    } else {
        // Without a PID namespace both pids exist for the task, and are of its own uid: EPERM
        // from Landlock's signal scope, which holds signals inside the task's own domain.
        assert_eq!(
            result,
            json!({"runner": permission_error(1), "forkserver": permission_error(1)})
        );
    }
    sb.assert_still_works();
}

fn the_limits_and_priority_of_other_processes_cannot_be_changed(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    // With namespaces the one other process a task can name is its slot's init (pid 1); without,
    // the runner and the forkserver share its uid and are in sight.
    let targets: Vec<u32> = if mode.namespaced() {
        vec![1]
    } else {
        vec![sb.runner.pid(), sb.forkserver_pid()]
    };
    let code = r#"
import resource
own = [attempt(lambda: os.setpriority(os.PRIO_PROCESS, 0, 5)),
       attempt(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))),
       attempt(lambda: os.sched_setaffinity(0, os.sched_getaffinity(0)))]
others = {}
for pid in _items[0]['json']['targets']:
    others[str(pid)] = [
        attempt(lambda: resource.prlimit(pid, resource.RLIMIT_NOFILE, (16, 16))),
        attempt(lambda: os.setpriority(os.PRIO_PROCESS, pid, 19)),
        attempt(lambda: os.sched_setaffinity(pid, {0})),
        attempt(lambda: os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))),
    ]
return [{'json': {'own': own, 'others': others}}]
"#;
    let result = sb.probe("renice", code, json!({"targets": targets}));
    assert_eq!(result["own"], json!(["ok", "ok", "ok"]), "{result}");
    for pid in &targets {
        assert_eq!(
            result["others"][pid.to_string()],
            json!([
                permission_error(1),
                permission_error(1),
                permission_error(1),
                permission_error(1)
            ]),
            "{result}"
        );
    }
    sb.assert_still_works();
}

/// Warming works for a runner as root, as an unprivileged user and without user namespaces
/// (where the trial child is confined in the forkserver, not in a slot).
fn a_module_a_task_imported_is_warm_for_later_tasks(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    let code = "import sys\nwarm = 'colorsys' in sys.modules\nimport colorsys\n\
                return [{'json': {'warm': warm}}]";
    assert_eq!(sb.probe("first", code, json!({})), json!({"warm": false}));
    sb.runner.wait_for_log("warmed colorsys");
    assert_eq!(sb.probe("second", code, json!({})), json!({"warm": true}));
    sb.assert_still_works();
}

fn proc_lists_only_the_tasks_own_processes(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    let input = json!({"runner_pid": sb.runner.pid()});
    let code = r#"
import time
child = os.fork()
if child == 0:
    time.sleep(30)
    os._exit(0)
try:
    try:
        listed = sorted((name for name in os.listdir('/proc') if name.isdigit()), key=int)
    except OSError as error:
        listed = [type(error).__name__, error.errno]
    runner_there = os.path.exists(f"/proc/{_items[0]['json']['runner_pid']}")
finally:
    os.kill(child, 9)
    os.waitpid(child, 0)
return [{'json': {'pid': os.getpid(), 'child': child, 'listed': listed,
                  'runner_there': runner_there}}]
"#;
    let result = sb.probe("proc", code, input);
    let own = result["pid"].as_u64().expect("the task's pid");
    let child = result["child"].as_u64().expect("a child pid");
    if !mode.namespaced() {
        // Without a PID namespace pids are not hidden (a known limit of the fallback), but
        // Landlock lets the task read only /proc/self: /proc itself cannot be listed.
        assert_eq!(
            result,
            json!({"pid": own, "child": child, "listed": permission_error(13),
                   "runner_there": true})
        );
        sb.assert_still_works();
        return;
    }
    // PID 1 is the init of the task's PID namespace (the task itself, or a slot init).
    let mut expected: Vec<u64> = vec![1, own, child];
    expected.sort();
    expected.dedup();
    let expected: Vec<String> = expected.iter().map(u64::to_string).collect();
    assert_eq!(
        result,
        json!({"pid": own, "child": child, "listed": expected, "runner_there": false})
    );
    sb.assert_still_works();
}

fn the_runners_environ_and_memory_are_not_found(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    let input = json!({"runner_pid": sb.runner.pid()});
    let code = r#"
pid = _items[0]['json']['runner_pid']
def read(path):
    with open(path, 'rb') as f:
        f.read(1)
return [{'json': {
    'environ': attempt(lambda: read(f'/proc/{pid}/environ')),
    'mem': attempt(lambda: read(f'/proc/{pid}/mem')),
}}]
"#;
    let result = sb.probe("environ", code, input);
    if mode.namespaced() {
        assert_eq!(
            result,
            json!({"environ": ["FileNotFoundError", 2], "mem": ["FileNotFoundError", 2]})
        );
    } else {
        // The runner's pid is visible without a PID namespace; Landlock (only /proc/self is
        // readable) and the runner being non-dumpable refuse its files.
        assert_eq!(
            result,
            json!({"environ": permission_error(13), "mem": permission_error(13)})
        );
    }
    sb.assert_still_works();
}

fn secrets_and_the_runner_binary_are_unreadable(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    let code = r#"
def read(path):
    with open(path, 'rb') as f:
        f.read(1)
return [{'json': {
    'shadow': attempt(lambda: read('/etc/shadow')),
    'passwd': attempt(lambda: read('/etc/passwd')),
    'binary': attempt(lambda: read(_items[0]['json']['binary'])),
}}]
"#;
    let result = sb.probe("read", code, json!({ "binary": BINARY }));
    assert_eq!(
        result,
        json!({"shadow": permission_error(13), "passwd": permission_error(13),
               "binary": out_of_reach(mode, BINARY)})
    );
    sb.assert_still_works();
}

fn nothing_outside_tmp_is_writable(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    let input = json!({ "runner_cwd": sb.cwd.path() });
    // A file that does get created is removed at once: a hole leaves nothing behind.
    let code = r#"
def create(path):
    with open(path, 'wb') as f:
        f.write(b'x')
    os.unlink(path)
cwd = _items[0]['json']['runner_cwd']
return [{'json': {
    '/etc': attempt(lambda: create('/etc/n8n-sandbox-probe')),
    '/var/tmp': attempt(lambda: create('/var/tmp/n8n-sandbox-probe')),
    '/dev/shm': attempt(lambda: create('/dev/shm/n8n-sandbox-probe')),
    'runner cwd': attempt(lambda: create(f'{cwd}/n8n-sandbox-probe')),
    '/tmp': attempt(lambda: create('/tmp/n8n-sandbox-probe')),
    'own cwd': attempt(lambda: create('n8n-sandbox-probe')),
    'parent of own cwd': attempt(lambda: create('../n8n-sandbox-probe')),
}}]
"#;
    let result = sb.probe("write", code, input);
    // The task's own working directory is its temporary directory: /tmp with namespaces, a
    // directory of its own under the forkserver's without (then /tmp itself, and the parent
    // that holds the other tasks' directories, are out of reach).
    let tmp = if mode.namespaced() {
        json!("ok")
    } else {
        permission_error(13)
    };
    assert_eq!(
        result,
        json!({"/etc": permission_error(13), "/var/tmp": permission_error(13),
               "/dev/shm": permission_error(13), "runner cwd": out_of_reach(mode, sb.cwd.path()),
               "/tmp": tmp, "own cwd": "ok", "parent of own cwd": permission_error(13)})
    );
    assert_eq!(std::fs::read_dir(&sb.cwd.0).unwrap().count(), 0);
    sb.assert_still_works();
}

fn tmp_is_the_working_directory_and_empty_in_every_task(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    let code = r#"
before = sorted(os.listdir('.'))
with open('left-behind', 'w') as f:
    f.write('by an earlier task')
return [{'json': {'cwd': os.getcwd(), 'pid': os.getpid(), 'before': before,
                  'after': sorted(os.listdir('.')), 'tmp': attempt(lambda: os.listdir('/tmp'))}}]
"#;
    let first = sb.probe("first", code, json!({}));
    let second = sb.probe("second", code, json!({}));
    if mode.namespaced() {
        for result in [first, second] {
            assert_eq!(
                result,
                json!({"cwd": "/tmp", "pid": result["pid"], "before": [],
                       "after": ["left-behind"], "tmp": "ok"})
            );
        }
        sb.assert_still_works();
        return;
    }
    // Without namespaces, a fresh directory per task (named after its pid) under one the
    // forkserver made in /tmp (mode 0711: no task can list it), removed once the task is reaped;
    // /tmp itself is out of reach.
    let first_cwd = first["cwd"].as_str().unwrap().to_owned();
    let task_dirs = Path::new(&first_cwd).parent().unwrap().to_owned();
    let task_dirs_name = task_dirs.file_name().unwrap().to_str().unwrap();
    assert_eq!(task_dirs.parent(), Some(Path::new("/tmp")), "{first}");
    assert!(task_dirs_name.starts_with("n8n-runner-tasks-"), "{first}");
    for result in [&first, &second] {
        let cwd = task_dirs.join(result["pid"].to_string());
        assert_eq!(
            result,
            &json!({"cwd": cwd.to_str().unwrap(), "pid": result["pid"], "before": [],
                    "after": ["left-behind"], "tmp": permission_error(13)})
        );
        let deadline = Instant::now() + Duration::from_secs(3);
        while cwd.exists() {
            assert!(Instant::now() < deadline, "{cwd:?} outlived its task");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    assert_ne!(first["pid"], second["pid"]);
    let meta = std::fs::metadata(&task_dirs).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o711);
    sb.assert_still_works();
}

fn tmp_holds_no_more_than_the_max_file_size(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[("N8N_RUNNERS_TASK_MAX_FILE_SIZE", "1")]);
    // In the task's temporary directory, its working directory.
    let code = r#"
def write(name, kib):
    with open(name, 'wb') as f:
        f.write(b'x' * (kib * 1024))
result = {'first': attempt(lambda: write('a', 700)), 'second': attempt(lambda: write('b', 700))}
for name in os.listdir('.'):
    os.unlink(name)
result['oversized'] = attempt(lambda: write('c', 1500))
return [{'json': result}]
"#;
    let result = sb.probe("fill", code, json!({}));
    if mode.namespaced() {
        // ENOSPC: the task's /tmp is a tmpfs of N8N_RUNNERS_TASK_MAX_FILE_SIZE MiB.
        assert_eq!(
            result,
            json!({"first": "ok", "second": ["OSError", 28], "oversized": ["OSError", 27]})
        );
    } else {
        // A known limit of the fallback: no tmpfs, so only each file is limited (EFBIG from
        // RLIMIT_FSIZE), not their total.
        assert_eq!(
            result,
            json!({"first": "ok", "second": "ok", "oversized": ["OSError", 27]})
        );
    }
    sb.assert_still_works();
}

fn tasks_hold_no_capabilities_and_cannot_gain_privileges(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    let code = r#"
wanted = ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp')
status = {}
with open('/proc/self/status') as f:
    for line in f:
        key, _, value = line.partition(':')
        if key in wanted:
            status[key] = value.strip()
return [{'json': status}]
"#;
    let result = sb.probe("status", code, json!({}));
    let none = "0000000000000000";
    let bounding = if mode.namespaced() {
        none.to_owned()
    } else {
        // A known limit of the fallback: dropping from the bounding set takes CAP_SETPCAP, which
        // an unprivileged runner does not hold, so the task keeps the one it inherited (the test
        // process's here, Docker's default set in a container). It holds none of them, and with
        // no_new_privs no execve can grant them.
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("CapBnd:"))
            .expect("a CapBnd line")
            .trim()
            .to_owned()
    };
    assert_eq!(
        result,
        json!({"CapInh": none, "CapPrm": none, "CapEff": none, "CapBnd": bounding,
               "CapAmb": none, "NoNewPrivs": "1", "Seccomp": "2"})
    );
    sb.assert_still_works();
}

fn tasks_run_as_the_task_user(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    let code = "return [{'json': {'uid': os.getuid(), 'euid': os.geteuid()}}]";
    let result = sb.probe("uid", code, json!({}));
    let uid = mode.task_uid();
    assert_eq!(result, json!({"uid": uid, "euid": uid}));
    sb.assert_still_works();
}

/// After a task, the next task's process waits already forked and confined: in each slot with
/// namespaces, in the forkserver itself without. Confined means as a task is: under seccomp,
/// without the right to gain privileges, as the task user.
fn the_next_task_process_waits_forked_and_confined(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    sb.assert_still_works();
    let confined = |pid: u32| {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
        };
        let uid = mode.task_uid().to_string();
        field("Seccomp:").as_deref() == Some("2")
            && field("NoNewPrivs:").as_deref() == Some("1")
            && field("Uid:").is_some_and(|ids| ids.split_whitespace().all(|id| id == uid))
    };
    let deadline = Instant::now() + WAIT;
    let waiting = loop {
        let waiting: Vec<u32> = descendants_of(sb.forkserver_pid())
            .into_iter()
            .filter(|&pid| is_forked_ahead(pid) && confined(pid))
            .collect();
        if !waiting.is_empty() || Instant::now() > deadline {
            break waiting;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(waiting.len(), 1, "one confined process forked ahead");
    sb.assert_still_works();
}

/// Connects to `port` on 127.0.0.1, sends `hello` and closes.
const CONNECT: &str = r#"
import socket
def connect():
    with socket.create_connection(('127.0.0.1', _items[0]['json']['port']), timeout=5) as s:
        s.sendall(b'hello')
return [{'json': {'connect': attempt(connect)}}]
"#;

fn with_network_isolation_no_socket_can_be_opened(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[("N8N_RUNNERS_TASK_NETWORK_ISOLATION", "true")]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let result = sb.probe("isolated", CONNECT, json!({ "port": port }));
    // EPERM from seccomp at socket(), before any connection is tried.
    assert_eq!(result, json!({"connect": permission_error(1)}));
    listener.set_nonblocking(true).unwrap();
    assert_eq!(
        listener.accept().map(|_| ()).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    sb.assert_still_works();
}

fn without_network_isolation_tcp_to_the_host_connects(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + WAIT;
        let mut stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(err) if err.kind() == ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "the task never connected");
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(err) => panic!("accept: {err}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut received = Vec::new();
        stream.read_to_end(&mut received).unwrap();
        received
    });
    let result = sb.probe("connected", CONNECT, json!({ "port": port }));
    assert_eq!(result, json!({"connect": "ok"}));
    assert_eq!(server.join().unwrap(), b"hello");
    sb.assert_still_works();
}

fn sockets_other_than_tcp_ip_are_refused(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    let code = r#"
import socket
def open_socket(family, kind):
    socket.socket(family, kind).close()
return [{'json': {
    'unix': attempt(lambda: open_socket(socket.AF_UNIX, socket.SOCK_STREAM)),
    'netlink': attempt(lambda: open_socket(socket.AF_NETLINK, socket.SOCK_RAW)),
    'packet': attempt(lambda: open_socket(socket.AF_PACKET, socket.SOCK_RAW)),
}}]
"#;
    let result = sb.probe("families", code, json!({}));
    assert_eq!(
        result,
        json!({"unix": permission_error(1), "netlink": permission_error(1),
               "packet": permission_error(1)})
    );
    sb.assert_still_works();
}

fn dangerous_syscalls_fail_with_eperm_while_fork_and_threads_work(mode: Mode) {
    if !cfg!(target_arch = "x86_64") {
        eprintln!("skipped: the probe uses x86_64 system call numbers");
        return;
    }
    let mut sb = Sandboxed::start(mode, &[]);
    // Arguments are chosen so that, were a call let through, it would fail with another errno
    // or change nothing that outlives the task.
    let code = r#"
import ctypes, threading
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *args):
    args = [a if a is None or isinstance(a, bytes) else ctypes.c_long(a) for a in args]
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(nr), *args)
    return [result, ctypes.get_errno()]
nowhere = b'/nonexistent-n8n-sandbox-probe'
calls = {
    'ptrace(PTRACE_TRACEME)': (101, 0, 0, None, None),
    'mount': (165, b'none', nowhere, b'tmpfs', 0, None),
    'umount2': (166, nowhere, 0),
    'clock_settime(CLOCK_REALTIME)': (227, 0, None),
    'unshare(CLONE_NEWUSER)': (272, 0x10000000),
    'bpf': (321, 0, None, 0),
    'perf_event_open': (298, None, 0, -1, -1, 0),
    'keyctl': (250, 0, -3, 0),
    'userfaultfd': (323, 0),
    'personality(0)': (135, 0),
    'init_module': (175, None, 0, b''),
    'reboot': (169, 0, 0, 0, None),
    'swapon': (167, None, 0),
    'kexec_load': (246, 0, 0, None, 0),
    'process_vm_readv': (310, 1, None, 0, None, 0, 0),
}
results = {name: call(*args) for name, args in calls.items()}
# clone with a namespace flag (CLONE_NEWUSER | SIGCHLD): a child, were it let through, exits.
clone = call(56, 0x10000000 | 17, None, None, None, 0)
if clone[0] == 0:
    os._exit(0)
if clone[0] > 0:
    os.waitpid(clone[0], 0)
results['clone(CLONE_NEWUSER)'] = clone
child = os.fork()
if child == 0:
    os._exit(7)
fork_exit = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
seen = []
thread = threading.Thread(target=lambda: seen.append(threading.get_ident()))
thread.start()
thread.join()
return [{'json': {'syscalls': results, 'fork_exit': fork_exit,
                  'thread_ran': seen != [] and seen[0] != threading.get_ident()}}]
"#;
    let result = sb.probe("syscalls", code, json!({}));
    let eperm = json!([-1, 1]);
    let expected: serde_json::Map<String, Value> = [
        "ptrace(PTRACE_TRACEME)",
        "mount",
        "umount2",
        "clock_settime(CLOCK_REALTIME)",
        "unshare(CLONE_NEWUSER)",
        "bpf",
        "perf_event_open",
        "keyctl",
        "userfaultfd",
        "personality(0)",
        "init_module",
        "reboot",
        "swapon",
        "kexec_load",
        "process_vm_readv",
        "clone(CLONE_NEWUSER)",
    ]
    .into_iter()
    .map(|name| (name.to_owned(), eperm.clone()))
    .collect();
    assert_eq!(result["syscalls"], Value::Object(expected));
    assert_eq!(result["fork_exit"], 7);
    assert_eq!(result["thread_ran"], true);
    sb.assert_still_works();
}

fn task_output_cannot_pass_for_runner_log_lines(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    let code = r#"
os.write(2, b'Runner stopped\n')
os.write(2, b'\x1b[2JSandbox: fake\n')
return [{'json': {'written': True}}]
"#;
    let result = sb.probe("inject", code, json!({}));
    assert_eq!(result, json!({"written": true}));
    assert_eq!(
        sb.runner.wait_for_log("Runner stopped"),
        "python: Runner stopped"
    );
    assert_eq!(
        sb.runner.wait_for_log("Sandbox: fake"),
        "python: \\u{1b}[2JSandbox: fake"
    );
    // Checked while the runner runs: at shutdown it logs a real `Runner stopped`.
    let log = sb.runner.log();
    assert!(!log.iter().any(|l| l == "Runner stopped"), "{log:#?}");
    assert!(!log.iter().any(|l| l.contains('\x1b')), "{log:#?}");
    let sandbox_lines: Vec<_> = log.iter().filter(|l| l.starts_with("Sandbox:")).collect();
    assert_eq!(sandbox_lines.len(), 1, "{sandbox_lines:#?}");
    sb.assert_still_works();
}

/// Every process under `pid`, depth first.
fn descendants_of(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for child in children_of(pid) {
        found.push(child);
        found.extend(descendants_of(child));
    }
    found
}

fn a_setsid_grandchild_ignoring_sigterm_dies_with_its_task(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    // The grandchild SIGKILLs every pid it can name, but itself and its own task, forever.
    let code = r#"
import signal, time
ready_r, ready_w = os.pipe()
task = os.getpid()
middle = os.fork()
if middle == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        me = os.getpid()
        os.write(ready_w, b'1')
        while True:
            for pid in range(1, 65536):
                if pid not in (me, task):
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass
            time.sleep(0.01)
    os._exit(0)
os.waitpid(middle, 0)
return [{'json': {'grandchild_running': os.read(ready_r, 1) == b'1'}}]
"#;
    let result = sb.probe("leave", code, json!({}));
    assert_eq!(result, json!({"grandchild_running": true}));
    let next = sb.probe("next", "return [{'json': {'next': True}}]", json!({}));
    assert_eq!(next, json!({"next": true}));
    let forkserver = sb.forkserver_pid();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        // Idle PID-namespace inits of the forkserver's sandbox slots, and the process each
        // forked ahead for its next task, may stay; nothing else.
        let left: Vec<u32> = descendants_of(sb.runner.pid())
            .into_iter()
            .filter(|&pid| pid != forkserver && !is_namespace_init(pid) && !is_forked_ahead(pid))
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left behind under the runner: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    sb.assert_still_works();
}

/// Runs a task that forks until `N8N_RUNNERS_TASK_MAX_PROCESSES` stops it and, while it holds
/// its children, one that forks eight; returns the runner (still running), what the second one
/// returned and the order they finished in.
fn fork_hog_and_victim(mode: Mode) -> (Sandboxed, Value, Vec<String>) {
    let mut sb = Sandboxed::start(
        mode,
        &[
            ("N8N_RUNNERS_MAX_CONCURRENCY", "2"),
            ("N8N_RUNNERS_TASK_MAX_PROCESSES", "16"),
        ],
    );
    let hog = r#"
import os, time
children = []
error = None
try:
    while len(children) < 1000:
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        children.append(pid)
except OSError as e:
    error = e.errno
os.write(2, b'hog holding\n')
time.sleep(3)
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
return [{'json': {'forks': len(children), 'error': error}}]
"#;
    let victim = r#"
import os
children = []
error = None
try:
    for n in range(8):
        pid = os.fork()
        if pid == 0:
            os._exit(n)
        children.append(pid)
except OSError as e:
    error = e.errno
codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
return [{'json': {'codes': codes, 'error': error}}]
"#;
    let (hog, victim, order) = sb.hog_and_victim(hog, victim);
    assert_eq!(hog["error"], 11, "the hog ran into EAGAIN: {hog}");
    assert!(hog["forks"].as_u64().unwrap() < 16, "{hog}");
    (sb, victim, order)
}

/// With namespaces the slot kills everything in its PID namespace after each task. Without, the
/// forkserver (a subreaper) kills the orphans re-parented to it, but only in a few rounds right
/// after the task is reaped: a chain longer than that outlives the task (and, once the runner
/// stops, the forkserver). This fails in `DockerLike` mode until that is fixed.
fn a_chain_of_setsid_descendants_dies_with_its_task(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    // Each process of the chain is in a session of its own, ignores SIGTERM and lives on after
    // its parent dies; the task returns once the last one runs.
    let code = r#"
import signal, time
ready_r, ready_w = os.pipe()
task = os.getpid()
for level in range(16):
    if os.fork() != 0:
        if os.getpid() == task:
            break
        while True:
            time.sleep(1)
    os.setsid()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    os.write(ready_w, b'1')
    while True:
        time.sleep(1)
return [{'json': {'chain_running': os.read(ready_r, 1) == b'1'}}]
"#;
    let result = sb.probe("chain", code, json!({}));
    assert_eq!(result, json!({"chain_running": true}));
    let forkserver = sb.forkserver_pid();
    let left_over = || -> Vec<u32> {
        // As above: slot inits and their processes forked ahead are not the task's.
        descendants_of(sb.runner.pid())
            .into_iter()
            .filter(|&pid| pid != forkserver && !is_namespace_init(pid) && !is_forked_ahead(pid))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut left = left_over();
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        left = left_over();
    }
    if !left.is_empty() {
        // Killed here, so they do not outlive the runner (they would, re-parented to init).
        let cleanup = Instant::now() + WAIT;
        loop {
            let now = left_over();
            if now.is_empty() || Instant::now() > cleanup {
                break;
            }
            for pid in now {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{} of the task's processes still ran 3 s after it: {left:?}",
            left.len()
        );
    }
    sb.assert_still_works();
}

fn a_fork_hog_does_not_starve_a_concurrent_task(mode: Mode) {
    let (mut sb, victim, order) = fork_hog_and_victim(mode);
    // Each slot is a user namespace of its own: RLIMIT_NPROC counts the slot's processes only.
    assert_eq!(
        victim,
        json!({"codes": [0, 1, 2, 3, 4, 5, 6, 7], "error": null})
    );
    assert_eq!(order, ["victim", "hog"]);
    sb.assert_still_works();
}

/// A known limit of the fallback, asserted as it is so that a fix flips it consciously: without
/// user namespaces RLIMIT_NPROC counts every process of the uid (the runner's threads, the
/// forkserver, every task), so a task that forks up to the limit leaves a concurrent task unable
/// to fork at all (EAGAIN at its first fork). Run alone ([`run_alone`]): other runners of the
/// same uid would change the count.
fn a_fork_hog_starves_concurrent_tasks_without_user_namespaces(mode: Mode) {
    let (mut sb, victim, order) = fork_hog_and_victim(mode);
    assert_eq!(victim, json!({"codes": [], "error": 11}));
    assert_eq!(order, ["victim", "hog"]);
    sb.assert_still_works();
}

fn a_memory_hog_does_not_starve_a_concurrent_task(mode: Mode) {
    let mut sb = Sandboxed::start(
        mode,
        &[
            ("N8N_RUNNERS_MAX_CONCURRENCY", "2"),
            ("N8N_RUNNERS_TASK_MEMORY_LIMIT", "512"),
        ],
    );
    let hog = r#"
import os, time
chunks = []
try:
    while True:
        chunks.append(b'x' * (16 << 20))
except MemoryError:
    pass
held = len(chunks) * 16
del chunks[-2:]
os.write(2, b'hog holding\n')
time.sleep(3)
return [{'json': {'held_mib': held}}]
"#;
    let victim = "data = b'y' * (50 << 20)\nreturn [{'json': {'mib': len(data) >> 20}}]";
    let (hog, victim, order) = sb.hog_and_victim(hog, victim);
    assert!(hog["held_mib"].as_u64().unwrap() >= 256, "{hog}");
    assert_eq!(victim, json!({"mib": 50}));
    assert_eq!(order, ["victim", "hog"]);
    sb.assert_still_works();
}

fn a_disk_filler_does_not_starve_a_concurrent_task(mode: Mode) {
    let mut sb = Sandboxed::start(
        mode,
        &[
            ("N8N_RUNNERS_MAX_CONCURRENCY", "2"),
            ("N8N_RUNNERS_TASK_MAX_FILE_SIZE", "20"),
        ],
    );
    // Each writes in its temporary directory, its working directory. The hog stops at 32 MiB:
    // without namespaces nothing else would stop it before the disk is full.
    let hog = r#"
import os, time
files = 0
error = None
block = b'z' * (1 << 20)
try:
    while files < 8:
        with open(f'fill{files}', 'wb') as f:
            for _ in range(4):
                f.write(block)
        files += 1
except OSError as e:
    error = e.errno
os.write(2, b'hog holding\n')
time.sleep(3)
return [{'json': {'files': files, 'error': error, 'cwd': os.getcwd()}}]
"#;
    let victim = r#"
import os
with open('victim', 'wb') as f:
    f.write(b'v' * (1 << 20))
return [{'json': {'tmp': os.listdir('.'), 'size': os.path.getsize('victim')}}]
"#;
    let (hog, victim, order) = sb.hog_and_victim(hog, victim);
    if mode.namespaced() {
        // 20 MiB of /tmp holds five 4 MiB files; the sixth gets ENOSPC.
        assert_eq!(hog, json!({"files": 5, "error": 28, "cwd": "/tmp"}));
    } else {
        // A known limit of the fallback: the task's directory is on the host's file system,
        // limited per file only, so the hog wrote all it wanted (up to the disk's size); it is
        // removed once the hog is reaped.
        let cwd = PathBuf::from(hog["cwd"].as_str().unwrap());
        assert_eq!(hog, json!({"files": 8, "error": null, "cwd": cwd}));
        let deadline = Instant::now() + Duration::from_secs(3);
        while cwd.exists() {
            assert!(Instant::now() < deadline, "{cwd:?} outlived its task");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    assert_eq!(victim, json!({"tmp": ["victim"], "size": 1 << 20}));
    assert_eq!(order, ["victim", "hog"]);
    sb.assert_still_works();
}

fn exec_mode_tasks_find_no_token_in_any_environ_or_cmdline(mode: Mode) {
    const SECRET: &str = "some-secret-token-xyz";
    let dir = ScratchDir::new();
    let code_file = dir.0.join("scan.py");
    // The token is spelled in two halves, so this file's text holds no copy of it.
    std::fs::write(
        &code_file,
        r#"
import os
token = ('some-secret-' + 'token-xyz').encode()
scanned, found = [], []
try:
    pids = sorted((int(n) for n in os.listdir('/proc') if n.isdigit()))
    listing = 'ok'
except OSError as error:
    # Not listable: every pid up to our own (the forkserver started before us) and the exec
    # process's, which the test hands over.
    pids = sorted(set(range(1, os.getpid() + 1)) | {_items[0]['json']['exec_pid']})
    listing = [type(error).__name__, error.errno]
for name in pids:
    for part in ('environ', 'cmdline'):
        path = f'/proc/{name}/{part}'
        try:
            with open(path, 'rb') as f:
                data = f.read()
        except OSError:
            continue
        scanned.append(path)
        if token in data:
            found.append(path)
return [{'json': {'scanned': scanned, 'found': found, 'pid': os.getpid(),
                  'ppid': os.getppid(), 'listing': listing}}]
"#,
    )
    .unwrap();
    std::fs::set_permissions(&code_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    // The items come through a FIFO, so they can carry the exec process's own pid.
    let items_file = dir.0.join("items.json");
    nix::unistd::mkfifo(&items_file, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let exec = mode
        .command(
            &[
                BINARY,
                "exec",
                code_file.to_str().unwrap(),
                "--items",
                items_file.to_str().unwrap(),
            ],
            &dir.0,
        )
        .envs(breach_env())
        .env("N8N_RUNNERS_AUTH_TOKEN", SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the exec command");
    let exec_pid = exec.id();
    let deadline = Instant::now() + WAIT;
    let mut items = loop {
        // ENXIO until the exec process opens the FIFO for reading.
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(&items_file)
        {
            Ok(file) => break file,
            Err(err) if err.raw_os_error() == Some(nix::libc::ENXIO) => {
                assert!(
                    Instant::now() < deadline,
                    "the exec process never read its items"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(err) => panic!("opening the items FIFO: {err}"),
        }
    };
    std::io::Write::write_all(
        &mut items,
        json!([{"json": {"exec_pid": exec_pid}}])
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    drop(items);
    let output = exec.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let items: Value = serde_json::from_slice(&output.stdout).expect("JSON items on stdout");
    let result = &items[0]["json"];
    let own_environ = format!("/proc/{}/environ", result["pid"]);
    assert!(
        result["scanned"]
            .as_array()
            .unwrap()
            .contains(&json!(own_environ)),
        "the task could not even read its own environment: {result}"
    );
    assert_eq!(result["found"], json!([]), "{result}");
    if mode.namespaced() {
        assert_eq!(result["listing"], "ok", "{result}");
        // Its parent is its slot's PID 1, the only other process it can see: the exec process
        // and the forkserver are outside its PID namespace.
        assert_eq!(result["ppid"], 1, "{result}");
    } else {
        // Without a PID namespace the task sees the forkserver's pid (a known limit); every
        // pid up to its own and the exec process's were tried, and Landlock let it read its own
        // files only.
        assert_eq!(result["listing"], permission_error(13), "{result}");
        let own = result["pid"].as_u64().unwrap();
        assert_ne!(result["ppid"], 1, "{result}");
        assert_ne!(result["ppid"], exec_pid, "{result}");
        assert_eq!(
            result["scanned"],
            json!([own_environ, format!("/proc/{own}/cmdline")]),
            "{result}"
        );
    }
}

fn tasks_hold_no_socket_and_no_stray_descriptor(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    let code = r#"
fds = {}
for name in os.listdir('/proc/self/fd'):
    try:
        fds[name] = os.readlink(f'/proc/self/fd/{name}')
    except FileNotFoundError:
        pass  # the listing's own descriptor, closed by now
return [{'json': fds}]
"#;
    let fds = sb.probe("fds", code, json!({}));
    let fds = fds.as_object().unwrap();
    let sockets: Vec<_> = fds
        .values()
        .filter(|target| target.as_str().unwrap().starts_with("socket:"))
        .collect();
    assert!(sockets.is_empty(), "sockets: {fds:#?}");
    assert_eq!(fds["0"], "/dev/null", "{fds:#?}");
    assert_eq!(fds["1"], "/dev/null", "{fds:#?}");
    assert!(fds["2"].as_str().unwrap().starts_with("pipe:"), "{fds:#?}");
    // Besides stdio, only the pipe the result goes back on.
    let others: Vec<_> = fds
        .iter()
        .filter(|(fd, _)| !["0", "1", "2"].contains(&fd.as_str()))
        .collect();
    assert_eq!(others.len(), 1, "more than the result pipe: {others:?}");
    assert!(
        others[0].1.as_str().unwrap().starts_with("pipe:"),
        "{others:?}"
    );
    sb.assert_still_works();
}

fn a_task_cannot_kill_a_concurrent_task_through_inherited_pipes(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[("N8N_RUNNERS_MAX_CONCURRENCY", "2")]);
    let victim = r#"
import os, time
os.write(2, b'victim running\n')
time.sleep(3)
return [{'json': {'survived': True}}]
"#;
    // Every inherited write-only pipe but stdio and its own result pipe (the one without
    // O_CLOEXEC) gets a byte, oldest descriptor first.
    let attacker = r#"
import os
written = []
for name in sorted(os.listdir('/proc/self/fd'), key=int):
    fd = int(name)
    try:
        target = os.readlink(f'/proc/self/fd/{fd}')
        with open(f'/proc/self/fdinfo/{fd}') as info:
            flags = int(info.read().split('flags:')[1].split()[0], 8)
    except OSError:
        continue
    if fd > 2 and target.startswith('pipe:') and flags & 3 == os.O_WRONLY and flags & os.O_CLOEXEC:
        written.append(fd)
        os.write(fd, b'k')
return [{'json': {'written': written}}]
"#;
    sb.side.accept_task("victim");
    sb.side.accept_task("attacker");
    sb.side
        .send_settings("victim", all_items(victim, json!([])));
    sb.runner.wait_for_log("python: victim running");
    sb.side
        .send_settings("attacker", all_items(attacker, json!([])));
    let mut outcomes = HashMap::new();
    while outcomes.len() < 2 {
        let message = sb.side.recv();
        if message["type"] != "runner:rpc" {
            outcomes.insert(message["taskId"].as_str().unwrap().to_owned(), message);
        }
    }
    let (victim, attacker) = (&outcomes["victim"], &outcomes["attacker"]);
    assert_eq!(
        victim["data"]["result"],
        json!([{"json": {"survived": true}}]),
        "the attacker reached the victim:\nvictim: {victim}\nattacker: {attacker}"
    );
    sb.assert_still_works();
}

fn a_task_cannot_signal_a_concurrent_task_or_reach_its_files(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[("N8N_RUNNERS_MAX_CONCURRENCY", "2")]);
    let victim = r#"
import os, time
with open('secret', 'w') as f:
    f.write('the victim\'s')
os.write(2, f'victim running in {os.getcwd()}\n'.encode())
time.sleep(2)
return [{'json': {'survived': True, 'files': sorted(os.listdir('.'))}}]
"#;
    // Its pid as the runner sees it, and the path of its temporary directory.
    let attacker = r#"
import signal
victim = _items[0]['json']
def read():
    with open(f"{victim['cwd']}/secret") as f:
        f.read()
def plant():
    with open(f"{victim['cwd']}/planted", 'w') as f:
        f.write('x')
return [{'json': {
    'probe': attempt(lambda: os.kill(victim['pid'], 0)),
    'kill': attempt(lambda: os.kill(victim['pid'], signal.SIGKILL)),
    'read': attempt(read),
    'plant': attempt(plant),
}}]
"#;
    sb.side.accept_task("victim");
    sb.side.accept_task("attacker");
    sb.side
        .send_settings("victim", all_items(victim, json!([])));
    let line = sb.runner.wait_for_log("python: victim running in ");
    let victim_cwd = line.rsplit(' ').next().unwrap().to_owned();
    let victims = task_processes(sb.forkserver_pid());
    assert_eq!(victims.len(), 1, "one task process: {victims:?}");
    let input = json!({"pid": victims[0], "cwd": victim_cwd});
    sb.side.send_settings(
        "attacker",
        all_items(&format!("{ATTEMPT}{attacker}"), json!([{ "json": input }])),
    );
    let mut outcomes = HashMap::new();
    while outcomes.len() < 2 {
        let message = sb.side.recv();
        if message["type"] != "runner:rpc" {
            outcomes.insert(message["taskId"].as_str().unwrap().to_owned(), message);
        }
    }
    assert_eq!(
        outcomes["victim"]["data"]["result"],
        json!([{"json": {"survived": true, "files": ["secret"]}}]),
        "{outcomes:#?}"
    );
    let attacker = outcomes["attacker"]["data"]["result"][0]["json"].clone();
    if mode.namespaced() {
        // The victim's pid does not exist in the attacker's PID namespace, and the victim's
        // /tmp is its own tmpfs: the same path is the attacker's own /tmp.
        assert_eq!(victim_cwd, "/tmp");
        assert_eq!(
            attacker,
            json!({"probe": ["ProcessLookupError", 3], "kill": ["ProcessLookupError", 3],
                   "read": ["FileNotFoundError", 2], "plant": "ok"})
        );
    } else {
        // The same uid, a visible pid and a known path: Landlock's signal scope and its file
        // rules refuse both.
        assert_eq!(
            attacker,
            json!({"probe": permission_error(1), "kill": permission_error(1),
                   "read": permission_error(13), "plant": permission_error(13)})
        );
    }
    sb.assert_still_works();
}

/// The emulation itself: under [`docker_like_filters`] a plain process (uid 1000, as the runner)
/// gets what Docker's default profile gives it.
#[test]
fn the_docker_like_filter_refuses_namespaces_as_dockers_profile_does() {
    let mode = Mode::DockerLike;
    if let Some(reason) = mode.skip_reason() {
        eprintln!("skipped: {reason}");
        return;
    }
    use nix::libc;
    let code = format!(
        r#"
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *args, clone=False):
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    if clone and result == 0:
        os._exit(0)  # a clone let through: the child leaves at once
    if clone and result > 0:
        os.waitpid(result, 0)
    return [result, ctypes.get_errno()]
fork = os.fork()
if fork == 0:
    os._exit(3)
print(json.dumps({{
    'unshare(CLONE_NEWUSER)': call({unshare}, {newuser}),
    'setns': call({setns}, -1, 0),
    'mount': call({mount}, 0, 0, 0, 0, 0),
    'umount2': call({umount2}, 0, 0),
    'clone(CLONE_NEWNET)': call({clone}, {newnet} | 17, 0, 0, 0, 0, clone=True),
    'clone(CLONE_NEWCGROUP)': call({clone}, {newcgroup} | 17, 0, 0, 0, 0, clone=True),
    'clone3': call({clone3}, 0, 0),
    'fork': os.waitstatus_to_exitcode(os.waitpid(fork, 0)[1]),
    'uid': os.getuid(),
}}))
"#,
        unshare = libc::SYS_unshare,
        setns = libc::SYS_setns,
        mount = libc::SYS_mount,
        umount2 = libc::SYS_umount2,
        clone = libc::SYS_clone,
        clone3 = libc::SYS_clone3,
        newuser = libc::CLONE_NEWUSER,
        newnet = libc::CLONE_NEWNET,
        newcgroup = libc::CLONE_NEWCGROUP,
    );
    let dir = ScratchDir::new();
    let output = mode
        .command(&[&python(), "-c", &code], &dir.0)
        .output()
        .expect("run python");
    assert!(output.status.success(), "{output:?}");
    let result: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    let eperm = json!([-1, libc::EPERM]);
    assert_eq!(
        result,
        json!({"unshare(CLONE_NEWUSER)": eperm, "setns": eperm, "mount": eperm,
               "umount2": eperm, "clone(CLONE_NEWNET)": eperm, "clone(CLONE_NEWCGROUP)": eperm,
               "clone3": [-1, libc::ENOSYS], "fork": 3, "uid": mode.task_uid()})
    );
}

// ---------------------------------------------------------------------------------------------

/// One test per probe and mode: `as_root::<probe>`, `as_unprivileged_user::<probe>` and
/// `as_unprivileged_user_without_user_namespaces::<probe>`; then the probes of the two
/// namespaced modes only, and those of the mode without namespaces only (run alone).
fn strict_mode_starts_only_when_every_layer_holds(mode: Mode) {
    let broker = TestBroker::start();
    let cwd = ScratchDir::new();
    let mut vars = breach_env();
    vars.push(("N8N_RUNNERS_GRANT_TOKEN", TOKEN.to_owned()));
    vars.push(("N8N_RUNNERS_TASK_BROKER_URI", broker.uri()));
    vars.push(("N8N_RUNNERS_SANDBOX", "strict".to_owned()));
    let mut runner = start_runner(mode, &cwd.0, &vars);
    if mode.namespaced() {
        let mut side = broker.accept();
        side.handshake();
        runner.wait_for_log("Sandbox: landlock v");
        let outcome = side.run_task("t", all_items("return 7", json!([])));
        assert_eq!(outcome.result(), &json!(7));
        return;
    }
    let line = runner.wait_for_log("N8N_RUNNERS_SANDBOX=strict: ");
    assert!(
        line.starts_with("N8N_RUNNERS_SANDBOX=strict: namespaces unavailable on this system"),
        "{line}"
    );
    assert_eq!(runner.wait_exit(), 1);
}

macro_rules! in_every_mode {
    (
        $($probe:ident),* $(,)?;
        namespaced: $($namespaced:ident),* $(,)?;
        without_namespaces_alone: $($alone:ident),* $(,)? $(;)?
    ) => {
        mod as_root {
            $(
                #[test]
                fn $probe() {
                    super::run(super::Mode::Root, super::$probe);
                }
            )*
            $(
                #[test]
                fn $namespaced() {
                    super::run(super::Mode::Root, super::$namespaced);
                }
            )*
        }
        mod as_unprivileged_user {
            $(
                #[test]
                fn $probe() {
                    super::run(super::Mode::Unprivileged, super::$probe);
                }
            )*
            $(
                #[test]
                fn $namespaced() {
                    super::run(super::Mode::Unprivileged, super::$namespaced);
                }
            )*
        }
        mod as_unprivileged_user_without_user_namespaces {
            $(
                #[test]
                fn $probe() {
                    super::run(super::Mode::DockerLike, super::$probe);
                }
            )*
            $(
                #[test]
                fn $alone() {
                    super::run_alone(super::Mode::DockerLike, super::$alone);
                }
            )*
        }
    };
}

/// Held shared by every test and exclusively by those that count the processes of a uid, which
/// every other runner of the same uid would change.
static UID_PROCESSES: RwLock<()> = RwLock::new(());

fn run(mode: Mode, probe: fn(Mode)) {
    let _shared = UID_PROCESSES
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    run_now(mode, probe);
}

fn run_alone(mode: Mode, probe: fn(Mode)) {
    let _exclusive = UID_PROCESSES
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    run_now(mode, probe);
}

fn run_now(mode: Mode, probe: fn(Mode)) {
    match mode.skip_reason() {
        Some(reason) => eprintln!("skipped ({mode:?} mode): {reason}"),
        None => probe(mode),
    }
}

in_every_mode!(
    the_start_up_line_reports_every_layer_on,
    the_runner_and_the_forkserver_cannot_be_signalled,
    the_limits_and_priority_of_other_processes_cannot_be_changed,
    a_module_a_task_imported_is_warm_for_later_tasks,
    proc_lists_only_the_tasks_own_processes,
    the_runners_environ_and_memory_are_not_found,
    secrets_and_the_runner_binary_are_unreadable,
    nothing_outside_tmp_is_writable,
    tmp_is_the_working_directory_and_empty_in_every_task,
    tmp_holds_no_more_than_the_max_file_size,
    tasks_hold_no_capabilities_and_cannot_gain_privileges,
    tasks_run_as_the_task_user,
    with_network_isolation_no_socket_can_be_opened,
    without_network_isolation_tcp_to_the_host_connects,
    sockets_other_than_tcp_ip_are_refused,
    dangerous_syscalls_fail_with_eperm_while_fork_and_threads_work,
    task_output_cannot_pass_for_runner_log_lines,
    a_setsid_grandchild_ignoring_sigterm_dies_with_its_task,
    a_chain_of_setsid_descendants_dies_with_its_task,
    a_memory_hog_does_not_starve_a_concurrent_task,
    a_disk_filler_does_not_starve_a_concurrent_task,
    exec_mode_tasks_find_no_token_in_any_environ_or_cmdline,
    tasks_hold_no_socket_and_no_stray_descriptor,
    a_task_cannot_kill_a_concurrent_task_through_inherited_pipes,
    a_task_cannot_signal_a_concurrent_task_or_reach_its_files,
    strict_mode_starts_only_when_every_layer_holds,
    the_next_task_process_waits_forked_and_confined;
    namespaced: a_fork_hog_does_not_starve_a_concurrent_task;
    without_namespaces_alone: a_fork_hog_starves_concurrent_tasks_without_user_namespaces;
);
