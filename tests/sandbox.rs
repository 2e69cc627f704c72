//! Assume breach: user code has the real `open`, `os`, `ctypes` and `subprocess` (every module
//! allowed, no builtin removed) and tries, one thing per probe, to reach past its task. Each
//! probe names the exact failure the kernel sandbox gives it (exception class and errno), and
//! the runner goes on serving ordinary tasks afterwards. Real binary in broker mode (and once in
//! `exec` mode), real python3, real namespaces, Landlock and seccomp.
//!
//! The whole suite runs twice: with the runner started as root (task processes then run as
//! `nobody`) and as an unprivileged user (uid 1000 through `setpriv`, as in a Docker image).

mod common;

use std::collections::HashMap;
use std::io::{ErrorKind, Read};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
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
}

fn test_process_is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

impl Mode {
    /// Why this mode cannot run here, if it cannot.
    fn skip_reason(self) -> Option<&'static str> {
        match self {
            Mode::Root if !test_process_is_root() => Some("the test process is not root"),
            Mode::Unprivileged if test_process_is_root() && !Path::new(SETPRIV).exists() => {
                Some("setpriv is not installed")
            }
            _ => None,
        }
    }

    /// `argv` as started in this mode.
    fn command(self, argv: &[&str]) -> Vec<String> {
        let mut command = Vec::new();
        if self == Mode::Unprivileged && test_process_is_root() {
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
            Mode::Unprivileged if test_process_is_root() => UNPRIVILEGED_UID,
            Mode::Unprivileged => nix::unistd::geteuid().as_raw(),
        }
    }
}

const SETPRIV: &str = "/usr/bin/setpriv";

/// The interpreter: Debian's world-readable `/usr/bin/python3` in both modes when present.
fn python() -> String {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3".to_owned()
    } else {
        common::python()
    }
}

/// A fresh world-writable directory outside /tmp (every task has a /tmp of its own), so only the
/// sandbox, not file permissions, stands between a task and it. Removed when dropped.
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
        // `sh` changes directory and then execs, so the runner keeps its pid.
        let mut argv = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            r#"cd "$1" && shift && exec "$@""#.to_owned(),
            "sh".to_owned(),
            cwd.path().to_owned(),
        ];
        argv.extend(mode.command(&[BINARY]));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let runner = Runner::start_command(&argv, &vars);
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

    /// The forkserver's pid as the runner sees it.
    fn forkserver_pid(&self) -> u32 {
        let children = children_of(self.runner.pid());
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

// ---------------------------------------------------------------------------------------------
// The probes, each run once per mode (see the end of the file).

fn the_start_up_line_reports_every_layer_on(mode: Mode) {
    let sb = Sandboxed::start(mode, &[]);
    let line = sb.runner.wait_for_log("Sandbox: ");
    assert!(line.starts_with("Sandbox: landlock v"), "{line}");
    let expected_tail = format!(
        " on, seccomp on, namespaces user+pid+mount on, network isolation off, capabilities \
         none, task uid {}",
        mode.task_uid()
    );
    assert!(line.ends_with(&expected_tail), "{line}");
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
    assert_eq!(
        result,
        json!({"runner": ["ProcessLookupError", 3], "forkserver": ["ProcessLookupError", 3]})
    );
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
    listed = sorted((name for name in os.listdir('/proc') if name.isdigit()), key=int)
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
    assert_eq!(
        result,
        json!({"environ": ["FileNotFoundError", 2], "mem": ["FileNotFoundError", 2]})
    );
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
               "binary": permission_error(13)})
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
}}]
"#;
    let result = sb.probe("write", code, input);
    assert_eq!(
        result,
        json!({"/etc": permission_error(13), "/var/tmp": permission_error(13),
               "/dev/shm": permission_error(13), "runner cwd": permission_error(13),
               "/tmp": "ok"})
    );
    assert_eq!(std::fs::read_dir(&sb.cwd.0).unwrap().count(), 0);
    sb.assert_still_works();
}

fn tmp_is_the_working_directory_and_empty_in_every_task(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[]);
    let code = r#"
before = sorted(os.listdir('/tmp'))
with open('left-behind', 'w') as f:
    f.write('by an earlier task')
return [{'json': {'cwd': os.getcwd(), 'before': before, 'after': sorted(os.listdir('/tmp'))}}]
"#;
    let first = sb.probe("first", code, json!({}));
    assert_eq!(
        first,
        json!({"cwd": "/tmp", "before": [], "after": ["left-behind"]})
    );
    let second = sb.probe("second", code, json!({}));
    assert_eq!(
        second,
        json!({"cwd": "/tmp", "before": [], "after": ["left-behind"]})
    );
    sb.assert_still_works();
}

fn tmp_holds_no_more_than_the_max_file_size(mode: Mode) {
    let mut sb = Sandboxed::start(mode, &[("N8N_RUNNERS_TASK_MAX_FILE_SIZE", "1")]);
    let code = r#"
def write(name):
    with open(f'/tmp/{name}', 'wb') as f:
        f.write(b'x' * (700 * 1024))
return [{'json': {'first': attempt(lambda: write('a')), 'second': attempt(lambda: write('b'))}}]
"#;
    let result = sb.probe("fill", code, json!({}));
    // ENOSPC: the task's /tmp is a tmpfs of N8N_RUNNERS_TASK_MAX_FILE_SIZE MiB.
    assert_eq!(result, json!({"first": "ok", "second": ["OSError", 28]}));
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
    assert_eq!(
        result,
        json!({"CapInh": none, "CapPrm": none, "CapEff": none, "CapBnd": none, "CapAmb": none,
               "NoNewPrivs": "1", "Seccomp": "2"})
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
        // Idle PID-namespace inits of the forkserver's sandbox slots may stay; nothing else.
        let left: Vec<u32> = descendants_of(sb.runner.pid())
            .into_iter()
            .filter(|&pid| pid != forkserver && !is_namespace_init(pid))
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

fn a_fork_hog_does_not_starve_a_concurrent_task(mode: Mode) {
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
for n in range(8):
    pid = os.fork()
    if pid == 0:
        os._exit(n)
    children.append(pid)
codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
return [{'json': {'codes': codes}}]
"#;
    let (hog, victim, order) = sb.hog_and_victim(hog, victim);
    assert_eq!(hog["error"], 11, "the hog ran into EAGAIN: {hog}");
    assert!(hog["forks"].as_u64().unwrap() < 16, "{hog}");
    assert_eq!(victim, json!({"codes": [0, 1, 2, 3, 4, 5, 6, 7]}));
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
    let hog = r#"
import os, time
files = 0
error = None
block = b'z' * (1 << 20)
try:
    while True:
        with open(f'/tmp/fill{files}', 'wb') as f:
            for _ in range(4):
                f.write(block)
        files += 1
except OSError as e:
    error = e.errno
os.write(2, b'hog holding\n')
time.sleep(3)
return [{'json': {'files': files, 'error': error}}]
"#;
    let victim = r#"
import os
with open('/tmp/victim', 'wb') as f:
    f.write(b'v' * (1 << 20))
return [{'json': {'tmp': os.listdir('/tmp'), 'size': os.path.getsize('/tmp/victim')}}]
"#;
    let (hog, victim, order) = sb.hog_and_victim(hog, victim);
    // 20 MiB of /tmp holds five 4 MiB files; the sixth gets ENOSPC.
    assert_eq!(hog, json!({"files": 5, "error": 28}));
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
for name in sorted((n for n in os.listdir('/proc') if n.isdigit()), key=int):
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
                  'ppid': os.getppid()}}]
"#,
    )
    .unwrap();
    std::fs::set_permissions(&code_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let command = mode.command(&[BINARY, "exec", code_file.to_str().unwrap()]);
    let output = Command::new(&command[0])
        .args(&command[1..])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(breach_env())
        .env("N8N_RUNNERS_AUTH_TOKEN", SECRET)
        .current_dir(&dir.0)
        .output()
        .expect("run the exec command");
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
    // Its parent is its slot's PID 1, the only other process it can see: the exec process and
    // the forkserver are outside its PID namespace.
    assert_eq!(result["ppid"], 1, "{result}");
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

// ---------------------------------------------------------------------------------------------

/// One test per probe and mode: `as_root::<probe>` and `as_unprivileged_user::<probe>`.
macro_rules! in_both_modes {
    ($($probe:ident),* $(,)?) => {
        mod as_root {
            $(
                #[test]
                fn $probe() {
                    super::run(super::Mode::Root, super::$probe);
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
        }
    };
}

fn run(mode: Mode, probe: fn(Mode)) {
    match mode.skip_reason() {
        Some(reason) => eprintln!("skipped ({mode:?} mode): {reason}"),
        None => probe(mode),
    }
}

in_both_modes!(
    the_start_up_line_reports_every_layer_on,
    the_runner_and_the_forkserver_cannot_be_signalled,
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
    a_fork_hog_does_not_starve_a_concurrent_task,
    a_memory_hog_does_not_starve_a_concurrent_task,
    a_disk_filler_does_not_starve_a_concurrent_task,
    exec_mode_tasks_find_no_token_in_any_environ_or_cmdline,
    tasks_hold_no_socket_and_no_stray_descriptor,
    a_task_cannot_kill_a_concurrent_task_through_inherited_pipes,
);
