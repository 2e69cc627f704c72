"""What every part of the forkserver shares: the State, log(), and the request tags and sizes.

State is everything the main loop and a freshly forked child need to know; log() writes one
line to fd 2. The requests are those on the control socket (from Rust) and on a slot's socket
(from the forkserver); python/forkserver.py describes the protocol.
"""

import os
import socket

# A fork request is b"F" plus the task's node mode and code when they are short (a hint for
# the slots' compiled-code caches); a warm request carries up to MAX_WARM_NAMES module names.
REQUEST_BUFSIZE = 64 * 1024
# More than the 3 expected, so a request with too many fds is seen whole and closed.
MAX_REQUEST_FDS = 16
FORK_REQUEST = b"F"
WARM_REQUEST = b"W"
# Forkserver -> slot: try importing a module in a confined throw-away child (b"T" + name).
TRIAL_REQUEST = b"T"
CLOEXEC_ON_RECEIVE = getattr(socket, "MSG_CMSG_CLOEXEC", 0)


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
        # Without namespaces: task processes this process forked ahead, (pid, channel) each,
        # and how many it keeps. One: with two tasks at once the trivial task's p50 was the same
        # with one as with two (the forkserver's own work is the bottleneck there), and each one
        # counts against the uid's N8N_RUNNERS_TASK_MAX_PROCESSES, shared with the tasks.
        self.ahead = []
        self.ahead_wanted = 1
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
