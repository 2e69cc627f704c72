"""Slots: confined replicas of the forkserver that fork the tasks (with namespaces).

Owns making a slot, the slot's own loop (one task, or one trial import, at a time, then a clean
slot and a new process forked ahead), and the forkserver's side: handing a request to an idle
slot and taking it back once it answers.
"""

import gc
import json
import os
import signal
import socket

from .ahead import CompiledCode, discard, fork_ahead, hand_over
from .child import CONFINEMENT_FAILURE_EXIT, fork_task
from .processes import close_all, close_all_but, wait_for, write_status
from .state import (
    CLOEXEC_ON_RECEIVE, FORK_REQUEST, MAX_REQUEST_FDS, REQUEST_BUFSIZE, TRIAL_REQUEST, log,
)
from .trials import trial_import


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
