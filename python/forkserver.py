"""Fork server: the one long-lived Python process the Rust runner starts for task children.

Owns the control-socket protocol and the children's lives: it reads the configuration, loads the
sandbox module (python/sandbox.py) and the task package (python/n8n_task/) from source, preloads
modules once, learns which sandbox layers the kernel grants, reports ready, then forks one fresh
child per fork request, reports each child's exit code on that child's status pipe, reaps
children, and kills them all when the Rust side goes away. How a child is confined lives in
sandbox.py, what it does with its task in the n8n_task package (its entry point: entry.py).

Started by `python -I -B -c <a one-line bootstrap>` that reads this text as the first message
on fd 3, one end of an AF_UNIX SOCK_SEQPACKET socketpair (the control socket), and runs it as
`__main__` (tests may also run it directly with `-c <this text>`). Then, on the same socket:
  1. Rust -> us: one JSON config message: task_modules ([name, source] pairs of the n8n_task
     package's modules, in load order), sandbox_source, preload, block_env, builtins_deny,
     stdlib_allow, external_allow, blocked_names, blocked_attributes, allow_transitive_imports,
     limits, sandbox (unknown keys are ignored).
  2. us -> Rust: one JSON ready message (ready, pid, python, executable, stdlib_dir,
     stdlib_module_names, sandbox: the layers in force).
  3. Rust -> us: fork requests, each the byte b"F" plus fds task_r, result_w, status_w (and,
     for code of at most 32 KiB, the node mode byte a|e and the code, for the slots'
     compiled-code caches); and
     warm requests, b"W" plus a JSON list of module names that tasks imported, which this
     process imports too (see "Warming"), so later tasks inherit them.
Status records on status_w are 5 bytes: an ASCII tag and a big-endian signed 32-bit value:
R<0> when the request is taken (before the fork), P<pid> from the child itself (its pid as the
runner sees it), X<exit code> when reaped (negative = killed by that signal), or E<errno> when
the fork failed.
"""

import errno
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
# The config carries the task package's source; a SEQPACKET message is bounded by the socket's
# send buffer, so this is generous. Allocated once.
CONFIG_BUFSIZE = 16 * 1024 * 1024
# A fork request is b"F" plus the task's node mode and code when they are short (a hint for
# the slots' compiled-code caches); a warm request carries up to MAX_WARM_NAMES module names.
REQUEST_BUFSIZE = 64 * 1024
# A slot hands its process forked ahead the fds and, when it has it, the compiled code (at most
# MAX_COMPILED_SIZE: one message, well within a socket's send buffer).
HAND_OVER_BUFSIZE = 256 * 1024
MAX_COMPILED_SIZE = 128 * 1024
# Per slot: how many compiled codes, and how many bytes of them, are kept.
MAX_COMPILED_CODES = 64
MAX_COMPILED_BYTES = 8 << 20
# More than the 3 expected, so a request with too many fds is seen whole and closed.
MAX_REQUEST_FDS = 16
FORK_REQUEST = b"F"
WARM_REQUEST = b"W"
# Forkserver -> slot: try importing a module in a confined throw-away child (b"T" + name).
TRIAL_REQUEST = b"T"
MAX_WARM_NAMES = 64
# How long a trial import may take before its child is killed and the module refused.
TRIAL_TIMEOUT_SECS = 60
# The task package (python/n8n_task/): its modules are loaded as n8n_task.<name>, and the
# forkserver calls prepare() and run_task() of its entry module.
TASK_PACKAGE = "n8n_task"
TASK_ENTRY = "entry"
SANDBOX_MODULE_NAME = "n8n_sandbox"
CHILD_FAILURE_EXIT = 70
STATUS_RECORD = struct.Struct(">ci")
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NAME = 15
# The name (/proc/<pid>/comm) of a process forked ahead while it waits for its task.
AHEAD_NAME = b"n8n-ahead"
# A child whose confinement could not be set up exits with this code before running anything.
CONFINEMENT_FAILURE_EXIT = 71
# Blocked across fork() so a signal aimed at the new child waits until it has default handlers.
FORK_BLOCKED_SIGNALS = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}
CLOEXEC_ON_RECEIVE = getattr(socket, "MSG_CMSG_CLOEXEC", 0)
# Sizes of numerical libraries' thread pools, read when they load (the runner sets them to 1):
# in force while a module is warmed, so that numpy does not start threads.
THREAD_POOL_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS")


class State:
    """Everything the main loop and a freshly forked child need to know."""

    def __init__(self, sock, config, task_entry, sandbox):
        self.sock = sock
        self.config = config
        self.task_entry = task_entry
        self.sandbox = sandbox
        self.wake_r = -1
        self.wake_w = -1
        # pid -> status_w of every child not yet reaped.
        self.children = {}
        self.stopping = False
        self.server_pid = os.getpid()
        self.libc = sandbox.libc
        # With namespaces: slots waiting for a task, and slots running one (by socket fd).
        self.idle_slots = []
        self.busy_slots = {}
        # In a slot's replica: its socket to the forkserver.
        self.slot_sock = None
        # Warming: module names waiting, those refused once (never tried again), the MiB the
        # forkserver may still grow by, and the generation that slots made after a warm-up get.
        self.warm_pending = []
        self.warm_refused = set()
        self.warm_budget_mib = float(config.get("warm_max_mib") or 0)
        self.generation = 0
        self.uname_known = False
        # Modules warmed since the last settle (what the next log line lists).
        self.warmed_unsettled = []
        self.thread_env = {}


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
    # Read before the task package may clear the environment (N8N_BLOCK_RUNNER_ENV_ACCESS).
    thread_env = {name: os.environ[name] for name in THREAD_POOL_VARS if name in os.environ}
    sandbox_module = load_module(SANDBOX_MODULE_NAME, config["sandbox_source"])
    sandbox = sandbox_module.Sandbox(config, log)
    # Task children (same user, unless the runner is root) must not read this process's memory
    # or /proc files.
    sandbox.libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    task_entry = load_task_package(config["task_modules"])
    preload_modules(config.get("preload") or ())
    prepare = getattr(task_entry, "prepare", None)
    if prepare is not None:
        prepare(config)
    # After every import: the sandbox lets tasks read what sys.path names now.
    sandbox.start()
    state = State(sock, config, task_entry, sandbox)
    state.thread_env = thread_env
    probe_sandbox(state)
    install_signal_handlers(state)
    # Everything loaded so far is shared with every child; freezing keeps the collector from
    # touching (and so copying) those pages in the children.
    gc.freeze()
    send_ready(sock, sandbox.report())
    serve(state)
    shutdown(state)
    sandbox.shutdown()
    return 0


def probe_sandbox(state):
    """Learns which sandbox layers this kernel grants, switching off (loudly) each that fails:
    with namespaces by making the first slot, which is kept for the first task; without, by
    confining a throw-away child."""
    sandbox = state.sandbox
    for _ in range(len(sandbox.want) + 1):
        if not sandbox.want["namespaces"]:
            break
        try:
            state.idle_slots.append(Slot(state))
            return
        except SlotFailed as exc:
            layer, _, why = str(exc).partition(":")
            sandbox.disable(layer, why)
    sandbox.probe()


def receive_config(sock):
    message, _, flags, _ = sock.recvmsg(CONFIG_BUFSIZE)
    if not message:
        log("control socket closed before the configuration arrived")
        return None
    if flags & socket.MSG_TRUNC:
        raise SystemExit(f"configuration message larger than {CONFIG_BUFSIZE} bytes")
    config = json.loads(message.decode("utf-8"))
    if not (isinstance(config, dict) and isinstance(config.get("sandbox_source"), str)
            and is_module_list(config.get("task_modules"))):
        raise SystemExit("configuration must be a JSON object with task_modules ([name, source] "
                         "pairs, the entry module among them) and a sandbox_source string")
    return config


def is_module_list(modules):
    return (
        isinstance(modules, list)
        and all(
            isinstance(pair, list) and len(pair) == 2
            and all(isinstance(part, str) for part in pair) and pair[0].isidentifier()
            for pair in modules
        )
        and TASK_ENTRY in (name for name, _ in modules)
    )


def load_module(name, source, package=None):
    module = types.ModuleType(name)
    # The package relative imports (`from .errors import ...`) resolve against.
    module.__package__ = package
    sys.modules[name] = module
    code = compile(source, f"<{name}>", "exec", dont_inherit=True)
    exec(code, module.__dict__)
    return module


def load_task_package(modules):
    """Loads the task package's modules, [name, source] pairs in load order (each imports only
    modules before it), as n8n_task.<name>; returns the entry module.

    The package is a module made here, with an empty __path__: its modules' relative imports
    find the ones already loaded in sys.modules, and nothing is ever looked up on disk. Every
    module is compiled under the filename <n8n_task.<name>>, which is how tracebacks tell the
    runner's frames from the user's.
    """
    package = types.ModuleType(TASK_PACKAGE)
    package.__path__ = []
    package.__package__ = TASK_PACKAGE
    sys.modules[TASK_PACKAGE] = package
    for name, source in modules:
        setattr(package, name, load_module(f"{TASK_PACKAGE}.{name}", source, TASK_PACKAGE))
    return getattr(package, TASK_ENTRY)


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
    state.poller = poller
    while not state.stopping:
        # While modules wait to be warmed, one is warmed per turn, between requests.
        events = poller.poll(0 if state.warm_pending else None)
        drain(state.wake_r)
        # Reaping only here, after any fork has registered its pid, means a child that exits
        # at once is still found in state.children.
        reap_children(state)
        for fd, _ in events:
            if fd in state.busy_slots:
                slot_answered(state, fd)
        if any(fd == control_fd for fd, _ in events):
            if not receive_requests(state):
                return
        if state.warm_pending:
            warm(state)


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
        if message.startswith(WARM_REQUEST) and not fds:
            queue_warm(state, message[len(WARM_REQUEST):])
            continue
        if not message.startswith(FORK_REQUEST) or len(fds) != 3:
            log(f"ignoring a malformed fork request ({len(message)} bytes, {len(fds)} fds)")
            close_all(fds)
            continue
        fork_child(state, *fds, hint=message[len(FORK_REQUEST):])


def fork_child(state, task_r, result_w, status_w, hint=b""):
    # "Received": if we die before the pid record, Rust knows whether this request was taken
    # (a child may exist) or never read (it can safely go to the next forkserver).
    write_status(status_w, b"R", 0)
    if not state.sandbox.want["namespaces"]:
        pid = fork_task(state, task_r, result_w, status_w)
        if pid is not None:
            state.children[pid] = status_w
        return
    # With namespaces a slot's replica forks the task; it reports the exit code itself.
    try:
        slot = hand_to_slot(state, FORK_REQUEST + hint, [task_r, result_w, status_w])
    except (OSError, SlotFailed) as exc:
        log(f"no sandbox slot for a task: {exc}")
        write_status(status_w, b"E", getattr(exc, "errno", None) or errno.EAGAIN)
        close_all((task_r, result_w, status_w))
        return
    close_all((task_r, result_w, status_w))
    state.busy_slots[slot.sock.fileno()] = slot
    state.poller.register(slot.sock.fileno(), select.POLLIN)


def hand_to_slot(state, message, fds):
    """Sends a request to an idle slot, or a new one; an idle slot found dead (it exited on its
    own) is replaced once. Returns the slot."""
    while state.idle_slots:
        slot = state.idle_slots.pop()
        try:
            send_to_slot(slot, message, fds)
            return slot
        except OSError as exc:
            log(f"an idle sandbox slot was gone ({exc}); using another")
            slot.sock.close()
    slot = Slot(state)
    send_to_slot(slot, message, fds)
    return slot


def send_to_slot(slot, message, fds):
    if fds:
        socket.send_fds(slot.sock, [message], fds)
    else:
        slot.sock.send(message)


def slot_answered(state, fd):
    """A busy slot finished its task (b"k") or is gone (EOF)."""
    slot = state.busy_slots.pop(fd)
    state.poller.unregister(fd)
    try:
        answer = slot.sock.recv(16)
    except OSError:
        answer = b""
    if answer == b"k" and slot.generation == state.generation:
        state.idle_slots.append(slot)
    else:
        # Gone, or made before a warm-up: its tasks would not inherit the modules warmed since.
        slot.sock.close()


def fork_holding_signals():
    """fork() with FORK_BLOCKED_SIGNALS held across it. Returns (pid, the mask to restore): the
    parent's is restored already, the child restores it once it has its own handlers. Raises
    OSError when fork() fails."""
    flush_std_streams()
    saved_mask = signal.pthread_sigmask(signal.SIG_BLOCK, FORK_BLOCKED_SIGNALS)
    try:
        pid = os.fork()
    except OSError:
        signal.pthread_sigmask(signal.SIG_SETMASK, saved_mask)
        raise
    if pid != 0:
        signal.pthread_sigmask(signal.SIG_SETMASK, saved_mask)
    return pid, saved_mask


def fork_task(state, task_r, result_w, status_w):
    """Forks a task process (in the forkserver, or in a slot's replica). Returns its pid, or
    None when fork() failed (then reported as E<errno>)."""
    try:
        pid, saved_mask = fork_holding_signals()
    except OSError as exc:
        log(f"fork failed: {exc}")
        write_status(status_w, b"E", exc.errno or 0)
        close_all((task_r, result_w, status_w))
        return None
    if pid == 0:
        become_child(state, task_r, result_w, status_w, saved_mask)
    # Also set from this side, so the group exists before Rust learns the pid and may kill(-pid).
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    close_all((task_r, result_w))
    return pid


# ---------------------------------------------------------------------------------------------
# Slots: confined replicas that fork the tasks


class SlotFailed(Exception):
    """A slot could not be set up; the message is "layer:why"."""


class Slot:
    """A replica of this forkserver, PID 1 of a PID namespace of its own, confined once by
    sandbox.confine_slot(); it forks the tasks it is handed, one at a time, and after each one
    kills what the task left and empties /tmp. The task itself is never PID 1: the kernel would
    shield it from its own SIGKILL, the runner's SIGTERM and the CPU limit's SIGXCPU."""

    def __init__(self, state):
        self.generation = state.generation
        sandbox = state.sandbox
        sandbox.enter_new_pid_namespace()
        try:
            self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            self.pid = os.fork()
            if self.pid == 0:
                self.sock.close()
                run_slot(state, theirs)
        finally:
            sandbox.leave_new_pid_namespace()
        theirs.close()
        ready = self.sock.recv(4096)
        if ready != b"r":
            self.sock.close()
            raise SlotFailed(ready.decode("utf-8", "replace") or "namespaces:the slot exited")


def run_slot(state, sock):
    """A slot's replica. Never returns."""
    try:
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_IGN)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # Nothing of the forkserver's stays open here: not its control socket, not other slots.
        state.sock.close()
        close_all((state.wake_r, state.wake_w))
        # Forgotten too: a task's fds received later may get these numbers, and a task
        # process closes the wake pipe it inherits.
        state.wake_r = state.wake_w = -1
        for slot in state.idle_slots + list(state.busy_slots.values()):
            slot.sock.close()
        state.idle_slots, state.busy_slots = [], {}
        state.slot_sock = sock
        try:
            state.sandbox.confine_slot()
            problem = state.sandbox.verify()
        except Exception as exc:
            problem = str(exc).encode("utf-8", "replace")
        if problem:
            sock.send(problem)
            os._exit(CONFINEMENT_FAILURE_EXIT)
        # Whatever else the forkserver had open would reach every task of the slot.
        close_all_but(0, 1, 2, sock.fileno(), state.sandbox.task_scope_fd)
        # As in the forkserver: the collector must not walk (and so copy) the pages every task
        # shares. The first slot is made before the forkserver freezes its own objects.
        gc.freeze()
        sock.send(b"r")
        compiled = CompiledCode()
        ahead = fork_ahead(state)
        while True:
            message, fds, _, _ = socket.recv_fds(sock, REQUEST_BUFSIZE, MAX_REQUEST_FDS,
                                                 CLOEXEC_ON_RECEIVE)
            if not message:
                break  # the forkserver is gone
            if message.startswith(TRIAL_REQUEST) and not fds:
                # The slot is retired after a trial: its process forked ahead is not needed, and
                # the trial's child must not inherit that process's channel.
                discard(ahead)
                ahead = None
                name = message[len(TRIAL_REQUEST):].decode("utf-8", "replace")
                sock.send(json.dumps(trial_import(state, name)).encode("utf-8"))
                if not state.sandbox.clean_slot():
                    break
                continue
            if not message.startswith(FORK_REQUEST) or len(fds) != 3:
                close_all(fds)
                continue
            task_r, result_w, status_w = fds
            hint = message[len(FORK_REQUEST):]
            pid = hand_over(ahead, fds, compiled.get(hint))
            if pid is not None:
                close_all((task_r, result_w))
            else:
                # The child forked ahead is gone (its confinement failed, say): fork now.
                pid = fork_task(state, task_r, result_w, status_w)
            if pid is not None:
                write_status(status_w, b"X", os.waitstatus_to_exitcode(wait_for(pid)))
                close_all((status_w,))
            # Kills the child forked ahead too, if it was not used: it is made anew below.
            if not state.sandbox.clean_slot():
                log("a task left files in /tmp that could not be removed; its slot is retired")
                break
            ahead = fork_ahead(state)
            sock.send(b"k")
            # Off the critical path: the next task with this code gets it compiled.
            compiled.learn(state, hint)
    except BaseException as exc:
        log(f"sandbox slot failed: {type(exc).__name__}: {exc}")
    finally:
        os._exit(0)


# ---------------------------------------------------------------------------------------------
# Fork-ahead: in a slot, the next task's process is forked and confined before its task arrives


def fork_ahead(state):
    """Forks the slot's next task process now, off the task's critical path: it confines
    itself and waits on a socket of its own for its three fds. Returns (pid, socket), or None
    when fork() failed (the task then gets a process forked on arrival)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        pid, saved_mask = fork_holding_signals()
    except OSError as exc:
        log(f"fork ahead failed: {exc}")
        ours.close()
        theirs.close()
        return None
    if pid == 0:
        ours.close()
        wait_for_task(state, theirs, saved_mask)
    theirs.close()
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    return pid, ours


class CompiledCode:
    """A slot's cache: fork-request hint (node mode byte and code) -> the code compiled and
    marshalled by the slot itself after a task with that code ran. Never filled from what a
    task process says: a task must not choose what the next one runs."""

    def __init__(self):
        self.entries = {}
        self.size = 0

    def get(self, hint):
        return self.entries.get(hint) if hint else None

    def learn(self, state, hint):
        if not hint or hint in self.entries:
            return
        mode = "runOnceForEachItem" if hint[:1] == b"e" else "runOnceForAllItems"
        try:
            code = hint[1:].decode("utf-8")
        except UnicodeDecodeError:
            return
        compiled = state.task_entry.precompile(mode, code)
        if compiled is None or len(compiled) > MAX_COMPILED_SIZE:
            return
        while self.entries and (len(self.entries) >= MAX_COMPILED_CODES
                                or self.size + len(compiled) > MAX_COMPILED_BYTES):
            oldest = next(iter(self.entries))
            self.size -= len(self.entries.pop(oldest))
        self.entries[hint] = compiled
        self.size += len(compiled)


def discard(ahead):
    """Lets a process forked ahead go unused: on EOF it exits (and the slot reaps it)."""
    if ahead is not None:
        ahead[1].close()


def hand_over(ahead, fds, compiled=None):
    """Gives a task's fds (and the compiled code the slot expects it to run, if it has it) to
    the process forked ahead; its pid, or None if it is gone."""
    if ahead is None:
        return None
    pid, channel = ahead
    try:
        socket.send_fds(channel, [FORK_REQUEST + (compiled or b"")], fds)
        return pid
    except OSError:
        return None
    finally:
        channel.close()


def wait_for_task(state, channel, saved_mask):
    """In a process forked ahead: confined at once, then waits for its task's fds and becomes
    that task's process. Never returns."""
    try:
        leave_the_forkservers_group()
        confine_or_exit(state)
        # Named while it waits, so that ps (and the tests) tell it from a task's process.
        with open("/proc/self/comm", "rb") as comm:
            name = comm.read().strip()
        state.libc.prctl(PR_SET_NAME, AHEAD_NAME, 0, 0, 0)
        message, fds, _, _ = socket.recv_fds(channel, HAND_OVER_BUFSIZE, MAX_REQUEST_FDS,
                                             CLOEXEC_ON_RECEIVE)
        channel.close()
        if not message.startswith(FORK_REQUEST) or len(fds) != 3:
            os._exit(0)  # the slot is gone, or retired this process unused
        state.libc.prctl(PR_SET_NAME, name, 0, 0, 0)
    except BaseException:
        os._exit(CHILD_FAILURE_EXIT)
    task_r, result_w, status_w = fds
    send_pid_record(status_w)
    run_confined_child(state, task_r, result_w, status_w, saved_mask,
                       message[len(FORK_REQUEST):])


# ---------------------------------------------------------------------------------------------
# Warming: importing what tasks import, so that later tasks inherit it
#
# The runner sends the names of the modules tasks imported (allowed by the allowlists: user code
# got them through the import guard). Each is first imported by a throw-away child confined as a
# task is, under a filter that kills it at its first attempt to start a process or a thread; it
# reports whether the import worked and left no thread, no open descriptor and no changed signal
# handler behind, and how much memory it took. Only then does this process import it, within
# the memory budget (N8N_RUNNERS_WARM_MAX_MEMORY). Then the task package settles its modules
# again (children keep the allowed ones, the stash hands back the rest), the collector freezes
# what was loaded, and idle slots are replaced by new ones that inherit the modules. A module
# refused once is never tried again by this process.


def queue_warm(state, payload):
    try:
        names = json.loads(payload.decode("utf-8"))
    except ValueError:
        names = None
    if not isinstance(names, list):
        log("ignoring a malformed warm request")
        return
    for name in names[:MAX_WARM_NAMES]:
        if isinstance(name, str) and is_module_name(name) and name not in state.warm_pending:
            state.warm_pending.append(name)


def is_module_name(name):
    parts = name.split(".")
    # `__main__` modules run a program when imported.
    return len(name) <= 200 and all(part.isidentifier() for part in parts) and \
        "__main__" not in parts


def warm(state):
    """Warms the next pending module; once none is pending, settles what was warmed. One
    module per turn of the main loop, so fork requests are served in between."""
    if not state.uname_known:
        # platform.processor() runs `uname -p` once and caches the answer; many packages ask at
        # import (pandas does), which would count as starting a process in a trial.
        platform.processor()
        state.uname_known = True
    name = state.warm_pending.pop(0)
    warmed = warm_one(state, name)
    if warmed:
        state.warmed_unsettled.append(warmed)
    if state.warm_pending or not state.warmed_unsettled:
        return
    state.task_entry.settle_again()
    gc.freeze()
    renew_idle_slots(state)
    log(f"warmed {', '.join(state.warmed_unsettled)}; {max(state.warm_budget_mib, 0):.0f} MiB "
        "of N8N_RUNNERS_WARM_MAX_MEMORY left")
    state.warmed_unsettled = []


def warm_one(state, name):
    """Tries name, then imports it here. Returns what to log, or None if it is not warmed."""
    if state.task_entry.already_loaded(name) or name in state.warm_refused:
        return None
    if not state.task_entry.allows(name):
        # Replies come from task processes, which a breached task controls.
        state.warm_refused.add(name)
        log(f"not warming {name}: the allowlists do not allow it")
        return None
    if state.warm_budget_mib <= 0:
        state.warm_refused.add(name)
        return None
    problem, needed = judge(trial(state, name))
    if not problem and needed > state.warm_budget_mib:
        problem = (f"it needs {needed:.0f} MiB, {state.warm_budget_mib:.0f} MiB left of "
                   "N8N_RUNNERS_WARM_MAX_MEMORY")
    if problem:
        state.warm_refused.add(name)
        log(f"not warming {name}: {problem}")
        return None
    before = resident_mib()
    try:
        with thread_pool_sizes(state):
            __import__(name)
    except Exception as exc:
        state.warm_refused.add(name)
        log(f"not warming {name}: {type(exc).__name__}: {exc}")
        return None
    grown = max(resident_mib() - before, 0.0)
    state.warm_budget_mib -= grown
    return f"{name} (+{grown:.1f} MiB)"


def judge(verdict):
    """(problem or None, MiB needed) from a trial's verdict, whatever shape it has."""
    if not isinstance(verdict, dict):
        return "the trial gave no verdict", 0.0
    problem = verdict.get("problem")
    if problem is not None:
        return str(problem)[:500], 0.0
    needed = verdict.get("mib")
    if type(needed) not in (int, float) or not 0 <= needed < float("inf"):
        return "the trial gave no verdict", 0.0
    return None, float(needed)


class thread_pool_sizes:
    """The runner's thread-pool sizes in the environment for a while (it may have been cleared
    for tasks); afterwards the environment is as it was."""

    def __init__(self, state):
        self.sizes = state.thread_env
        self.saved = {}

    def __enter__(self):
        self.saved = {name: os.environ.get(name) for name in self.sizes}
        os.environ.update(self.sizes)

    def __exit__(self, *exc_info):
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def renew_idle_slots(state):
    """Idle slots were forked before the warm-up: replaced by new ones; busy ones are closed
    when they finish (their generation is old)."""
    state.generation += 1
    count = len(state.idle_slots)
    for slot in state.idle_slots:
        slot.sock.close()
    state.idle_slots = []
    for _ in range(count):
        try:
            state.idle_slots.append(Slot(state))
        except SlotFailed as exc:
            log(f"no new sandbox slot after warming: {exc}")
            break


def trial(state, name):
    """The verdict of a trial import of name: {"mib": ...}, or {"problem": ...}."""
    if not state.sandbox.want["namespaces"]:
        return trial_import(state, name)
    try:
        slot = hand_to_slot(state, TRIAL_REQUEST + name.encode("utf-8"), [])
    except (OSError, SlotFailed) as exc:
        return {"problem": f"no sandbox slot for the trial: {exc}"}
    try:
        if not select.select([slot.sock], [], [], TRIAL_TIMEOUT_SECS)[0]:
            return {"problem": f"the trial import took over {TRIAL_TIMEOUT_SECS} s"}
        return json.loads(slot.sock.recv(64 * 1024).decode("utf-8") or "null")
    except (OSError, ValueError) as exc:
        return {"problem": f"the trial failed: {exc}"}
    finally:
        # Retired: it will be replaced once the module is warm.
        slot.sock.close()


def trial_import(state, name):
    """Forks a child confined as a task (in a slot's replica, or without namespaces in the
    forkserver) that imports name and reports; returns its verdict."""
    verdict_r, verdict_w = os.pipe()
    flush_std_streams()
    pid = os.fork()
    if pid == 0:
        os.close(verdict_r)
        verdict = {"problem": "the trial child failed"}
        try:
            leave_the_forkservers_group()
            # Confinement first: without namespaces it needs the descriptors of the paths its
            # Landlock rules name, which the forkserver holds open.
            state.sandbox.confine()
            # The module's code runs here: nothing of the forkserver's (its control socket, the
            # status channels of running tasks) or the slot's must be within its reach.
            close_all_but(0, 1, 2, verdict_w)
            os.environ.update(state.thread_env)
            # The answer the forkserver has cached already (a slot may predate it).
            platform.processor()
            verdict = import_and_inspect(state, name)
        except BaseException as exc:
            verdict = {"problem": f"{type(exc).__name__}: {exc}"}
        finally:
            try:
                os.write(verdict_w, json.dumps(verdict).encode("utf-8")[:60000])
            finally:
                os._exit(0)
    os.close(verdict_w)
    status = None
    try:
        ready = select.select([verdict_r], [], [], TRIAL_TIMEOUT_SECS)[0]
        answer = os.read(verdict_r, 64 * 1024) if ready else b""
    finally:
        os.close(verdict_r)
        if not ready:
            kill_group(pid)
        status = os.waitstatus_to_exitcode(wait_for(pid))
        kill_group(pid)
        state.sandbox.after_reap(pid, state.children)
    if not ready:
        return {"problem": f"the trial import took over {TRIAL_TIMEOUT_SECS} s"}
    if status == -signal.SIGSYS:
        return {"problem": "importing it starts a process or a thread"}
    try:
        return json.loads(answer.decode("utf-8"))
    except ValueError:
        return {"problem": f"the trial child died (exit status {status})"}


def import_and_inspect(state, name):
    """In the trial child: imports name under a filter that kills it at its first attempt to
    start a process or a thread, and reports what the import left behind."""
    state.sandbox.forbid_processes()
    watched = (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE)
    threads, fds = len(os.listdir("/proc/self/task")), set(os.listdir("/proc/self/fd"))
    handlers = [signal.getsignal(signum) for signum in watched]
    before = resident_mib()
    __import__(name)
    if len(os.listdir("/proc/self/task")) != threads:
        return {"problem": "importing it starts a thread"}
    if set(os.listdir("/proc/self/fd")) != fds:
        return {"problem": "importing it leaves a file or socket open"}
    if [signal.getsignal(signum) for signum in watched] != handlers:
        return {"problem": "importing it installs a signal handler"}
    return {"mib": max(resident_mib() - before, 0.0)}


def resident_mib():
    with open("/proc/self/statm", "rb") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def close_all_but(*keep):
    """Closes every descriptor not in `keep` (listed from the slot's own /proc)."""
    keep = set(keep)
    for name in os.listdir("/proc/self/fd"):
        if int(name) not in keep:
            try:
                os.close(int(name))
            except OSError:
                pass  # the listing's own descriptor, gone already


def wait_for(pid):
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue


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
        return  # a slot's replica (its socket tells the rest)
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
    """Kills every live child's process group and reaps them; the runner is gone. (Slots and
    their tasks die with this process: it is PID 1 of their namespaces' parent.)"""
    for slot in state.idle_slots + list(state.busy_slots.values()):
        slot.sock.close()
    if not state.sandbox.want["namespaces"]:
        state.sandbox.kill_orphans(())
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
    yet to stop it, and an orphan must never run on unsupervised."""
    state.libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != state.server_pid:
        # The forkserver died before the request could take effect.
        os._exit(CHILD_FAILURE_EXIT)


def send_pid_record(status_w):
    """P, sent with this process's credentials: the kernel translates our pid into the runner's
    PID namespace (ours may be one it cannot see into). A plain record where the status channel
    is a pipe (tests that drive the forkserver directly)."""
    record = STATUS_RECORD.pack(b"P", os.getpid())
    try:
        channel = socket.socket(fileno=status_w)
    except OSError:
        write_status(status_w, b"P", os.getpid())
        return
    try:
        credentials = struct.pack("=iII", os.getpid(), os.getuid(), os.getgid())
        channel.sendmsg([record], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, credentials)])
    except OSError:
        pass  # the runner stopped listening
    finally:
        channel.detach()


def leave_the_forkservers_group():
    """The first step of every process forked for a task (or a trial): no wake-up fd of the
    forkserver's, and a process group of its own before Rust learns the pid and may kill(-pid)."""
    signal.set_wakeup_fd(-1)
    try:
        os.setpgid(0, 0)
    except OSError:
        pass


def confine_or_exit(state):
    """Confines a task process, or ends it with CONFINEMENT_FAILURE_EXIT before it runs anything."""
    try:
        state.sandbox.confine()
    except Exception as exc:
        log(f"could not confine a task child: {type(exc).__name__}: {exc}")
        os._exit(CONFINEMENT_FAILURE_EXIT)


def become_child(state, task_r, result_w, status_w, saved_mask):
    """Turns the fresh fork into a task child. Never returns: always ends in os._exit."""
    code = CHILD_FAILURE_EXIT
    try:
        leave_the_forkservers_group()
        send_pid_record(status_w)
        confine_or_exit(state)
    except BaseException as exc:
        log(f"task child failed: {type(exc).__name__}: {exc}")
        flush_std_streams()
        os._exit(code)
    run_confined_child(state, task_r, result_w, status_w, saved_mask)


def run_confined_child(state, task_r, result_w, status_w, saved_mask, precompiled=b""):
    """A confined task process, its pid reported: runs its task. Never returns."""
    code = CHILD_FAILURE_EXIT
    try:
        if state.slot_sock is None:
            # In a slot the namespaces see to it: the forkserver is PID 1 of their parent.
            die_with_forkserver(state)
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        # A SIGTERM sent since the fork was held back; with the default handler back it now
        # terminates the child as Rust intended.
        signal.pthread_sigmask(signal.SIG_SETMASK, saved_mask)
        state.sock.close()
        if state.slot_sock is not None:
            state.slot_sock.close()
        close_all((state.wake_r, state.wake_w, status_w))
        close_all(state.children.values())
        state.children.clear()
        state.task_entry.run_task(task_r, result_w, state.config, precompiled)
        code = 0
    except BaseException as exc:
        # No result was written (or only part of one): Rust sees exit code 70 instead.
        log(f"task child failed: {type(exc).__name__}: {exc}")
    finally:
        flush_std_streams()
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
