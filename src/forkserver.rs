//! The Python forkserver: one long-lived interpreter that forks a fresh child per task.
//!
//! Started at boot with a clean environment (it never sees the runner's tokens), it preloads the
//! child-side code (the `python/n8n_task/` package, `python/sandbox.py`) and common modules once,
//! so a task costs a `fork()` instead of an interpreter start. Where the kernel allows, it starts
//! as PID 1 of user, PID and mount namespaces of its own: it can then give each task namespaces of
//! its own without the runner being root, it holds no privilege outside them, and when it dies the
//! kernel kills every task process with it. We talk to it over a `SOCK_SEQPACKET` socketpair on its
//! fd 3: the first message is its configuration, it answers once when ready, and from then on every
//! message is a fork request carrying three pipe ends by `SCM_RIGHTS` (see
//! [`Connection::request_child`]). Its stderr, which task processes inherit, reaches our log only
//! line by line behind a `python:` prefix, so nothing a task writes can pass for a line of the
//! runner's own. A supervisor thread waits on the process and starts a new one if it dies; tasks in
//! flight at that moment fail (their status pipes reach EOF), later tasks use the new forkserver.

use std::ffi::CString;
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{error, info, warn};
use nix::libc;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    recv, send, sendmsg, socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType,
};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use parking_lot::{Condvar, Mutex};
use serde::Deserialize;

use crate::config::is_module_name;
use crate::logging::escape_control;
use crate::sandbox;

/// The forkserver's bootstrap (`python/forkserver.py`), sent as the first message on its control
/// socket: it receives the configuration and loads the forkserver's package from it.
const FORKSERVER_PY: &str = include_str!("../python/forkserver.py");
/// What `python -I -B -c` runs: reads the bootstrap's source from the control socket and runs
/// it as `__main__`, so `ps` shows this line rather than pages of code.
const BOOTSTRAP: &str = "import socket; control = socket.socket(fileno=3); \
    source = control.recv(1 << 20); control.detach(); \
    exec(compile(source, '<n8n_forkserver>', 'exec'), {'__name__': '__main__'})";
/// The child-side code, the `n8n_task` package (`python/n8n_task/`), handed to the forkserver in
/// its configuration as `task_modules`: (module name, source) pairs in the order the forkserver
/// loads them, each module importing only modules before it. The forkserver calls `prepare` and
/// `run_task` of `entry`. A new module must be added here (a test checks the directory).
const TASK_MODULES: &[(&str, &str)] = &[
    ("filenames", include_str!("../python/n8n_task/filenames.py")),
    ("errors", include_str!("../python/n8n_task/errors.py")),
    ("wire", include_str!("../python/n8n_task/wire.py")),
    ("prints", include_str!("../python/n8n_task/prints.py")),
    ("scope", include_str!("../python/n8n_task/scope.py")),
    ("imports", include_str!("../python/n8n_task/imports.py")),
    ("formats", include_str!("../python/n8n_task/formats.py")),
    ("wrapping", include_str!("../python/n8n_task/wrapping.py")),
    ("sinks", include_str!("../python/n8n_task/sinks.py")),
    ("execution", include_str!("../python/n8n_task/execution.py")),
    ("entry", include_str!("../python/n8n_task/entry.py")),
];
/// The forkserver itself, the `n8n_forkserver` package (`python/n8n_forkserver/`), handed to the
/// bootstrap in the configuration as `forkserver_modules`, in the order it loads them (with the
/// loader that loads `TASK_MODULES`), each module importing only modules before it. The bootstrap
/// calls `main` of `startup`. A new module must be added here (a test checks the directory).
const FORKSERVER_MODULES: &[(&str, &str)] = &[
    ("state", include_str!("../python/n8n_forkserver/state.py")),
    (
        "processes",
        include_str!("../python/n8n_forkserver/processes.py"),
    ),
    ("child", include_str!("../python/n8n_forkserver/child.py")),
    ("ahead", include_str!("../python/n8n_forkserver/ahead.py")),
    ("trials", include_str!("../python/n8n_forkserver/trials.py")),
    ("slots", include_str!("../python/n8n_forkserver/slots.py")),
    (
        "warming",
        include_str!("../python/n8n_forkserver/warming.py"),
    ),
    ("loop", include_str!("../python/n8n_forkserver/loop.py")),
    (
        "startup",
        include_str!("../python/n8n_forkserver/startup.py"),
    ),
];
/// The confinement of task children, handed over the same way.
const SANDBOX_PY: &str = include_str!("../python/sandbox.py");

/// How long a new forkserver may take to report ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The fd number the forkserver expects its control socket on.
const CONTROL_FD: i32 = 3;

/// How to start the forkserver.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The interpreter (`N8N_RUNNERS_PYTHON`).
    pub python: String,
    /// The forkserver's whole environment.
    pub env: Vec<(String, String)>,
    /// The configuration object sent as the first message, minus the sources and minus
    /// `sandbox.namespaces` (set by [`spawn`] from how it started the forkserver).
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Try to start the forkserver in namespaces of its own.
    pub namespaces: bool,
}

/// What a forkserver reports when ready.
#[derive(Debug, Clone, Deserialize)]
pub struct ReadyInfo {
    pub pid: u32,
    pub python: String,
    #[serde(default)]
    pub executable: String,
    #[serde(default)]
    pub stdlib_dir: String,
    #[serde(default)]
    pub stdlib_module_names: Vec<String>,
    /// The sandbox layers in force for task processes.
    #[serde(default)]
    pub sandbox: sandbox::Report,
}

/// One running forkserver: its control socket and what it told us.
pub struct Connection {
    control: OwnedFd,
    pub info: ReadyInfo,
}

impl Connection {
    /// Asks for a fresh child that reads its task from `task_r`, writes its result to
    /// `result_w`, and about which the forkserver reports on `status_w`. Several workers may call
    /// this at once: each request is one datagram, which the kernel delivers whole. `hint` (may
    /// be empty) is the task's node mode and code (see [`compile_hint`]), by which sandbox slots
    /// keep the code compiled for the next task that runs it.
    pub fn request_child(
        &self,
        task_r: BorrowedFd,
        result_w: BorrowedFd,
        status_w: BorrowedFd,
        hint: &[u8],
    ) -> nix::Result<()> {
        let fds = [
            task_r.as_raw_fd(),
            result_w.as_raw_fd(),
            status_w.as_raw_fd(),
        ];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        sendmsg::<()>(
            self.control.as_raw_fd(),
            &[IoSlice::new(b"F"), IoSlice::new(hint)],
            &cmsg,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )?;
        Ok(())
    }
}

/// The longest code sent as a hint: longer code is compiled by each task process itself.
const MAX_HINT_CODE: usize = 32 * 1024;

/// The hint of a fork request: `a` (all items) or `e` (each item) and the code, or nothing for
/// long code. The task process checks that the compiled code it is handed is its own code.
pub fn compile_hint(per_item: bool, code: &str) -> Vec<u8> {
    if code.len() > MAX_HINT_CODE {
        return Vec::new();
    }
    let mut hint = Vec::with_capacity(code.len() + 1);
    hint.push(if per_item { b'e' } else { b'a' });
    hint.extend_from_slice(code.as_bytes());
    hint
}

/// How many module names the runner remembers for warming (a forkserver restart re-warms them).
const MAX_LEARNT_MODULES: usize = 256;
/// How many module names one task's reply may list (more, and the list is ignored).
const MAX_NAMES_PER_TASK: usize = 16;
/// How many names one warm request carries (the forkserver reads at most this many).
const WARM_REQUEST_NAMES: usize = 64;

impl Connection {
    /// Asks the forkserver to import these modules between forks, so later tasks inherit them.
    /// A hint: if it cannot be sent, tasks just keep importing the modules themselves.
    pub fn warm(&self, modules: &[String]) {
        for names in modules.chunks(WARM_REQUEST_NAMES) {
            let mut request = b"W".to_vec();
            request.extend(serde_json::to_vec(names).expect("a list of strings serialises"));
            if let Err(err) = send(self.control.as_raw_fd(), &request, MsgFlags::MSG_NOSIGNAL) {
                log::debug!("Could not send a warm request to the forkserver: {err}");
                return;
            }
        }
    }
}

/// Hands the current forkserver connection to workers and restarts the forkserver when it dies.
pub struct Forkserver {
    current: Mutex<Option<Arc<Connection>>>,
    changed: Condvar,
    /// Set by [`Forkserver::stop`]: the supervisor must not start a new one.
    stopping: AtomicBool,
    /// Whether warming is on (`N8N_RUNNERS_WARM_MAX_MEMORY` above 0).
    warming: bool,
    /// Modules tasks imported, in the order first seen: sent to the forkserver to import, and to
    /// every new forkserver once it is ready.
    learnt: Mutex<Vec<String>>,
}

impl Forkserver {
    /// Starts the first forkserver (failing if it cannot start) and its supervisor thread.
    pub fn start(settings: Settings) -> Result<Arc<Forkserver>, String> {
        let (child, connection) = spawn(&settings)?;
        info!(
            "Python forkserver ready (pid {}, Python {} at {})",
            connection.info.pid, connection.info.python, connection.info.executable
        );
        let warming = settings
            .config
            .get("warm_max_mib")
            .and_then(serde_json::Value::as_u64)
            .is_some_and(|mib| mib > 0);
        let forkserver = Arc::new(Forkserver {
            current: Mutex::new(Some(Arc::new(connection))),
            changed: Condvar::new(),
            stopping: AtomicBool::new(false),
            warming,
            learnt: Mutex::new(Vec::new()),
        });
        let supervised = forkserver.clone();
        std::thread::Builder::new()
            .name("forkserver".into())
            .spawn(move || supervised.supervise(child, settings))
            .map_err(|err| format!("Failed to start the forkserver supervisor: {err}"))?;
        Ok(forkserver)
    }

    /// The live forkserver, waiting up to `wait` while one is being restarted.
    pub fn connection(&self, wait: Duration) -> Option<Arc<Connection>> {
        let deadline = Instant::now() + wait;
        let mut current = self.current.lock();
        while current.is_none() {
            if self.changed.wait_until(&mut current, deadline).timed_out() {
                break;
            }
        }
        current.clone()
    }

    /// A forkserver other than `stale` (which was found dead), waiting up to `wait` for the
    /// supervisor to start it.
    pub fn replacement_for(
        &self,
        stale: &Arc<Connection>,
        wait: Duration,
    ) -> Option<Arc<Connection>> {
        let deadline = Instant::now() + wait;
        let mut current = self.current.lock();
        loop {
            if let Some(connection) = current.as_ref() {
                if !Arc::ptr_eq(connection, stale) {
                    return Some(connection.clone());
                }
            }
            if self.changed.wait_until(&mut current, deadline).timed_out() {
                return None;
            }
        }
    }

    /// Stops the forkserver for good (used when it must be restarted with other settings before
    /// any task ran): its supervisor ends with it.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(connection) = self.current.lock().take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(connection.info.pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }

    /// Notes modules a task's imports loaded; asks the forkserver to import those it was not
    /// asked for yet (it tries each in a confined child first, see
    /// `python/n8n_forkserver/warming.py`).
    ///
    /// The list comes from a task process, which a breached task controls: a list that is not
    /// a few module names is ignored whole, and the oldest names make room for new ones, so no
    /// reply can grow the runner or crowd out what later tasks import.
    pub fn learn(&self, modules: &[String]) {
        if !self.warming
            || modules.len() > MAX_NAMES_PER_TASK
            || !modules.iter().all(|name| is_module_name(name))
        {
            return;
        }
        let new: Vec<String> = {
            let mut learnt = self.learnt.lock();
            let new: Vec<String> = modules
                .iter()
                .filter(|name| !learnt.contains(name))
                .cloned()
                .collect();
            learnt.extend(new.iter().cloned());
            let excess = learnt.len().saturating_sub(MAX_LEARNT_MODULES);
            learnt.drain(..excess);
            new
        };
        if new.is_empty() {
            return;
        }
        if let Some(connection) = self.connection(Duration::ZERO) {
            connection.warm(&new);
        }
    }

    fn publish(&self, connection: Option<Arc<Connection>>) {
        *self.current.lock() = connection;
        self.changed.notify_all();
    }

    fn supervise(&self, mut child: Process, settings: Settings) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let status = child.wait();
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            self.publish(None);
            error!("Python forkserver {status}; starting a new one");
            loop {
                match spawn(&settings) {
                    Ok((new_child, connection)) => {
                        info!("Python forkserver restarted (pid {})", connection.info.pid);
                        child = new_child;
                        // What the last one had learnt, warmed after ready, never before.
                        let learnt = self.learnt.lock().clone();
                        if !learnt.is_empty() {
                            connection.warm(&learnt);
                        }
                        self.publish(Some(Arc::new(connection)));
                        break;
                    }
                    Err(err) => {
                        warn!("{err}; retrying in {} ms", backoff.as_millis());
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                    }
                }
            }
        }
    }
}

/// A running forkserver process, started either way.
enum Process {
    /// PID 1 of its own user, PID and mount namespaces (the pid is the runner's view of it).
    Namespaced(Pid),
    /// A plain child, where user namespaces are refused.
    Plain(Child),
}

impl Process {
    fn pid(&self) -> u32 {
        match self {
            Process::Namespaced(pid) => pid.as_raw() as u32,
            Process::Plain(child) => child.id(),
        }
    }

    /// Waits for the process to end; says how it ended.
    fn wait(&mut self) -> String {
        match self {
            Process::Namespaced(pid) => loop {
                match waitpid(*pid, None) {
                    Ok(WaitStatus::Exited(_, code)) => return format!("exited with status {code}"),
                    Ok(WaitStatus::Signaled(_, signal, _)) => {
                        return format!("was killed by {signal}")
                    }
                    Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                    Err(err) => return format!("was lost ({err})"),
                }
            },
            Process::Plain(child) => match child.wait() {
                Ok(status) => format!("exited ({status})"),
                Err(err) => format!("was lost ({err})"),
            },
        }
    }

    fn kill(&mut self) {
        match self {
            Process::Namespaced(pid) => {
                let _ = nix::sys::signal::kill(*pid, nix::sys::signal::Signal::SIGKILL);
            }
            Process::Plain(child) => {
                let _ = child.kill();
            }
        }
        let _ = self.wait();
    }
}

/// Whether starting in namespaces was refused once: later restarts do not try again.
static NAMESPACES_REFUSED: AtomicBool = AtomicBool::new(false);

/// Starts a forkserver, sends its configuration and waits for it to be ready.
fn spawn(settings: &Settings) -> Result<(Process, Connection), String> {
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|err| format!("Failed to create the forkserver socket: {err}"))?;
    let (output_r, output_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|err| format!("Failed to create the forkserver's output pipe: {err}"))?;

    let mut process = None;
    if settings.namespaces && !NAMESPACES_REFUSED.load(Ordering::SeqCst) {
        match spawn_in_namespaces(settings, theirs.as_raw_fd(), output_w.as_raw_fd()) {
            Ok(pid) => process = Some(Process::Namespaced(pid)),
            Err(err) => {
                NAMESPACES_REFUSED.store(true, Ordering::SeqCst);
                warn!(
                    "Could not start the Python forkserver in namespaces of its own ({err}); \
                     task processes get no namespaces"
                );
            }
        }
    }
    let mut process = match process {
        Some(process) => process,
        None => Process::Plain(spawn_plain(settings, theirs.as_raw_fd(), &output_w)?),
    };
    drop(theirs);
    drop(output_w);
    relay_output(output_r);

    let handshake = || -> Result<ReadyInfo, String> {
        send(
            ours.as_raw_fd(),
            FORKSERVER_PY.as_bytes(),
            MsgFlags::MSG_NOSIGNAL,
        )
        .map_err(|err| format!("Failed to start the Python forkserver: {err}"))?;
        let mut config = settings.config.clone();
        config.insert(
            "forkserver_modules".into(),
            serde_json::json!(FORKSERVER_MODULES),
        );
        config.insert("task_modules".into(), serde_json::json!(TASK_MODULES));
        config.insert("sandbox_source".into(), SANDBOX_PY.into());
        if let Some(serde_json::Value::Object(sandbox)) = config.get_mut("sandbox") {
            sandbox.insert(
                "namespaces".into(),
                matches!(process, Process::Namespaced(_)).into(),
            );
        }
        let config = serde_json::to_vec(&config).expect("config serialises");
        send(ours.as_raw_fd(), &config, MsgFlags::MSG_NOSIGNAL)
            .map_err(|err| format!("Failed to configure the Python forkserver: {err}"))?;
        let mut fds = [PollFd::new(ours.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(READY_TIMEOUT).expect("fits");
        if poll(&mut fds, timeout).map_err(|err| err.to_string())? == 0 {
            return Err("The Python forkserver did not become ready in time".to_owned());
        }
        let mut buf = vec![0u8; 1 << 20];
        let n = recv(ours.as_raw_fd(), &mut buf, MsgFlags::empty())
            .map_err(|err| format!("Failed to read from the Python forkserver: {err}"))?;
        if n == 0 {
            return Err(
                "The Python forkserver exited during start-up (see its output above)".to_owned(),
            );
        }
        serde_json::from_slice(&buf[..n])
            .map_err(|err| format!("The Python forkserver sent an invalid ready message: {err}"))
    };
    match handshake() {
        Ok(mut info) => {
            // In its own PID namespace the forkserver is PID 1; the runner needs its own view.
            info.pid = process.pid();
            Ok((
                process,
                Connection {
                    control: ours,
                    info,
                },
            ))
        }
        Err(err) => {
            process.kill();
            Err(err)
        }
    }
}

/// The interpreter's command line.
fn python_args() -> [&'static str; 4] {
    ["-I", "-B", "-c", BOOTSTRAP]
}

fn spawn_plain(settings: &Settings, control: RawFd, output: &OwnedFd) -> Result<Child, String> {
    let mut command = Command::new(&settings.python);
    command
        .args(python_args())
        .env_clear()
        .envs(settings.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(output.try_clone().map_err(|e| e.to_string())?));
    // SAFETY: the closure runs in the forked child before exec and only makes raw dup2, fcntl,
    // close_range and close calls, which are async-signal-safe; it allocates nothing and touches
    // no memory shared with other threads.
    unsafe {
        command.pre_exec(move || {
            if place_control_fd(control) {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    command.spawn().map_err(|err| {
        format!(
            "Failed to start the Python forkserver with '{}' (N8N_RUNNERS_PYTHON): {err}",
            settings.python
        )
    })
}

/// In a freshly forked or cloned child: puts the control socket on fd 3 and closes everything
/// above it, so nothing the runner inherited without CLOEXEC (from a launcher, a shell, a test
/// harness) reaches the forkserver and every task child. Only async-signal-safe calls.
fn place_control_fd(control: RawFd) -> bool {
    // SAFETY: raw fd syscalls on descriptors this process owns; no memory is touched.
    unsafe {
        if control == CONTROL_FD {
            let flags = libc::fcntl(control, libc::F_GETFD);
            libc::fcntl(control, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
        } else if libc::dup2(control, CONTROL_FD) < 0 {
            return false;
        }
        let first = (CONTROL_FD + 1) as libc::c_uint;
        if libc::syscall(libc::SYS_close_range, first, libc::c_uint::MAX, 0) != 0 {
            for fd in first as i32..4096 {
                libc::close(fd);
            }
        }
    }
    true
}

/// Finds `program` the way a shell would (a name without `/` is looked up in `PATH`).
fn resolve_program(program: &str, env: &[(String, String)]) -> Option<String> {
    if program.contains('/') {
        return Some(program.to_owned());
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".to_owned());
    path.split(':').filter(|d| !d.is_empty()).find_map(|dir| {
        let candidate = std::path::Path::new(dir).join(program);
        let meta = std::fs::metadata(&candidate).ok()?;
        use std::os::unix::fs::PermissionsExt;
        (meta.is_file() && meta.permissions().mode() & 0o111 != 0)
            .then(|| candidate.to_string_lossy().into_owned())
    })
}

/// Starts the forkserver as PID 1 of new user, PID and mount namespaces. In the user namespace
/// it is uid 0, mapped to the runner's own uid (to every uid, when the runner is root, so it can
/// switch tasks to `N8N_RUNNERS_TASK_USER`): it holds capabilities over its namespaces only.
fn spawn_in_namespaces(settings: &Settings, control: RawFd, output: RawFd) -> Result<Pid, String> {
    let python = resolve_program(&settings.python, &settings.env)
        .ok_or_else(|| format!("'{}' not found in PATH", settings.python))?;
    let cstring = |s: &str| CString::new(s).map_err(|_| format!("NUL byte in {s:?}"));
    let program = cstring(&python)?;
    let mut argv = vec![cstring(&settings.python)?];
    for arg in python_args() {
        argv.push(cstring(arg)?);
    }
    let envp = settings
        .env
        .iter()
        .map(|(k, v)| cstring(&format!("{k}={v}")))
        .collect::<Result<Vec<_>, _>>()?;
    let null_terminated = |strings: &[CString]| -> Vec<*const libc::c_char> {
        strings
            .iter()
            .map(|s| s.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect()
    };
    let argv_ptrs = null_terminated(&argv);
    let envp_ptrs = null_terminated(&envp);
    let (go_r, go_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| e.to_string())?;
    let (set_r, set_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| e.to_string())?;
    let devnull = nix::fcntl::open(
        "/dev/null",
        nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| e.to_string())?;
    let (go_r_raw, go_w_raw, devnull_raw) =
        (go_r.as_raw_fd(), go_w.as_raw_fd(), devnull.as_raw_fd());
    let (set_r_raw, set_w_raw) = (set_r.as_raw_fd(), set_w.as_raw_fd());

    let child = Box::new(move || -> isize {
        // SAFETY: runs in the cloned child of a multi-threaded process, before exec: only raw,
        // async-signal-safe syscalls on fds this process owns and on memory prepared before the
        // clone; nothing is allocated or locked.
        unsafe {
            libc::close(go_w_raw);
            libc::close(set_r_raw);
            // The runner is non-dumpable (secrets.rs), and so are we after the clone, which
            // would leave our /proc files, uid_map included, to root: the runner could not
            // write them unless it is root. Until the exec below replaces this copy of the
            // runner's memory, only processes of the runner's own uid outside every sandbox
            // could read it; tasks can neither see this pid nor ptrace.
            libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
            libc::close(set_w_raw);
            // Wait until the runner has written our uid and gid maps.
            let mut byte = 0u8;
            if libc::read(go_r_raw, (&mut byte as *mut u8).cast(), 1) != 1 {
                libc::_exit(1);
            }
            if libc::dup2(devnull_raw, 0) < 0
                || libc::dup2(devnull_raw, 1) < 0
                || libc::dup2(output, 2) < 0
                || !place_control_fd(control)
            {
                libc::_exit(1);
            }
            libc::execve(program.as_ptr(), argv_ptrs.as_ptr(), envp_ptrs.as_ptr());
            libc::_exit(127)
        }
    });
    let mut stack = vec![0u8; 64 * 1024];
    let flags = nix::sched::CloneFlags::CLONE_NEWUSER
        | nix::sched::CloneFlags::CLONE_NEWPID
        | nix::sched::CloneFlags::CLONE_NEWNS;
    // SAFETY: the child gets a copy-on-write copy of this process (no CLONE_VM) and runs only
    // the closure above on its own stack, which ends in execve or _exit.
    let pid = unsafe { nix::sched::clone(child, &mut stack, flags, Some(libc::SIGCHLD)) }
        .map_err(|err| format!("clone: {err}"))?;
    drop(go_r);
    drop(set_w);
    // EOF once the child made itself dumpable (or died).
    let mut byte = [0u8; 1];
    let _ = nix::unistd::read(&set_r, &mut byte);
    if let Err(err) = write_id_maps(pid) {
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = waitpid(pid, None);
        return Err(err);
    }
    nix::unistd::write(&go_w, b"1").map_err(|e| e.to_string())?;
    Ok(pid)
}

/// The forkserver's uid and gid maps: uid 0 inside is the runner's uid outside. A root runner
/// maps every id, so task processes can become `N8N_RUNNERS_TASK_USER`.
fn write_id_maps(pid: Pid) -> Result<(), String> {
    let uid = nix::unistd::geteuid().as_raw();
    let gid = nix::unistd::getegid().as_raw();
    let write = |name: &str, text: &str| {
        std::fs::write(format!("/proc/{pid}/{name}"), text)
            .map_err(|err| format!("writing {name}: {err}"))
    };
    if uid == 0 {
        write("uid_map", "0 0 4294967295\n")?;
        write("gid_map", "0 0 4294967295\n")
    } else {
        // Without privilege a gid map needs setgroups(2) switched off first.
        write("setgroups", "deny")?;
        write("uid_map", &format!("0 {uid} 1\n"))?;
        write("gid_map", &format!("0 {gid} 1\n"))
    }
}

/// Longest line of Python output logged; the rest of the line is dropped.
const MAX_OUTPUT_LINE: usize = 2000;
/// Output lines logged per second at most (with a burst of as many); the rest are counted.
const OUTPUT_LINES_PER_SECOND: u32 = 50;

/// Logs what the forkserver and task processes write to their stderr, one `python: ` line per
/// line, control characters escaped, long lines cut and floods counted instead of logged. Reads
/// until every writer is gone.
fn relay_output(output: OwnedFd) {
    let spawned = std::thread::Builder::new()
        .name("python-output".into())
        .spawn(move || {
            let mut file = std::fs::File::from(output);
            let mut chunk = vec![0u8; 64 * 1024];
            let mut line: Vec<u8> = Vec::new();
            let mut cut = false;
            let mut limiter = LineLimiter::new();
            loop {
                let n = match std::io::Read::read(&mut file, &mut chunk) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                for &byte in &chunk[..n] {
                    if byte == b'\n' {
                        limiter.log(&line, cut);
                        line.clear();
                        cut = false;
                    } else if line.len() < MAX_OUTPUT_LINE {
                        line.push(byte);
                    } else {
                        cut = true;
                    }
                }
            }
            if !line.is_empty() {
                limiter.log(&line, cut);
            }
            limiter.flush();
        });
    if let Err(err) = spawned {
        error!("Failed to start the thread that logs Python's output: {err}");
    }
}

/// A token bucket over output lines.
struct LineLimiter {
    tokens: u32,
    refilled: Instant,
    dropped: u64,
}

impl LineLimiter {
    fn new() -> LineLimiter {
        LineLimiter {
            tokens: OUTPUT_LINES_PER_SECOND,
            refilled: Instant::now(),
            dropped: 0,
        }
    }

    fn log(&mut self, line: &[u8], cut: bool) {
        let now = Instant::now();
        if now.duration_since(self.refilled) >= Duration::from_secs(1) {
            self.tokens = OUTPUT_LINES_PER_SECOND;
            self.refilled = now;
            self.flush();
        }
        if self.tokens == 0 {
            self.dropped += 1;
            return;
        }
        self.tokens -= 1;
        let text = escape_control(&String::from_utf8_lossy(line));
        if cut {
            warn!("python: {text}… (line cut at {MAX_OUTPUT_LINE} bytes)");
        } else {
            warn!("python: {text}");
        }
    }

    fn flush(&mut self) {
        if self.dropped > 0 {
            warn!("python: {} more output line(s) not logged", self.dropped);
            self.dropped = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `.py` files of a package directory under `python/`, by module name.
    fn module_files(package: &str) -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("python")
            .join(package);
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|err| panic!("python/{package}: {err}"))
            .map(|entry| entry.expect("readable directory").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "py"))
            .map(|path| {
                let name = path.file_stem().unwrap().to_string_lossy().into_owned();
                let source = std::fs::read_to_string(&path).expect("readable module");
                (name, source)
            })
            .collect();
        files.sort();
        files
    }

    /// Every `python/<package>/*.py` is in `modules` once, under its own name, with its own
    /// source, and the module the forkserver calls into is among them.
    fn assert_sends_every_module(package: &str, list: &str, modules: &[(&str, &str)], entry: &str) {
        let mut sent: Vec<(String, String)> = modules
            .iter()
            .map(|(name, source)| (name.to_string(), source.to_string()))
            .collect();
        sent.sort();
        let names = |modules: &[(String, String)]| -> Vec<String> {
            modules.iter().map(|(name, _)| name.clone()).collect()
        };
        let on_disk = module_files(package);
        assert_eq!(
            names(&sent),
            names(&on_disk),
            "every python/{package}/*.py must be listed once in {list} (src/forkserver.rs)"
        );
        // Each name carries its own file's source, not another module's.
        assert_eq!(sent, on_disk);
        assert!(modules.iter().any(|(name, _)| *name == entry));
    }

    /// Every relative import in `modules` is at module level and names a module listed before
    /// the one that imports it.
    fn assert_imports_only_modules_loaded_before(list: &str, modules: &[(&str, &str)]) {
        for (index, (name, source)) in modules.iter().enumerate() {
            let earlier: Vec<&str> = modules[..index].iter().map(|(n, _)| *n).collect();
            for line in source.lines() {
                let statement = line.trim_start();
                if !statement.starts_with("from .") {
                    continue;
                }
                // The package leaves sys.modules once the forkserver is prepared, so a relative
                // import run later (inside a function) would fail in every task.
                assert_eq!(
                    statement, line,
                    "{name}: relative imports only at module level"
                );
                let imported = statement["from .".len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("");
                assert!(
                    !imported.is_empty() && earlier.contains(&imported),
                    "{name}: `{line}` must name a module {list} lists before {name} \
                     (write `from .module import ...`)"
                );
            }
        }
    }

    #[test]
    fn every_task_module_is_sent_to_the_forkserver() {
        assert_sends_every_module("n8n_task", "TASK_MODULES", TASK_MODULES, "entry");
    }

    #[test]
    fn every_forkserver_module_is_sent_to_the_forkserver() {
        assert_sends_every_module(
            "n8n_forkserver",
            "FORKSERVER_MODULES",
            FORKSERVER_MODULES,
            "startup",
        );
    }

    #[test]
    fn task_modules_import_only_modules_loaded_before_them() {
        assert_imports_only_modules_loaded_before("TASK_MODULES", TASK_MODULES);
    }

    #[test]
    fn forkserver_modules_import_only_modules_loaded_before_them() {
        assert_imports_only_modules_loaded_before("FORKSERVER_MODULES", FORKSERVER_MODULES);
    }

    #[test]
    fn a_program_without_a_slash_is_found_in_path() {
        let env = vec![("PATH".to_owned(), "/nonexistent:/bin:/usr/bin".to_owned())];
        assert!(resolve_program("sh", &env).unwrap().ends_with("/sh"));
        assert_eq!(resolve_program("/x/y", &env).unwrap(), "/x/y");
        assert_eq!(resolve_program("no-such-program-here", &env), None);
    }
}
