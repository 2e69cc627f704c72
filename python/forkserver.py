"""Fork server: the one long-lived Python process the Rust runner starts for task children.

Owns the control-socket protocol and the children's lives: it reads the configuration, loads the
sandbox (python/sandbox.py) and child (python/child.py) modules from source, preloads modules
once, learns which sandbox layers the kernel grants, reports ready, then forks one fresh child
per fork request, reports each child's exit code on that child's status pipe, reaps children,
and kills them all when the Rust side goes away. How a child is confined lives in sandbox.py,
what it does with its task in child.py.

Started as `python -I -B -c <this text>` with fd 3 = one end of an AF_UNIX SOCK_SEQPACKET
socketpair (the control socket):
  1. Rust -> us: one JSON config message: child_source, sandbox_source, preload, block_env,
     builtins_deny, stdlib_allow, external_allow, blocked_names, blocked_attributes,
     allow_transitive_imports, limits, sandbox (unknown keys are ignored).
  2. us -> Rust: one JSON ready message (ready, pid, python, executable, stdlib_dir,
     stdlib_module_names, sandbox: the layers in force).
  3. Rust -> us: fork requests, each the byte b"F" plus fds task_r, result_w, status_w.
Status records on status_w are 5 bytes: an ASCII tag and a big-endian signed 32-bit value:
R<0> when the request is taken (before the fork), P<pid> from the child itself (its pid as the
runner sees it), X<exit code> when reaped (negative = killed by that signal), or E<errno> when
the fork failed.
"""

import gc
import json
import os
import platform
import select
import signal
import socket
import struct
import sys
import types

CONTROL_FD = 3
# The config carries child.py's source; a SEQPACKET message is bounded by the socket's send
# buffer, so this is generous. Allocated once.
CONFIG_BUFSIZE = 16 * 1024 * 1024
REQUEST_BUFSIZE = 16
# More than the 3 expected, so a request with too many fds is seen whole and closed.
MAX_REQUEST_FDS = 16
FORK_REQUEST = b"F"
CHILD_MODULE_NAME = "n8n_child"
SANDBOX_MODULE_NAME = "n8n_sandbox"
CHILD_FAILURE_EXIT = 70
STATUS_RECORD = struct.Struct(">ci")
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
# A child whose confinement could not be set up exits with this code before running anything.
CONFINEMENT_FAILURE_EXIT = 71
# Blocked across fork() so a signal aimed at the new child waits until it has default handlers.
FORK_BLOCKED_SIGNALS = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}
CLOEXEC_ON_RECEIVE = getattr(socket, "MSG_CMSG_CLOEXEC", 0)


class State:
    """Everything the main loop and a freshly forked child need to know."""

    def __init__(self, sock, config, child_module, sandbox):
        self.sock = sock
        self.config = config
        self.child_module = child_module
        self.sandbox = sandbox
        self.wake_r = -1
        self.wake_w = -1
        # pid -> status_w of every child not yet reaped.
        self.children = {}
        self.stopping = False
        self.server_pid = os.getpid()
        self.libc = sandbox.libc


def log(text):
    # Straight to fd 2: no Python buffer that a fork could duplicate.
    try:
        os.write(2, f"[forkserver {os.getpid()}] {text}\n".encode("utf-8", "replace"))
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------
# Start-up


def main():
    sock = socket.socket(fileno=CONTROL_FD)
    config = receive_config(sock)
    if config is None:
        return 0
    sandbox_module = load_module(SANDBOX_MODULE_NAME, config["sandbox_source"])
    sandbox = sandbox_module.Sandbox(config, log)
    # Task children (same user, unless the runner is root) must not read this process's memory
    # or /proc files.
    sandbox.libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    child_module = load_module(CHILD_MODULE_NAME, config["child_source"])
    preload_modules(config.get("preload") or ())
    prepare = getattr(child_module, "prepare", None)
    if prepare is not None:
        prepare(config)
    # After every import: the sandbox lets tasks read what sys.path names now.
    sandbox.start()
    report = sandbox.probe()
    state = State(sock, config, child_module, sandbox)
    install_signal_handlers(state)
    # Everything loaded so far is shared with every child; freezing keeps the collector from
    # touching (and so copying) those pages in the children.
    gc.freeze()
    send_ready(sock, report)
    serve(state)
    shutdown(state)
    sandbox.shutdown()
    return 0


def receive_config(sock):
    message, _, flags, _ = sock.recvmsg(CONFIG_BUFSIZE)
    if not message:
        log("control socket closed before the configuration arrived")
        return None
    if flags & socket.MSG_TRUNC:
        raise SystemExit(f"configuration message larger than {CONFIG_BUFSIZE} bytes")
    config = json.loads(message.decode("utf-8"))
    if not isinstance(config, dict) or not all(
        isinstance(config.get(key), str) for key in ("child_source", "sandbox_source")
    ):
        raise SystemExit("configuration must be a JSON object with child_source and "
                         "sandbox_source strings")
    return config


def load_module(name, source):
    module = types.ModuleType(name)
    sys.modules[name] = module
    code = compile(source, f"<{name}>", "exec", dont_inherit=True)
    exec(code, module.__dict__)
    return module


def preload_modules(names):
    for name in names:
        try:
            __import__(name)
        except Exception as exc:
            # A missing optional module must not stop the runner; tasks just cannot use it.
            log(f"could not preload module {name!r}: {type(exc).__name__}: {exc}")


def install_signal_handlers(state):
    state.wake_r, state.wake_w = os.pipe()
    os.set_blocking(state.wake_r, False)
    os.set_blocking(state.wake_w, False)
    # The C-level handler writes to the wake pipe, which interrupts poll(); reaping then happens
    # in the main loop, never inside a handler.
    signal.set_wakeup_fd(state.wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, ignore_signal)

    def stop(signum, frame):
        state.stopping = True

    signal.signal(signal.SIGTERM, stop)
    # Ctrl-C in a terminal reaches the whole foreground group; the Rust runner decides what
    # happens then and closes the control socket when it wants us gone.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def ignore_signal(signum, frame):
    pass


def send_ready(sock, sandbox_report):
    ready = {
        "sandbox": sandbox_report,
        "ready": True,
        "pid": os.getpid(),
        "python": platform.python_version(),
        "executable": sys.executable,
        # Where the standard library lives: task processes must be able to read it.
        "stdlib_dir": os.path.dirname(os.__file__),
        "stdlib_module_names": sorted(sys.stdlib_module_names),
    }
    sock.send(json.dumps(ready).encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# Main loop


def serve(state):
    """Forks on request and reaps on SIGCHLD until the control socket closes or SIGTERM."""
    state.sock.setblocking(False)
    control_fd = state.sock.fileno()
    poller = select.poll()
    poller.register(control_fd, select.POLLIN)
    poller.register(state.wake_r, select.POLLIN)
    while not state.stopping:
        events = poller.poll()
        drain(state.wake_r)
        # Reaping only here, after any fork has registered its pid, means a child that exits
        # at once is still found in state.children.
        reap_children(state)
        if any(fd == control_fd for fd, _ in events):
            if not receive_requests(state):
                return


def drain(fd):
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def receive_requests(state):
    """Handles every queued fork request. Returns False once the control socket is closed."""
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(
                state.sock, REQUEST_BUFSIZE, MAX_REQUEST_FDS, CLOEXEC_ON_RECEIVE
            )
        except BlockingIOError:
            return True
        except OSError as exc:
            log(f"control socket failed: {exc}")
            return False
        if not message and not fds:
            return False
        if message != FORK_REQUEST or len(fds) != 3:
            log(f"ignoring a malformed fork request ({len(message)} bytes, {len(fds)} fds)")
            close_all(fds)
            continue
        fork_child(state, *fds)


def fork_child(state, task_r, result_w, status_w):
    # "Received": if we die before the pid record, Rust knows whether this request was taken
    # (a child may exist) or never read (it can safely go to the next forkserver).
    write_status(status_w, b"R", 0)
    flush_std_streams()
    saved_mask = signal.pthread_sigmask(signal.SIG_BLOCK, FORK_BLOCKED_SIGNALS)
    try:
        state.sandbox.before_fork()
        try:
            pid = os.fork()
        except OSError:
            state.sandbox.after_fork_parent(None)
            raise
        if pid != 0:
            state.sandbox.after_fork_parent(pid)
    except OSError as exc:
        signal.pthread_sigmask(signal.SIG_SETMASK, saved_mask)
        log(f"fork failed: {exc}")
        write_status(status_w, b"E", exc.errno or 0)
        close_all((task_r, result_w, status_w))
        return
    if pid == 0:
        become_child(state, task_r, result_w, status_w, saved_mask)
    signal.pthread_sigmask(signal.SIG_SETMASK, saved_mask)
    # Also set from this side, so the group exists before Rust learns the pid and may kill(-pid).
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    close_all((task_r, result_w))
    state.children[pid] = status_w


def flush_std_streams():
    # Anything still buffered would otherwise be written twice, once by each process.
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass


def reap_children(state):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        report_exit(state, pid, status)


def report_exit(state, pid, status):
    status_w = state.children.pop(pid, None)
    if status_w is None:
        # Not a task: the init of a sandbox slot, which must not be used again.
        state.sandbox.forget_slot(pid)
        return
    state.sandbox.after_reap(pid, state.children)
    write_status(status_w, b"X", os.waitstatus_to_exitcode(status))
    close_all((status_w,))


def write_status(fd, tag, value):
    try:
        os.write(fd, STATUS_RECORD.pack(tag, value))
    except OSError:
        # The Rust worker stopped listening; nothing else depends on this record.
        pass


def close_all(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def shutdown(state):
    """Kills every live child's process group and reaps them; the runner is gone."""
    for pid in state.children:
        kill_group(pid)
    for pid in list(state.children):
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            close_all((state.children.pop(pid),))
            continue
        report_exit(state, pid, status)


def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# In the child


def die_with_forkserver(state):
    """Asks the kernel to SIGKILL this child if the forkserver dies: Rust may not have its pid
    yet to stop it, and an orphan must never run on unsupervised. (In a PID namespace of its own
    the child's parent is outside it, so getppid() is 0; the forkserver is then PID 1 of a
    namespace whose death kills every task anyway.)"""
    state.libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() not in (state.server_pid, 0):
        # The forkserver died before the request could take effect.
        os._exit(CHILD_FAILURE_EXIT)


def host_pid():
    """This process's pid as the runner sees it. /proc is still the runner's here (a task mounts
    its own later), and /proc/self names the reader in the namespace of that /proc."""
    try:
        return int(os.readlink("/proc/self"))
    except (OSError, ValueError):
        return os.getpid()


def become_child(state, task_r, result_w, status_w, saved_mask):
    """Turns the fresh fork into a task child. Never returns: always ends in os._exit."""
    code = CHILD_FAILURE_EXIT
    try:
        signal.set_wakeup_fd(-1)
        # The child reports its own pid: the forkserver may live in a PID namespace of its own,
        # where fork() returns a number that means nothing to the runner.
        write_status(status_w, b"P", host_pid())
        try:
            state.sandbox.confine()
        except Exception as exc:
            log(f"could not confine a task child: {type(exc).__name__}: {exc}")
            os._exit(CONFINEMENT_FAILURE_EXIT)
        die_with_forkserver(state)
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        # A SIGTERM sent since the fork was held back; with the default handler back it now
        # terminates the child as Rust intended.
        signal.pthread_sigmask(signal.SIG_SETMASK, saved_mask)
        try:
            os.setpgid(0, 0)
        except OSError:
            pass  # the forkserver sets it from its side as well
        state.sock.close()
        close_all((state.wake_r, state.wake_w, status_w))
        close_all(state.children.values())
        state.children.clear()
        state.child_module.run_task(task_r, result_w, state.config)
        code = 0
    except BaseException as exc:
        # No result was written (or only part of one): Rust sees exit code 70 instead.
        log(f"task child failed: {type(exc).__name__}: {exc}")
    finally:
        flush_std_streams()
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
