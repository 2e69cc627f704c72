"""Processes and descriptors: reaping, waiting, killing, closing, and the status records.

Owns the 5-byte status records (an ASCII tag and a big-endian signed 32-bit value) written on a
task's status channel, reaping children and reporting their exit codes, killing a child's
process group, closing descriptors, flushing the std streams before a fork, a process's resident
memory, and shutdown: what happens to every live child once the runner is gone.
"""

import os
import signal
import struct
import sys

STATUS_RECORD = struct.Struct(">ci")


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
    # Processes forked ahead are not a task's leftovers.
    state.sandbox.after_reap(pid, set(state.children) | {ahead for ahead, _ in state.ahead})
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
