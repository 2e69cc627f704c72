"""Fork-ahead: the next task's process is forked and confined before its task arrives.

A slot keeps one such process; without namespaces (no slots) the forkserver itself keeps one
per task the runner may run at once. Owns the process forked ahead (forking it, handing it a
task's fds, letting it go unused), the forkserver's pool of them, and the slot's CompiledCode
cache, whose compiled code travels with the fds.
"""

import os
import socket

from .child import (
    CHILD_FAILURE_EXIT, confine_or_exit, fork_holding_signals, leave_the_forkservers_group,
    run_confined_child, send_pid_record,
)
from .processes import close_all
from .state import CLOEXEC_ON_RECEIVE, FORK_REQUEST, MAX_REQUEST_FDS, log

# A slot hands its process forked ahead the fds and, when it has it, the compiled code (at most
# MAX_COMPILED_SIZE: one message, well within a socket's send buffer).
HAND_OVER_BUFSIZE = 256 * 1024
MAX_COMPILED_SIZE = 128 * 1024
# Per slot: how many compiled codes, and how many bytes of them, are kept.
MAX_COMPILED_CODES = 64
MAX_COMPILED_BYTES = 8 << 20
PR_SET_NAME = 15
# The name (/proc/<pid>/comm) of a process forked ahead while it waits for its task.
AHEAD_NAME = b"n8n-ahead"


def fork_ahead(state):
    """Forks the next task process now, off the task's critical path: it confines
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
    """Lets a process forked ahead go unused: on EOF it exits (and its parent reaps it)."""
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
        # Named from the start while it waits, so that ps (and the tests) tell it from a task's
        # process.
        with open("/proc/self/comm", "rb") as comm:
            name = comm.read().strip()
        state.libc.prctl(PR_SET_NAME, AHEAD_NAME, 0, 0, 0)
        leave_the_forkservers_group()
        forget_the_forkservers_fds(state)
        confine_or_exit(state)
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


def forget_the_forkservers_fds(state):
    """In a process forked ahead, before it waits: it may wait long, and must not hold what the
    forkserver holds meanwhile. A running task's status channel kept open here would hide that
    task's end from the runner. The numbers are forgotten too: a task's fds received later may
    get them, and run_confined_child closes what is left."""
    state.sock.close()
    close_all((state.wake_r, state.wake_w))
    state.wake_r = state.wake_w = -1
    close_all(state.children.values())
    state.children.clear()
    for _, other in state.ahead:
        other.close()
    state.ahead = []


# ---------------------------------------------------------------------------------------------
# Without namespaces: the forkserver's own processes forked ahead


def top_up_ahead(state):
    """Forks processes ahead until state.ahead_wanted wait (no namespaces only)."""
    if state.sandbox.want["namespaces"]:
        return
    while len(state.ahead) < state.ahead_wanted:
        ahead = fork_ahead(state)
        if ahead is None:
            return
        state.ahead.append(ahead)


def take_ahead(state):
    """The process forked ahead longest ago (the likeliest to be confined by now), or None."""
    return state.ahead.pop(0) if state.ahead else None


def renew_ahead(state):
    """After a warm-up: the processes forked before it lack the new modules. Let them go and
    fork new ones."""
    for ahead in state.ahead:
        discard(ahead)
    state.ahead = []
    top_up_ahead(state)

