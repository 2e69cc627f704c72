"""In the child: forking a task process and what it does before and around its task.

Owns the fork itself (with the signals a new child must not see before it has default handlers
held back), the first steps every forked process takes (a process group of its own, the pid
record, confinement, or CONFINEMENT_FAILURE_EXIT), and handing over to the task package's
run_task() with nothing of the forkserver's left open.
"""

import os
import signal
import socket
import struct

from .processes import STATUS_RECORD, close_all, flush_std_streams, write_status
from .state import log

CHILD_FAILURE_EXIT = 70
PR_SET_PDEATHSIG = 1
# A child whose confinement could not be set up exits with this code before running anything.
CONFINEMENT_FAILURE_EXIT = 71
# Blocked across fork() so a signal aimed at the new child waits until it has default handlers.
FORK_BLOCKED_SIGNALS = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}


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
