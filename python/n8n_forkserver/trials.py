"""Trial imports: a throw-away child, confined as a task is, imports a module and reports.

Owns the trial child (in a slot's replica, or without namespaces in the forkserver) and what it
inspects: threads and processes started, descriptors left open, signal handlers changed, and the
memory the import took. Whether to warm the module is decided in warming.py.
"""

import json
import os
import platform
import select
import signal

from .child import leave_the_forkservers_group
from .processes import close_all_but, flush_std_streams, kill_group, resident_mib, wait_for

# How long a trial import may take before its child is killed and the module refused.
TRIAL_TIMEOUT_SECS = 60


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
