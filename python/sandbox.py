"""Kernel sandbox of task processes: what the operating system enforces under the Python guards.

Owns every confinement step between fork() and user code, and the set-up those steps need. The
guards in the n8n_task package can be bypassed by an allowed module; what this module sets up
holds even when user code has the real `os`, `ctypes` and `subprocess`.

The forkserver loads this source as module ``n8n_sandbox`` and builds one ``Sandbox`` from the
``sandbox`` and ``limits`` parts of its configuration. Two ways to confine, chosen once at start:

With namespaces (the forkserver is PID 1 of user, PID and mount namespaces of its own, started so
by Rust), tasks run in slots. A slot is a replica of the forkserver, forked once into a new PID
namespace, that confines itself and then forks the slot's tasks, one at a time (see
n8n_forkserver/slots.py). ``confine_slot()`` runs once per slot, each step stopping something:
    1. mount namespace, own /proc, tmpfs /tmp .... the host's and other slots' pids and files
    2. network namespace (when isolation is on) .. the network, loopback included
    3. the task user (runner started as root) .... the runner's and root's files and signals
    4. user namespace of its own ................. shared process-count accounting
    5. capabilities dropped, no_new_privs ......... any privilege, now or after execve
    6. Landlock ................................... files outside the interpreter and /tmp;
                                                    signals and abstract sockets outside the slot
    7. seccomp .................................... ptrace, mount, bpf, keyctl, clock changes, ...
so a task inherits all of it with the fork and only applies ``confine()``'s own steps: its
resource limits, and a nested Landlock domain so it cannot signal its slot. After each task
``clean_slot()`` kills what the task left behind (kill(-1) from a namespace's PID 1 reaches all
but itself) and empties /tmp.

Without (Docker's default profile refuses user namespaces), ``confine()`` applies the steps that
remain in each task: limits, the task user, capabilities, Landlock, seccomp, with a per-task
directory as its temporary directory; the forkserver is a subreaper and ``after_reap()`` kills
what a task left behind. ``probe()`` confines a throw-away child to learn which layers hold.
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


def read_all(fd):
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def tmp_is_empty():
    usage = os.statvfs("/tmp")
    # Only its root directory in use.
    return usage.f_files - usage.f_ffree <= 1 and usage.f_blocks == usage.f_bfree


def reap_all():
    """Reaps every child (blocking until none is left)."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


class ConfinementError(Exception):
    """A confinement step failed; the process must not run a task."""


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
        # What a task sees as its uid and gid inside its own user namespace: the runner's own
        # ids when the forkserver is uid 0 of a namespace that maps only those.
        self.view_uid = settings.get("view_uid")
        self.view_gid = settings.get("view_gid")
        self.want = {
            # Rust started us as PID 1 of our own user, PID and mount namespaces.
            "namespaces": bool(settings.get("namespaces")),
            "landlock": True,
            "seccomp": bool(settings.get("seccomp")),
        }
        self.landlock_abi = self._landlock_abi()
        if self.landlock_abi == 0:
            self.want["landlock"] = False
        self.fs_handled = self._fs_handled()
        self.seccomp_programs = [self._fprog(p) for p in settings.get("seccomp") or ()]
        # For trial imports (n8n_forkserver/trials.py): killed on starting a process or thread.
        self.trial_programs = [self._fprog(p) for p in settings.get("trial_seccomp") or ()]
        self.last_cap = self._last_cap()
        self.server_pid = os.getpid()
        self.pidns_fd = -1
        self.read_fds = []
        self.read_fds_access = []
        self.task_dirs = None
        # Set in a slot's replica: the nested Landlock domain its tasks enter.
        self.in_slot = False
        self.task_scope_fd = -1

    # -----------------------------------------------------------------------------------------
    # In the forkserver, once

    def start(self):
        """Forkserver-wide set-up. Call after every module is loaded (sys.path is final)."""
        if self.want["namespaces"]:
            try:
                # Mounts made by slots must never propagate anywhere; done once here.
                self._check(self.libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None),
                            "making mounts private")
                self.pidns_fd = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                self.log(f"sandbox: namespaces unavailable: {exc}")
                self.want["namespaces"] = False
        if not self.want["namespaces"]:
            self.start_without_namespaces()
        self.read_fds = self._open_read_paths()

    def start_without_namespaces(self):
        """Orphans of a task are re-parented to us instead of init, so after_reap can kill them;
        each task's temporary directory is a directory of its own under one we own."""
        import tempfile

        self.want["namespaces"] = False
        self.libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        if self.task_dirs is None:
            self.task_dirs = tempfile.mkdtemp(prefix="n8n-runner-tasks-")
            os.chmod(self.task_dirs, 0o711)

    def disable(self, layer, why):
        """Best effort: a layer the kernel refused is off for every later task, said loudly."""
        if layer not in self.want:
            raise SystemExit(f"sandbox: {layer} failed: {why}")
        self.log(f"sandbox: {layer} unavailable: {why}")
        self.want[layer] = False
        if layer == "namespaces":
            self.start_without_namespaces()

    def probe(self):
        """Without namespaces: confines throw-away children until one holds every layer still
        wanted, switching off each layer that fails."""
        for _ in range(len(self.want) + 1):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read_end)
                message = b""
                try:
                    self.confine()
                    message = self.verify()
                except BaseException as exc:
                    message = str(exc).encode("utf-8", "replace")
                finally:
                    os.write(write_end, message)
                    os._exit(0)
            os.close(write_end)
            answer = read_all(read_end).decode("utf-8", "replace")
            os.waitpid(pid, 0)
            self.after_reap(pid, ())
            if not answer:
                return
            layer, _, why = answer.partition(":")
            self.disable(layer, why)

    def verify(self):
        """In a confined process: checks that the layers are in force; "layer:why" if not."""
        if self.want["landlock"]:
            try:
                os.listdir("/etc")
                return b"landlock:a confined process could still list /etc"
            except PermissionError:
                pass
            try:
                with open("probe", "w") as f:
                    f.write("probe")
                os.unlink("probe")
            except OSError as exc:
                return f"landlock:its own temporary directory is out of reach: {exc}".encode()
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

    def shutdown(self):
        if self.task_dirs is not None:
            import shutil

            shutil.rmtree(self.task_dirs, ignore_errors=True)

    # -----------------------------------------------------------------------------------------
    # Slots (with namespaces)

    def enter_new_pid_namespace(self):
        """The next child of ours is PID 1 of a new PID namespace (a slot's replica)."""
        self._check(self.libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")

    def leave_new_pid_namespace(self):
        """Back to our own PID namespace for our next children (a process can create another
        one only while its children's namespace is its own)."""
        self._check(self.libc.setns(self.pidns_fd, CLONE_NEWPID), "setns(CLONE_NEWPID)")

    def confine_slot(self):
        """In a slot's replica, once: every layer its tasks inherit. Raises ConfinementError
        naming the layer that failed."""
        uid, gid = self._task_ids()
        self._step("namespaces", self._make_slot_mounts)
        self._step("user", self._become_task_user, uid, gid)
        self._step("namespaces", self._enter_user_namespace, uid, gid)
        self._step("capabilities", self._drop_capabilities)
        if self.want["landlock"]:
            self._step("landlock", self._restrict_files,
                       [("/tmp", self.fs_handled), ("/proc", FS_READ_FILE | FS_READ_DIR)])
            if self.landlock_abi >= 6:
                # Tasks enter a domain nested in the slot's: they cannot signal their slot.
                self.task_scope_fd = self._create_ruleset(0, SCOPE_SIGNAL)
        if self.want["seccomp"]:
            self._step("seccomp", self._filter_syscalls)
        self._close_read_fds()
        os.chdir("/tmp")
        self.in_slot = True

    def clean_slot(self):
        """In a slot's replica, after a task: kills everything else in the slot's namespace and
        empties /tmp, so the next task starts alone and with nothing left over. False when /tmp
        could not be emptied (the slot must then not serve another task)."""
        while True:
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                break  # ESRCH: nothing left but us
            reap_all()
        reap_all()
        if tmp_is_empty():
            return True
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
        return tmp_is_empty()

    def _make_slot_mounts(self):
        """A /proc of the slot's PID namespace (the runner, the forkserver and other slots are
        not in it) and a private, size-limited /tmp; with network isolation, a network
        namespace of its own (no interface but a loopback that is down)."""
        flags = CLONE_NEWNS | (CLONE_NEWNET if self.isolate_network else 0)
        self._check(self.libc.unshare(flags), "unshare(CLONE_NEWNS)")
        self._check(self.libc.mount(b"proc", b"/proc", b"proc",
                                    MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mounting /proc")
        options = b"mode=1777"
        if self.tmp_bytes > 0:
            options += b",size=%d" % self.tmp_bytes
        self._check(self.libc.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, options),
                    "mounting /tmp")

    # -----------------------------------------------------------------------------------------
    # In each task process

    def confine(self):
        """In a fresh task process. In a slot: the task's own limits and Landlock domain. Without
        namespaces: every layer that remains. Raises ConfinementError naming the first layer
        that fails."""
        if self.in_slot:
            self._step("limits", self._set_limits)
            if self.task_scope_fd >= 0:
                self._step("landlock", self._enter_task_scope)
            return
        uid, gid = self._task_ids()
        self._step("tmpdir", self._make_task_dir, uid, gid)
        self._step("limits", self._set_limits)
        self._step("user", self._become_task_user, uid, gid)
        self._step("capabilities", self._drop_capabilities)
        if self.want["landlock"]:
            self._step("landlock", self._restrict_files,
                       [(os.getcwd(), self.fs_handled),
                        ("/proc/self", FS_READ_FILE | FS_READ_DIR)])
        if self.want["seccomp"]:
            self._step("seccomp", self._filter_syscalls)
        self._close_read_fds()

    def forbid_processes(self):
        """In a trial-import child, after confine(): its first attempt to start a process or a
        thread kills it (SIGSYS). Without seccomp a trial cannot be watched, so it fails."""
        if not self.want["seccomp"] or not self.trial_programs:
            raise ConfinementError("seccomp: unavailable, so no import can be tried safely")
        for program in self.trial_programs:
            self._check(self.libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
                                        ctypes.byref(program[0]), 0, 0), "seccomp")

    def after_reap(self, pid, children):
        """Without namespaces, in the forkserver: kills whatever the task left running (its
        process group, and every orphan re-parented to us with all its descendants), and removes
        its temporary directory."""
        if self.want["namespaces"]:
            return
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        self.kill_orphans(children)
        if self.task_dirs is not None:
            import shutil

            shutil.rmtree(os.path.join(self.task_dirs, str(pid)), ignore_errors=True)

    def kill_orphans(self, children):
        """Kills every process below us that is not a task in `children`, until none is left:
        a killed process's own children come to us (a subreaper) only once it has exited, so
        this goes on, briefly, until a pass finds nothing. Bounded to two seconds."""
        import time

        deadline = time.monotonic() + 2.0
        while True:
            doomed = self._orphans_and_descendants(children)
            if not doomed:
                return
            for victim in doomed:
                try:
                    os.kill(victim, signal.SIGKILL)
                except OSError:
                    pass
            if time.monotonic() > deadline:
                self.log(f"sandbox: {len(doomed)} leftover task process(es) still dying")
                return
            time.sleep(0.001)

    def _orphans_and_descendants(self, children):
        """Processes under us that we did not fork as tasks (orphans re-parented to us, zombies
        excluded), with all their descendants.

        Read from /proc/<pid>/task/<tid>/children, which lists a thread's children: this visits
        only our own subtree, where scanning every /proc/<pid>/stat on a busy host costs a
        millisecond per task. The scan is the fallback on kernels without that file."""
        below = self._children(self.server_pid)
        if below is None:
            return self._orphans_by_scanning(children)
        doomed = []
        pending = [p for p in below if p not in children]
        while pending:
            pid = pending.pop()
            if self._is_zombie(pid):
                continue
            doomed.append(pid)
            pending.extend(self._children(pid) or ())
        return doomed

    @staticmethod
    def _children(pid):
        """The children of every thread of pid; None when the kernel has no children files."""
        try:
            threads = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return []
        found = []
        for tid in threads:
            try:
                with open(f"/proc/{pid}/task/{tid}/children", "rb") as listing:
                    found.extend(int(p) for p in listing.read().split())
            except FileNotFoundError:
                if pid == os.getpid():
                    return None  # no CONFIG_PROC_CHILDREN
            except OSError:
                pass
        return found

    @staticmethod
    def _is_zombie(pid):
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
        except (OSError, IndexError):
            return True  # gone already

    def _orphans_by_scanning(self, children):
        parents = {}
        try:
            names = os.listdir("/proc")
        except OSError:
            return []
        for name in names:
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != b"Z":
                parents[int(name)] = int(fields[1])
        doomed = [p for p, parent in parents.items()
                  if parent == self.server_pid and p not in children]
        below = list(doomed)
        while below:
            parent = below.pop()
            for p, pp in parents.items():
                if pp == parent:
                    doomed.append(p)
                    below.append(p)
        return doomed

    def _close_read_fds(self):
        for fd in self.read_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.read_fds = []

    def _step(self, layer, function, *args):
        try:
            function(*args)
        except ConfinementError:
            raise
        except Exception as exc:
            raise ConfinementError(f"{layer}:{function.__name__.strip('_')}: {exc}") from None

    def _make_task_dir(self, uid, gid):
        path = os.path.join(self.task_dirs, str(os.getpid()))
        os.mkdir(path, 0o700)
        if os.getuid() == 0 and uid != 0:
            os.chown(path, uid, gid)
        os.chdir(path)

    def _set_limits(self):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        processes = int(self.limits.get("max_processes") or 0)
        if processes > 0 and self.in_slot:
            # Counted per user namespace: the slot's own replica is one of them.
            processes += 1
        for value, which, headroom in (
            (int(self.limits.get("memory_bytes") or 0), resource.RLIMIT_AS, 0),
            # The soft CPU limit sends SIGXCPU (reported by Rust); the hard one a second later
            # kills.
            (int(self.limits.get("cpu_seconds") or 0), resource.RLIMIT_CPU, 1),
            (int(self.limits.get("max_file_bytes") or 0), resource.RLIMIT_FSIZE, 0),
            (processes, resource.RLIMIT_NPROC, 0),
        ):
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
        """A user namespace per slot: RLIMIT_NPROC counts this slot's processes only (one task
        at a time), and the capabilities it could hold are only over its own namespace (and
        dropped next)."""
        view_uid, view_gid = self.view_ids(uid, gid)
        self._check(self.libc.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
        for name, text in (("setgroups", b"deny"), ("uid_map", b"%d %d 1" % (view_uid, uid)),
                           ("gid_map", b"%d %d 1" % (view_gid, gid))):
            fd = os.open(f"/proc/self/{name}", os.O_WRONLY)
            try:
                os.write(fd, text)
            finally:
                os.close(fd)

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

    def _restrict_files(self, extra):
        ruleset = self._build_ruleset(extra)
        try:
            self._check(self.libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0),
                        "landlock_restrict_self")
        finally:
            os.close(ruleset)

    def _enter_task_scope(self):
        fd, self.task_scope_fd = self.task_scope_fd, -1
        try:
            self._check(self.libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, fd, 0),
                        "landlock_restrict_self")
        finally:
            os.close(fd)

    def _create_ruleset(self, handled_fs, scoped):
        abi = self.landlock_abi
        attr = RulesetAttr(handled_fs, 0, 0)
        size = 8
        if abi >= 4 and self.isolate_network:
            attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
            size = 16
        if abi >= 6:
            attr.scoped = scoped
            size = 24
        ruleset = self.libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr),
                                    ctypes.c_size_t(size), 0)
        self._check(0 if ruleset >= 0 else -1, "landlock_create_ruleset")
        return ruleset

    def _build_ruleset(self, extra):
        """A Landlock ruleset: read-only access to self.read_fds, plus `extra` (path, access)."""
        handled = self.fs_handled
        ruleset = self._create_ruleset(handled, SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL)
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

