"""Kernel sandbox of task children: what the operating system enforces under the Python guards.

Owns every confinement step a task child takes between fork() and running user code, and the
forkserver-side set-up those steps need. The guards in child.py can be bypassed by an allowed
module; what this module sets up holds even when user code has the real `os`, `ctypes` and
`subprocess`.

The forkserver loads this source as module ``n8n_sandbox`` and builds one ``Sandbox`` from the
``sandbox`` and ``limits`` parts of its configuration. ``probe()`` confines a throw-away child once
to learn which layers this kernel grants; later children apply exactly those and fail closed
(exit 71) when one of them fails. Per task:

  forkserver: before_fork() (an idle PID namespace slot for the next child), fork,
              after_fork_parent()
  child:      confine(), in this order, each step stopping something:
    1. mount namespace, fresh /proc, tmpfs /tmp .. other tasks' and the host's pids and temp files
    2. network namespace (when isolation is on) .. the network, loopback included
    3. resource limits ........................... memory, CPU, file size, core dumps
    4. the task user (runner started as root) .... the runner's and root's files and signals
    5. user namespace of its own ................. shared process-count accounting; capabilities
    6. capabilities dropped, no_new_privs ......... any privilege, now or after execve
    7. Landlock ................................... files outside the interpreter and /tmp;
                                                    signals and abstract sockets outside the task
    8. seccomp .................................... ptrace, mount, bpf, keyctl, clock changes, ...
  forkserver: after_reap() (kill what the task left behind: the slot's init does it, or without
              PID namespaces the forkserver itself)

Where user namespaces are refused (Docker's default profile), steps 1, 2 and 5 are skipped, the
forkserver is a subreaper that kills a task's orphans, and the temporary directory is a
per-task directory removed after the task; Landlock and seccomp still hold.
"""

import ctypes
import os
import resource
import signal
import socket
import struct
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REC = 0x4000
MS_PRIVATE = 0x40000

PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECCOMP_MODE_FILTER = 2
LINUX_CAPABILITY_VERSION_3 = 0x20080522

# Landlock's system calls have the same numbers on every architecture.
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_ALL_V1 = (1 << 13) - 1
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
FS_FILE_ONLY = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
READ_ONLY = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

# Readable by every task: shared libraries the interpreter or an extension may load later, the
# time-zone database, the dynamic loader's cache, device nodes Python and libraries open.
SYSTEM_READ_PATHS = (
    "/usr/lib", "/usr/lib64", "/usr/lib32", "/lib", "/lib64", "/lib32", "/usr/local/lib",
    "/usr/share/zoneinfo", "/etc/localtime", "/etc/timezone", "/etc/ld.so.cache",
    "/sys/devices/system/cpu", "/dev/urandom", "/dev/random", "/dev/zero", "/dev/full",
)
# What name resolution and TLS need; readable only while tasks may use the network.
NETWORK_READ_PATHS = (
    "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf",
    "/etc/services", "/etc/protocols", "/etc/ssl", "/etc/ca-certificates", "/etc/pki",
    "/usr/share/ca-certificates", "/etc/mime.types",
)
READ_WRITE_DEVICES = ("/dev/null",)


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


class RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class PidSlot:
    """A PID namespace that task children are forked into, one task at a time, and its PID 1.

    The task must not be PID 1 itself: the kernel shields a namespace's init from signals it has
    no handler for, so a task as init would survive its own SIGKILL and the runner's SIGTERM,
    and its CPU limit (SIGXCPU) would not fire. So each slot has a small init of its own, forked
    from the forkserver when the slot is made: it reaps the task's orphans, and after each task
    kills everything left in the namespace (kill(-1) from init reaches all but itself), so the
    next task in the slot starts alone. Slots are made as tasks need them: at most as many as
    tasks run at once.
    """

    def __init__(self, sandbox):
        self.dead = False
        self.pidns_fd = -1
        self.pidfd = -1
        self.ruleset_fd = -1
        libc = sandbox.libc
        sandbox._check(libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")
        try:
            command_r, self.command_w = os.pipe()
            self.replies, init_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            self.pid = os.fork()
            if self.pid == 0:
                run_init(command_r, init_end, sandbox)
            # Only now, with its init, can the new namespace be opened.
            self.pidns_fd = os.open("/proc/self/ns/pid_for_children", os.O_RDONLY | os.O_CLOEXEC)
        finally:
            sandbox._check(libc.setns(sandbox.pidns_fd, CLONE_NEWPID), "setns(CLONE_NEWPID)")
        os.close(command_r)
        init_end.close()
        # Tasks join the init's mount (and network) namespace through this.
        self.pidfd = os.pidfd_open(self.pid)
        ready, fds, _, _ = socket.recv_fds(self.replies, 4096, 1)
        if fds:
            self.ruleset_fd = fds[0]
        if ready != b"r":
            self.close()
            raise OSError(f"a sandbox slot could not be set up: {ready.decode('utf-8', 'replace')}")

    def clean(self):
        """Has init kill everything but itself in the namespace and empty /tmp; False if init is
        gone."""
        try:
            os.write(self.command_w, b"k")
            return self.replies.recv(1) == b"k"
        except OSError:
            return False

    def fds(self):
        return [self.pidns_fd, self.pidfd, self.ruleset_fd, self.command_w, self.replies.fileno()]

    def close(self):
        for fd in (self.pidns_fd, self.pidfd, self.ruleset_fd, self.command_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self.replies.close()
        # Without its command pipe the init exits, and the namespace dies with it.


def run_init(command_r, replies, sandbox):
    """PID 1 of a slot's namespace. Never returns."""
    try:
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_IGN)
        try:
            sandbox.make_slot_mounts()
            # The task's Landlock rules, built here where the slot's /tmp and /proc are the
            # mounted ones (a rule on a mount point does not reach what is mounted on it).
            rulesets = [sandbox.slot_ruleset()] if sandbox.want["landlock"] else []
        except OSError as exc:
            replies.send(str(exc).encode("utf-8", "replace"))
            os._exit(1)
        socket.send_fds(replies, [b"r"], rulesets)
        # Only the command pipe and the reply socket stay open: not the control socket, not
        # other slots' descriptors.
        os.dup2(command_r, 0)
        os.dup2(replies.fileno(), 1)
        os.closerange(2, 65536)
        signal.signal(signal.SIGCHLD, lambda signum, frame: reap_all(block=False))
        while True:
            try:
                command = os.read(0, 1)
            except InterruptedError:
                continue
            if not command:
                os._exit(0)
            while True:
                try:
                    os.kill(-1, signal.SIGKILL)
                except OSError:
                    break  # ESRCH: nothing left but us
                reap_all(block=True)
            reap_all(block=True)
            sandbox.empty_slot_tmp()
            os.write(1, b"k")
    finally:
        os._exit(0)


def reap_all(block):
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        except InterruptedError:
            continue
        if pid == 0:
            return


class ConfinementError(Exception):
    """A confinement step failed; the child must not run the task."""


class Sandbox:
    """The sandbox as configured by Rust and as this kernel grants it."""

    def __init__(self, config, log):
        settings = config.get("sandbox") or {}
        limits = config.get("limits") or {}
        self.log = log
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.limits = limits
        self.isolate_network = bool(limits.get("isolate_network"))
        self.tmp_bytes = int(limits.get("max_file_bytes") or 0)
        # The ids a task runs as, inside and outside its own user namespace.
        self.switch_uid = limits.get("uid")
        self.switch_gid = limits.get("gid")
        # Rust started us as PID 1 of our own user, PID and mount namespaces.
        self.in_namespaces = bool(settings.get("namespaces"))
        # What a task sees as its uid and gid inside its own user namespace: the runner's own
        # ids when the forkserver is uid 0 of a namespace that maps only those.
        self.view_uid = settings.get("view_uid")
        self.view_gid = settings.get("view_gid")
        self.want = {
            "namespaces": self.in_namespaces,
            "landlock": True,
            "seccomp": bool(settings.get("seccomp")),
        }
        self.landlock_abi = self._landlock_abi()
        if self.landlock_abi == 0:
            self.want["landlock"] = False
        self.seccomp_programs = [self._fprog(p) for p in settings.get("seccomp") or ()]
        self.last_cap = self._last_cap()
        self.server_pid = os.getpid()
        self.pidns_fd = -1
        self.read_fds = []
        self.task_dirs = None
        self.idle_slots = []
        self.busy_slots = {}
        self.next_slot = None
        self.fs_handled = self._fs_handled()

    # -----------------------------------------------------------------------------------------
    # In the forkserver, once

    def start(self):
        """Forkserver-wide set-up. Call after every module is loaded (sys.path is final)."""
        if self.want["namespaces"]:
            try:
                # Mounts made by children must never propagate anywhere; done once here, so no
                # child pays for it.
                self._check(self.libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None),
                            "making mounts private")
                self.pidns_fd = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                self.log(f"sandbox: namespaces unavailable: {exc}")
                self.want["namespaces"] = False
        if not self.want["namespaces"]:
            self.start_without_namespaces()
        self.read_fds = self._open_read_paths()

    def probe(self):
        """Confines a throw-away child and reports which layers hold on this kernel; layers that
        fail are switched off for every later child (best effort), and the report says so."""
        for _ in range(len(self.want) + 1):
            failed = self._probe_once()
            if failed is None:
                break
            self.log(f"sandbox: {failed[0]} unavailable: {failed[1]}")
            self.want[failed[0]] = False
            if failed[0] == "namespaces":
                self.start_without_namespaces()
        return self.report()

    def start_without_namespaces(self):
        """Orphans of a task are re-parented to us instead of init, so after_reap can kill them;
        each task's temporary directory is a directory of its own under one we own."""
        import tempfile

        self.libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        if self.task_dirs is None:
            self.task_dirs = tempfile.mkdtemp(prefix="n8n-runner-tasks-")
            os.chmod(self.task_dirs, 0o711)

    def _probe_once(self):
        read_end, write_end = os.pipe()
        self.before_fork()
        try:
            pid = os.fork()
        except OSError:
            self.after_fork_parent(None)
            raise
        if pid == 0:
            os.close(read_end)
            message = b""
            try:
                self.confine()
                message = self._verify()
            except ConfinementError as exc:
                message = str(exc).encode("utf-8", "replace")
            except BaseException as exc:
                message = f"?:{type(exc).__name__}: {exc}".encode("utf-8", "replace")
            finally:
                os.write(write_end, message)
                os._exit(0)
        self.after_fork_parent(pid)
        os.close(write_end)
        chunks = []
        while True:
            chunk = os.read(read_end, 4096)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(read_end)
        os.waitpid(pid, 0)
        self.after_reap(pid, ())
        answer = b"".join(chunks).decode("utf-8", "replace")
        if not answer:
            return None
        layer, _, why = answer.partition(":")
        if layer not in self.want:
            raise SystemExit(f"sandbox probe failed: {answer}")
        return layer, why

    def _verify(self):
        """In the probe child: checks that what confine() did is in force."""
        if self.want["namespaces"] and os.getppid() != 0:
            return b"namespaces:the task's parent is visible from its PID namespace"
        if self.want["landlock"]:
            try:
                os.listdir("/etc")
                return b"landlock:a confined process could still list /etc"
            except PermissionError:
                pass
            try:
                with open("probe", "w") as f:
                    f.write("probe")
                os.listdir("/proc/self/fd")
            except OSError as exc:
                return f"landlock:its own /tmp and /proc are out of reach: {exc}".encode()
        return b""

    def report(self):
        namespaces = ["user", "pid", "mount"] if self.want["namespaces"] else []
        if namespaces and self.isolate_network:
            namespaces.append("net")
        if self.isolate_network:
            network = "on (namespace)" if self.want["namespaces"] else (
                "on (seccomp)" if self.want["seccomp"] else "unavailable")
        else:
            network = "off"
        return {
            "landlock": self.landlock_abi if self.want["landlock"] else 0,
            "seccomp": self.want["seccomp"],
            "namespaces": namespaces,
            "network_isolation": network,
            "capabilities": "none",
            "task_uid": self.view_ids(*self._task_ids())[0],
        }

    # -----------------------------------------------------------------------------------------
    # Around each fork

    def before_fork(self):
        """The next child is forked into the PID namespace of an idle slot (see PidSlot): it
        sees no process but that slot's init and its own, and whatever it leaves behind is
        killed before the slot serves another task."""
        if not self.want["namespaces"]:
            return
        slot = self.idle_slots.pop() if self.idle_slots else PidSlot(self)
        self.next_slot = slot
        self._check(self.libc.setns(slot.pidns_fd, CLONE_NEWPID), "setns(task namespace)")

    def after_fork_parent(self, pid):
        """Back to our own PID namespace; `pid` is the new child, or None when fork() failed."""
        if not self.want["namespaces"]:
            return
        slot, self.next_slot = self.next_slot, None
        self._check(self.libc.setns(self.pidns_fd, CLONE_NEWPID), "setns(CLONE_NEWPID)")
        if pid is None:
            # Most likely the slot's init is gone (fork into a dead namespace fails).
            slot.close()
        else:
            self.busy_slots[pid] = slot

    def after_reap(self, pid, children):
        """Kills whatever the task left running: with PID namespaces, its slot's init kills
        everything in the namespace; without, its process group and the orphans re-parented to
        us. Then the task's temporary directory goes (without namespaces; a tmpfs otherwise)."""
        if self.want["namespaces"]:
            slot = self.busy_slots.pop(pid, None)
            if slot is not None:
                if not slot.dead and slot.clean():
                    self.idle_slots.append(slot)
                else:
                    slot.close()
            return
        for _ in range(8):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            orphans = self._orphans(children)
            if not orphans:
                break
            for orphan in orphans:
                try:
                    os.kill(orphan, signal.SIGKILL)
                except OSError:
                    pass
        if self.task_dirs is not None:
            import shutil

            shutil.rmtree(os.path.join(self.task_dirs, str(pid)), ignore_errors=True)

    def forget_slot(self, init_pid):
        """A slot whose init died (reaped by the forkserver) is closed and never used again."""
        for slot in [s for s in self.idle_slots if s.pid == init_pid]:
            self.idle_slots.remove(slot)
            slot.close()
        for pid, slot in list(self.busy_slots.items()):
            if slot.pid == init_pid:
                slot.dead = True

    def _orphans(self, children):
        """Our children that we did not fork: re-parented to us because we are a subreaper."""
        found = []
        try:
            names = os.listdir("/proc")
        except OSError:
            return found
        for name in names:
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.server_pid and int(name) not in children:
                found.append(int(name))
        return found

    def shutdown(self):
        for slot in self.idle_slots + list(self.busy_slots.values()):
            slot.close()
        if self.task_dirs is not None:
            import shutil

            shutil.rmtree(self.task_dirs, ignore_errors=True)

    # -----------------------------------------------------------------------------------------
    # In the child

    def confine(self):
        """Applies every layer in order; raises ConfinementError naming the first that fails."""
        uid, gid = self._task_ids()
        if self.want["namespaces"]:
            self._step("namespaces", self._enter_mount_namespace)
        else:
            self._step("tmpdir", self._make_task_dir, uid, gid)
        self._step("limits", self._set_limits)
        self._step("user", self._become_task_user, uid, gid)
        if self.want["namespaces"]:
            self._step("namespaces", self._enter_user_namespace, uid, gid)
        self._step("limits", self._limit_processes)
        self._step("capabilities", self._drop_capabilities)
        if self.want["landlock"]:
            self._step("landlock", self._restrict_files)
        if self.want["seccomp"]:
            self._step("seccomp", self._filter_syscalls)
        for fd in self.read_fds + self._slot_fds():
            try:
                os.close(fd)
            except OSError:
                pass
        self.read_fds = []

    def _slot_fds(self):
        """Descriptors of every slot, inherited from the forkserver: none may stay open in a task
        (the pidfd of an init would let it join that slot's namespaces)."""
        fds = []
        for slot in self.idle_slots + list(self.busy_slots.values()) + [self.next_slot]:
            if slot is not None:
                fds.extend(slot.fds())
        if self.pidns_fd >= 0:
            fds.append(self.pidns_fd)
        return fds

    def _step(self, layer, function, *args):
        try:
            function(*args)
        except ConfinementError:
            raise
        except Exception as exc:
            raise ConfinementError(f"{layer}:{function.__name__.strip('_')}: {exc}") from None

    def make_slot_mounts(self):
        """In a slot's init: the mount namespace its tasks join, with a /proc of the slot's PID
        namespace (the runner, the forkserver and other tasks are not in it) and a private,
        size-limited /tmp; and, with network isolation, a network namespace of its own."""
        flags = CLONE_NEWNS | (CLONE_NEWNET if self.isolate_network else 0)
        self._check(self.libc.unshare(flags), "unshare(CLONE_NEWNS)")
        self._check(self.libc.mount(b"proc", b"/proc", b"proc",
                                    MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mounting /proc")
        self._mount_tmp()

    def _mount_tmp(self):
        options = b"mode=1777"
        if self.tmp_bytes > 0:
            options += b",size=%d" % self.tmp_bytes
        self._check(self.libc.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, options),
                    "mounting /tmp")

    def slot_ruleset(self):
        return self._build_ruleset([("/tmp", self.fs_handled), ("/proc", FS_READ_FILE | FS_READ_DIR)])

    def empty_slot_tmp(self):
        """In a slot's init, after a task: whatever the task left in /tmp is deleted (the tmpfs
        itself stays: the slot's Landlock rules point at it)."""
        usage = os.statvfs("/tmp")
        if usage.f_files - usage.f_ffree <= 1 and usage.f_blocks == usage.f_bfree:
            return  # untouched (only its root directory)
        import shutil

        with os.scandir("/tmp") as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    try:
                        os.unlink(entry.path)
                    except OSError:
                        pass

    def _enter_mount_namespace(self):
        """Joins the slot's mount (and network) namespace set up by its init."""
        flags = CLONE_NEWNS | (CLONE_NEWNET if self.isolate_network else 0)
        self._check(self.libc.setns(self.next_slot.pidfd, flags), "setns(slot namespaces)")
        os.chdir("/tmp")

    def _make_task_dir(self, uid, gid):
        path = os.path.join(self.task_dirs, str(os.getpid()))
        os.mkdir(path, 0o700)
        if os.getuid() == 0 and uid != 0:
            os.chown(path, uid, gid)
        os.chdir(path)

    def _set_limits(self):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        for key, which, headroom in (
            ("memory_bytes", resource.RLIMIT_AS, 0),
            # The soft CPU limit sends SIGXCPU (reported by Rust); the hard one a second later
            # kills.
            ("cpu_seconds", resource.RLIMIT_CPU, 1),
            ("max_file_bytes", resource.RLIMIT_FSIZE, 0),
        ):
            value = int(self.limits.get(key) or 0)
            if value > 0:
                resource.setrlimit(which, (value, value + headroom))

    def _become_task_user(self, uid, gid):
        if os.getuid() == 0 and uid != 0:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            if 0 in os.getresuid():
                raise ConfinementError("user:still root after setresuid")
        # A uid change made us non-dumpable, which would leave /proc/self owned by root.
        self.libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)

    def _enter_user_namespace(self, uid, gid):
        """A user namespace per task: RLIMIT_NPROC counts this task's processes only, and the
        capabilities it could hold are only over its own namespace (and dropped next)."""
        view_uid, view_gid = self.view_ids(uid, gid)
        self._check(self.libc.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
        for name, text in (("setgroups", b"deny"), ("uid_map", b"%d %d 1" % (view_uid, uid)),
                           ("gid_map", b"%d %d 1" % (view_gid, gid))):
            fd = os.open(f"/proc/self/{name}", os.O_WRONLY)
            try:
                os.write(fd, text)
            finally:
                os.close(fd)

    def _limit_processes(self):
        value = int(self.limits.get("max_processes") or 0)
        if value > 0:
            resource.setrlimit(resource.RLIMIT_NPROC, (value, value))

    def _drop_capabilities(self):
        for cap in range(self.last_cap + 1):
            # EINVAL for a capability this kernel does not know; EPERM once dropped already.
            self.libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        self.libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
        header = CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
        data = (CapData * 2)()
        self._check(self.libc.capset(ctypes.byref(header), data), "capset")
        self._check(self.libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")

    def _fs_handled(self):
        abi = self.landlock_abi
        handled = FS_ALL_V1
        if abi >= 2:
            handled |= FS_REFER
        if abi >= 3:
            handled |= FS_TRUNCATE
        if abi >= 5:
            handled |= FS_IOCTL_DEV
        return handled

    def _restrict_files(self):
        slot = self.next_slot
        if slot is not None and slot.ruleset_fd >= 0:
            ruleset = slot.ruleset_fd
        elif self.want["namespaces"]:
            ruleset = self.slot_ruleset()
        else:
            # Without namespaces the writable directory is this task's own.
            ruleset = self._build_ruleset(
                [(os.getcwd(), self.fs_handled), ("/proc/self", FS_READ_FILE | FS_READ_DIR)])
        try:
            self._check(self.libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0),
                        "landlock_restrict_self")
        finally:
            if slot is None or ruleset != slot.ruleset_fd:
                os.close(ruleset)

    def _build_ruleset(self, extra):
        """A Landlock ruleset: read-only access to self.read_fds, plus `extra` (path, access)."""
        abi = self.landlock_abi
        handled = self.fs_handled
        attr = RulesetAttr(handled, 0, 0)
        size = 8
        if abi >= 4 and self.isolate_network:
            attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
            size = 16
        if abi >= 6:
            attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
            size = 24
        ruleset = self.libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr),
                                    ctypes.c_size_t(size), 0)
        self._check(0 if ruleset >= 0 else -1, "landlock_create_ruleset")
        try:
            for fd, access in self.read_fds_access:
                self._add_rule(ruleset, fd, access & handled)
            for path, access in extra:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                try:
                    self._add_rule(ruleset, fd, access)
                finally:
                    os.close(fd)
        except BaseException:
            os.close(ruleset)
            raise
        return ruleset

    def _add_rule(self, ruleset, fd, access):
        rule = PathBeneath(access, fd)
        self._check(self.libc.syscall(SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH,
                                      ctypes.byref(rule), 0), "landlock_add_rule")

    def _filter_syscalls(self):
        for program in self.seccomp_programs:
            self._check(self.libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
                                        ctypes.byref(program[0]), 0, 0), "seccomp")

    # -----------------------------------------------------------------------------------------
    # Helpers

    def view_ids(self, uid, gid):
        if not self.want["namespaces"] or self.view_uid is None:
            return uid, gid
        return int(self.view_uid), int(self.view_gid)

    def _task_ids(self):
        if os.getuid() == 0 and self.switch_uid is not None:
            return int(self.switch_uid), int(self.switch_gid)
        return os.getuid(), os.getgid()

    def _check(self, result, what):
        if result != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"{what}: {os.strerror(errno)}")

    def _landlock_abi(self):
        abi = self.libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                                LANDLOCK_CREATE_RULESET_VERSION)
        return max(abi, 0)

    def _fprog(self, program):
        # struct sock_filter: u16 code, u8 jt, u8 jf, u32 k.
        raw = b"".join(struct.pack("=HBBI", *instruction) for instruction in program)
        buffer = ctypes.create_string_buffer(raw, len(raw))
        fprog = SockFprog(len(program), ctypes.addressof(buffer))
        # The buffer must live as long as the program.
        return fprog, buffer

    def _last_cap(self):
        try:
            with open("/proc/sys/kernel/cap_last_cap") as f:
                return int(f.read())
        except (OSError, ValueError):
            return 63

    def _open_read_paths(self):
        """O_PATH descriptors of everything a task may read, opened once; children inherit them,
        turn them into Landlock rules and close them."""
        paths = set(SYSTEM_READ_PATHS)
        for name in ("prefix", "base_prefix", "exec_prefix", "base_exec_prefix"):
            paths.add(getattr(sys, name))
        paths.add(os.path.dirname(os.path.realpath(sys.executable)))
        paths.update(entry for entry in sys.path if entry)
        if not self.isolate_network:
            paths.update(NETWORK_READ_PATHS)
        self.read_fds_access = []
        fds = []
        for path in sorted(paths):
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            is_dir = os.path.isdir(path)
            access = READ_ONLY if is_dir else READ_ONLY & FS_FILE_ONLY
            fds.append(fd)
            self.read_fds_access.append((fd, access))
        for path in READ_WRITE_DEVICES:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            fds.append(fd)
            self.read_fds_access.append(
                (fd, FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE | FS_IOCTL_DEV))
        return fds

