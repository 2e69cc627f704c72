"""The main loop: requests on the control socket, reaping, answers of busy slots, warming.

Owns serve(), reading fork and warm requests, and giving a fork request its process: forked
here without namespaces, handed to a slot with them.
"""

import errno
import os
import select
import socket

from .ahead import hand_over, take_ahead, top_up_ahead
from .child import fork_task
from .processes import close_all, reap_children, write_status
from .slots import SlotFailed, hand_to_slot, slot_answered
from .state import (
    CLOEXEC_ON_RECEIVE, FORK_REQUEST, MAX_REQUEST_FDS, REQUEST_BUFSIZE, WARM_REQUEST, log,
)
from .warming import queue_warm, warm


def serve(state):
    """Forks on request and reaps on SIGCHLD until the control socket closes or SIGTERM."""
    state.sock.setblocking(False)
    control_fd = state.sock.fileno()
    poller = select.poll()
    poller.register(control_fd, select.POLLIN)
    poller.register(state.wake_r, select.POLLIN)
    state.poller = poller
    top_up_ahead(state)
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
            # Off the critical path: the requests of this turn have their processes.
            top_up_ahead(state)
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
        pid = hand_over(take_ahead(state), (task_r, result_w, status_w))
        if pid is not None:
            close_all((task_r, result_w))
        else:
            # None was forked ahead, or it is gone (its confinement failed, say): fork now.
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
