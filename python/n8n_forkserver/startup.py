"""Start-up: from the configuration to the ready message, then serving until the end.

Owns loading the sandbox module and the task package (with the bootstrap's loader), preloading
modules, probing which sandbox layers the kernel grants, the signal handlers, the ready message,
and the order of all that.
"""

import gc
import json
import os
import platform
import signal
import sys

from .loop import serve
from .processes import shutdown
from .slots import Slot, SlotFailed
from .state import State, log

SANDBOX_MODULE_NAME = "n8n_sandbox"
PR_SET_DUMPABLE = 4
# Sizes of numerical libraries' thread pools, read when they load (the runner sets them to 1):
# in force while a module is warmed, so that numpy does not start threads.
THREAD_POOL_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS")


def main(sock, config, load_module, load_task_package):
    """Runs the forkserver from its configuration to its end. load_module and load_task_package
    are the bootstrap's loader (python/forkserver.py), the one that loaded this package."""
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
