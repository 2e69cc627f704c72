#!/usr/bin/env python3
"""End-to-end test: our Rust Python task runner against a real n8n 2.41.1 (standard library only).

One command does everything:  python3 tests/e2e/run.py   (or tests/e2e/run.sh)
  1. builds target/release/n8n-python-runner when it is missing or older than the sources (cargo build --release);
  2. installs Node 24 + n8n 2.41.1 into a cache outside the checkout unless already there (install.py);
  3. imports tests/e2e/workflows/*.json into a fresh n8n user folder (temp dir, sqlite) and activates them;
  4. starts n8n (external runner mode, everything on 127.0.0.1, free ports picked at run time) and our runner;
  5. calls the workflows' webhooks and checks the answers, and for failures the error n8n stored;
  6. measures the webhook round trip of a one-Python-node workflow, and two baselines (no Code node; n8n's own
     JavaScript runner), under n8n's defaults and again after restarting n8n with N8N_EXPRESSION_ENGINE=legacy
     (the runner, fetching its own grant tokens, must reconnect by itself);
  7. runs the PEP 701 workflow on a runner with N8N_RUNNERS_PYTHON=CPython 3.12 when that interpreter exists;
  8. tears everything down (also on SIGINT/SIGTERM/SIGHUP): every process group killed, temp dir removed.

Prints one PASS/FAIL line per check and finally "N passed, M failed"; exit status 1 when any check failed
(2 when the set-up itself failed). N8N_E2E_SKIP=1 skips the whole test with a clear message.
Other knobs: N8N_E2E_CACHE (install cache root), N8N_E2E_RUNNER_BIN (use this binary, build nothing),
N8N_E2E_KEEP=1 (keep the temp dir with the logs and the database), N8N_E2E_PYTHON (N8N_RUNNERS_PYTHON of the
main runner; see choose_runner_python), N8N_E2E_PYTHON312 (interpreter for the PEP 701 check; default
~/.pyenv/versions/3.12.1/bin/python3 when it exists).
"""

import concurrent.futures
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the checkout

import flatted  # noqa: E402
import install  # noqa: E402

WORKFLOW_DIR = os.path.join(HERE, "workflows")
RUNNER_TASK_TIMEOUT = 3  # seconds, our runner's N8N_RUNNERS_TASK_TIMEOUT (the timeout workflow relies on it)
BROKER_TASK_TIMEOUT = RUNNER_TASK_TIMEOUT + 5  # n8n's own; a backstop, so the runner's timeout is what is tested
LATENCY_WARMUP = 5
LATENCY_CALLS = 30
CONCURRENT_CALLS = 20
START = time.monotonic()


def log(msg):
    print("[e2e %6.1fs] %s" % (time.monotonic() - START, msg), flush=True)


# ----------------------------------------------------------------------------------------------------------------
# checks


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("PASS %s%s" % (name, (" - " + detail) if detail else ""), flush=True)
        else:
            self.failed += 1
            self.failures.append(name)
            print("FAIL %s%s" % (name, (" - " + detail) if detail else ""), flush=True)
        return ok

    def expect_equal(self, name, got, want):
        if got == want:
            return self.check(name, True, _short(got))
        return self.check(name, False, "got %s, want %s" % (_short(got, 600), _short(want, 600)))


def _short(v, n=200):
    s = v.strip().replace("\n", " | ") if isinstance(v, str) else json.dumps(v, sort_keys=True)
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


# ----------------------------------------------------------------------------------------------------------------
# the compose files in deploy/: the settings they give n8n and the runners are the ones these tests prove


DEPLOY_DIR = os.path.join(REPO, "deploy")
# what tests/e2e/run.py gives n8n and the runner that a deployment sets too (deploy/compose.yaml names exactly
# these); everything else in their environments here is test-only (ports, timeouts, telemetry, log format)
DEPLOY_N8N_VARS = ("N8N_RUNNERS_MODE", "N8N_RUNNERS_AUTH_TOKEN", "N8N_RUNNERS_BROKER_LISTEN_ADDRESS",
                   "N8N_RUNNERS_BROKER_PORT")
DEPLOY_RUNNER_VARS = ("N8N_RUNNERS_TASK_BROKER_URI", "N8N_RUNNERS_AUTH_TOKEN", "N8N_RUNNERS_MAX_CONCURRENCY")


def compose_variables(path):
    """{name: set of values} of the environment entries of a compose file: its indented `NAME: value` lines with an
    upper-case name (quotes around a value and a trailing comment dropped). The files in deploy/ keep to that form,
    so no YAML parser is needed (these tests use the standard library only)."""
    found = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"^\s+([A-Z][A-Z0-9_]*):\s*(.*?)\s*(?:#.*)?$", line)
            if m:
                found.setdefault(m.group(1), set()).add(m.group(2).strip("\"'"))
    return found


def image_variables():
    """Names the Dockerfile sets with ENV (the image's defaults, which a compose file need not repeat)."""
    with open(os.path.join(REPO, "Dockerfile")) as f:
        return set(re.findall(r"\b(N8N_[A-Z0-9_]+)=", f.read()))


def compare_with_compose(path, used, same_values=(), compose_only=()):
    """(ok, detail): the compose file names exactly the variables in `used` ({name: value this test gave}), apart
    from `compose_only` ones and ones the image sets; for the names in same_values, with the test's value."""
    found = compose_variables(path)
    names = set(found) - set(compose_only)
    missing = sorted(set(used) - names - image_variables())
    unknown = sorted(names - set(used))
    differ = sorted("%s: %s here, %s there" % (n, used[n], sorted(found.get(n, ())))
                    for n in same_values if found.get(n) != {str(used[n])})
    detail = "%d variables" % len(names)
    for label, items in (("missing", missing), ("not set by the test", unknown), ("different", differ)):
        if items:
            detail += "; %s: %s" % (label, ", ".join(items))
    return not (missing or unknown or differ), detail


# ----------------------------------------------------------------------------------------------------------------
# processes


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A child started in its own session (so its whole process group can be signalled), output to a file."""

    def __init__(self, name, argv, env, cwd, log_path, **popen):
        """popen: more subprocess.Popen arguments (queue_mode.py runs Redis and Postgres as another user)."""
        self.name = name
        self.log_path = log_path
        self.log_file = open(log_path, "ab")
        self.p = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                  stderr=subprocess.STDOUT, start_new_session=True, **popen)
        self.pgid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def signal_group(self, sig):
        try:
            os.killpg(self.pgid, sig)
        except ProcessLookupError:
            pass

    def group_gone(self):
        try:
            os.killpg(self.pgid, 0)
            return False
        except ProcessLookupError:
            return True


def stop_all(procs, grace=8.0):
    """SIGTERM every group at once, wait, then SIGKILL whatever is left; reap the direct children."""
    procs = [p for p in procs if p is not None]
    for p in procs:
        p.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        for p in procs:
            p.p.poll()
        if all(p.group_gone() for p in procs):
            break
        time.sleep(0.1)
    for p in procs:
        p.signal_group(signal.SIGKILL)
    for p in procs:
        try:
            p.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log("warning: %s (pid %d) did not exit after SIGKILL" % (p.name, p.p.pid))
        p.log_file.close()
    # a task child that moved into a process group of its own is still in our session: kill what is left
    time.sleep(0.2)
    for p in procs:
        for pid in session_members(p.pgid):
            try:
                os.kill(pid, signal.SIGKILL)
                log("warning: killed pid %d, left behind in the session of %s" % (pid, p.name))
            except ProcessLookupError:
                pass


def session_members(sid):
    """Live (non-zombie) processes whose session id is sid (each Proc leads a session of its own)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(pid))
    return found


def listening_addresses(pgids):
    """Local addresses of the TCP sockets in LISTEN state held by any process of the given process groups."""
    inodes = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                pgrp = int(f.read().rsplit(")", 1)[1].split()[2])
            if pgrp not in pgids:
                continue
            for fd in os.listdir("/proc/%s/fd" % pid):
                target = os.readlink("/proc/%s/fd/%s" % (pid, fd))
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except (OSError, ValueError, IndexError):
            continue
    found = []
    for table, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        try:
            with open(table) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A = LISTEN
                continue
            addr_hex, port_hex = fields[1].split(":")
            raw = bytes.fromhex(addr_hex)
            if v6:
                words = [raw[i:i + 4][::-1] for i in range(0, 16, 4)]
                ip = socket.inet_ntop(socket.AF_INET6, b"".join(words))
            else:
                ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
            found.append("%s:%d" % (ip, int(port_hex, 16)))
    return sorted(found)


# ----------------------------------------------------------------------------------------------------------------
# HTTP


def http(method, url, body=None, timeout=60, headers=None):
    """Returns (status, parsed-or-raw body, seconds)."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    dt = time.perf_counter() - t
    try:
        parsed = json.loads(raw.decode("utf-8")) if raw else None
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    return status, parsed, dt


# ----------------------------------------------------------------------------------------------------------------
# runner binary


def runner_binary():
    if os.environ.get("N8N_E2E_RUNNER_BIN"):
        return os.path.abspath(os.environ["N8N_E2E_RUNNER_BIN"])
    binary = os.path.join(REPO, "target", "release", "n8n-python-runner")
    newest = 0.0
    for top in ("src", "python", "Cargo.toml", "Cargo.lock"):
        path = os.path.join(REPO, top)
        if os.path.isfile(path):
            newest = max(newest, os.path.getmtime(path))
        for d, _, files in os.walk(path):
            for f in files:
                newest = max(newest, os.path.getmtime(os.path.join(d, f)))
    if os.path.exists(binary) and os.path.getmtime(binary) >= newest:
        log("runner binary is up to date: %s" % binary)
        return binary
    log("building the runner: cargo build --release")
    t = time.monotonic()
    subprocess.run(["cargo", "build", "--release", "--bin", "n8n-python-runner"], cwd=REPO, check=True,
                   stdin=subprocess.DEVNULL)
    log("built in %.0f s" % (time.monotonic() - t))
    return binary


# ----------------------------------------------------------------------------------------------------------------
# the n8n side



def n8n_cli(inst, env, cwd, *args):
    """Runs `n8n <args>` to its end; returns its output, or raises with the tail of it."""
    t = time.monotonic()
    p = subprocess.run([inst.node, inst.n8n_bin] + list(args), env=env, cwd=cwd,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        raise RuntimeError("n8n %s failed (exit %d):\n%s" % (" ".join(args), p.returncode, out[-4000:]))
    log("n8n %s: %.1f s" % (args[0], time.monotonic() - t))
    return out


def workflow_ids(workflow_dir):
    """The ids of the workflows in workflow_dir, in file-name order."""
    ids = []
    for name in sorted(os.listdir(workflow_dir)):
        if name.endswith(".json"):
            with open(os.path.join(workflow_dir, name)) as f:
                ids.append(json.load(f)["id"])
    return ids


class N8n:
    def __init__(self, inst, tmp):
        self.inst = inst
        self.tmp = tmp
        self.port = free_port()
        self.broker_port = free_port()
        while self.broker_port == self.port:
            self.broker_port = free_port()
        self.auth_token = "e2e-" + os.urandom(24).hex()
        self.user_folder = os.path.join(tmp, "user")
        os.makedirs(self.user_folder)
        self.db_path = os.path.join(self.user_folder, ".n8n", "database.sqlite")
        self.proc = None
        self.workflow_ids = []
        self.base = "http://127.0.0.1:%d" % self.port
        self.broker = "http://127.0.0.1:%d" % self.broker_port

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if not (k.startswith("N8N_") or k.startswith("DB_") or k.startswith("EXECUTIONS_"))}
        env = self.inst.env(env)
        env.update({
            "N8N_USER_FOLDER": self.user_folder,
            "N8N_LISTEN_ADDRESS": "127.0.0.1",
            "N8N_PORT": str(self.port),
            "N8N_HOST": "127.0.0.1",
            "DB_TYPE": "sqlite",
            "N8N_RUNNERS_MODE": "external",
            "N8N_RUNNERS_AUTH_TOKEN": self.auth_token,
            "N8N_RUNNERS_BROKER_LISTEN_ADDRESS": "127.0.0.1",
            "N8N_RUNNERS_BROKER_PORT": str(self.broker_port),
            "N8N_RUNNERS_TASK_TIMEOUT": str(BROKER_TASK_TIMEOUT),
            "N8N_RUNNERS_TASK_REQUEST_TIMEOUT": "30",
            "N8N_RUNNERS_GRANT_TOKEN_TTL": "30",
            "N8N_DIAGNOSTICS_ENABLED": "false",
            "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
            "N8N_PERSONALIZATION_ENABLED": "false",
            "N8N_TEMPLATES_ENABLED": "false",
            "N8N_DISABLED_MODULES": "mcp-registry",
            "N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS": "false",
            "N8N_GRACEFUL_SHUTDOWN_TIMEOUT": "5",
            "EXECUTIONS_DATA_SAVE_ON_SUCCESS": "all",
            "EXECUTIONS_DATA_SAVE_ON_ERROR": "all",
            # print() output of non-manual executions goes to n8n's stdout only (see README)
            "CODE_ENABLE_STDOUT": "true",
            "N8N_LOG_OUTPUT": "console",
            "NO_COLOR": "1",
        })
        return env

    def cli(self, *args):
        return n8n_cli(self.inst, self.env(), self.tmp, *args)

    def import_and_activate(self, workflow_dir):
        ids = workflow_ids(workflow_dir)
        self.cli("import:workflow", "--separate", "--input=" + workflow_dir)
        # `n8n publish:workflow --id=X` costs ~2.5 s per workflow; what it does is (WorkflowRepository.
        # publishVersion in @n8n/db): check that workflow_history has the workflow's current versionId, then
        # UPDATE workflow_entity SET active = true, activeVersionId = versionId. Same thing here, for all at once.
        db = sqlite3.connect(self.db_path)
        try:
            with db:
                rows = db.execute(
                    "SELECT w.id, w.versionId, (SELECT COUNT(*) FROM workflow_history h"
                    " WHERE h.workflowId = w.id AND h.versionId = w.versionId) FROM workflow_entity w").fetchall()
                found = {r[0]: r for r in rows}
                missing = [i for i in ids if i not in found]
                if missing:
                    raise RuntimeError("import did not create workflows %s" % missing)
                no_history = [i for i in ids if found[i][2] != 1]
                if no_history:
                    raise RuntimeError("no workflow_history row for the current version of %s" % no_history)
                for i in ids:
                    db.execute("UPDATE workflow_entity SET active = 1, activeVersionId = versionId WHERE id = ?", (i,))
        finally:
            db.close()
        log("imported and activated %d workflows" % len(ids))
        self.workflow_ids = ids
        return ids

    def start(self, extra_env=None):
        env = self.env()
        env.update(extra_env or {})
        self.proc = Proc("n8n", [self.inst.node, self.inst.n8n_bin, "start"], env, self.tmp,
                         os.path.join(self.tmp, "n8n.log"))
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError("n8n exited with %s during start-up:\n%s" % (self.proc.p.returncode,
                                                                                 self.proc.output()[-4000:]))
            if self._ok(self.base + "/healthz/readiness") and self._ok(self.broker + "/healthz"):
                break
            time.sleep(0.25)
        else:
            raise RuntimeError("n8n not ready after 180 s:\n" + self.proc.output()[-4000:])
        log("n8n is ready (port %d, broker %d)" % (self.port, self.broker_port))
        # n8n 2.41 activates published workflows in the background (workflow publication service), after
        # /healthz/readiness already answers; a webhook is callable once its row is in webhook_entity.
        while time.monotonic() < deadline:
            missing = set(self.workflow_ids) - self._registered_webhooks()
            if not missing:
                status, _, _ = self.webhook("e2e-baseline-noop", {"probe": True}, timeout=10)
                if status == 200:
                    log("all %d webhooks registered" % len(self.workflow_ids))
                    return
            if not self.proc.alive():
                raise RuntimeError("n8n exited during start-up:\n" + self.proc.output()[-4000:])
            time.sleep(0.2)
        raise RuntimeError("webhooks of %s not registered after 180 s" % sorted(missing))

    def _registered_webhooks(self):
        db = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=10)
        try:
            return {r[0] for r in db.execute("SELECT DISTINCT workflowId FROM webhook_entity")}
        except sqlite3.OperationalError:
            return set()
        finally:
            db.close()

    def restart(self, extra_env):
        # webhook_entity keeps its rows across a stop (and n8n's publication service, which remembers that the
        # triggers are applied, does not add them again if they are deleted), so start() cannot tell from
        # them; it also probes the no-op workflow's webhook until it answers.
        stop_all([self.proc])
        log("restarting n8n with %s" % extra_env)
        self.start(extra_env)

    def wait_registered_runners(self, name, count, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.registered_runners(name) >= count:
                return True
            time.sleep(0.1)
        return False

    def registered_runners(self, name):
        """How often n8n has logged the registration of a runner called name."""
        return self.proc.output().count('Registered runner "%s"' % name)

    @staticmethod
    def _ok(url):
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def grant_token(self):
        for _ in range(20):
            status, body, _ = http("POST", self.broker + "/runners/auth", {"token": self.auth_token}, timeout=10)
            if status == 200:
                return body["data"]["token"]
            if status != 429:
                raise RuntimeError("POST /runners/auth answered %s: %s" % (status, body))
            time.sleep(0.3)
        raise RuntimeError("POST /runners/auth kept answering 429")

    def webhook(self, path, body, query="", timeout=60):
        url = "%s/webhook/%s%s" % (self.base, path, ("?" + query) if query else "")
        return http("POST", url, body, timeout=timeout)

    # --- the database ---
    def executions(self, workflow_id):
        db = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=10)
        try:
            return db.execute(
                "SELECT e.id, e.status, e.finished, e.mode, e.startedAt, e.stoppedAt, d.data"
                " FROM execution_entity e LEFT JOIN execution_data d ON d.executionId = e.id"
                " WHERE e.workflowId = ? ORDER BY e.id", (workflow_id,)).fetchall()
        finally:
            db.close()

    def last_execution(self, workflow_id, after_count=0, wait=15.0):
        """The newest execution of a workflow once it has stopped and its data is stored: dict or None."""
        deadline = time.monotonic() + wait
        while True:
            rows = self.executions(workflow_id)
            if len(rows) > after_count:
                eid, status, finished, mode, started, stopped, data = rows[-1]
                if stopped and data and status not in ("new", "running", "waiting"):
                    return {"id": eid, "status": status, "finished": finished, "mode": mode,
                            "data": flatted.parse(data)}
            if time.monotonic() > deadline:
                return None
            time.sleep(0.2)


def stored_error(execution, node="Code"):
    """(message, description) n8n stored for a failed node, from the run data (falls back to resultData.error)."""
    if not execution:
        return None, None
    rd = execution["data"].get("resultData", {})
    runs = rd.get("runData", {}).get(node) or []
    err = (runs[-1].get("error") if runs else None) or rd.get("error") or {}
    return err.get("message"), err.get("description")


def node_output(execution, node):
    runs = execution["data"].get("resultData", {}).get("runData", {}).get(node) or []
    if not runs:
        return None
    main = (runs[-1].get("data") or {}).get("main") or [[]]
    return main[0]


# ----------------------------------------------------------------------------------------------------------------
# our runner


def _traversable_by_others(path):
    """Every directory above path can be entered by any user (o+x), so an unprivileged user can reach it."""
    d = os.path.dirname(os.path.abspath(path))
    while True:
        try:
            if not os.stat(d).st_mode & 0o001:
                return False
        except OSError:
            return False
        if d == "/":
            return True
        d = os.path.dirname(d)


def interpreter_path(python):
    out = subprocess.run([python, "-c", "import sys; print(sys.executable)"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return out.stdout.decode().strip() if out.returncode == 0 else None


def choose_runner_python():
    """The interpreter for the main runner (None = the runner's default, python3).

    Run as root, the runner drops task processes to N8N_RUNNERS_TASK_USER (default nobody) and refuses to start
    when that user cannot read the interpreter's standard library. On this machine `python3` is pyenv's CPython
    3.11 under /root (mode 700), so as root the test keeps the runner's default user and takes Debian's
    /usr/bin/python3 (also CPython 3.11) instead, which exercises the confinement end to end."""
    if os.environ.get("N8N_E2E_PYTHON"):
        return os.environ["N8N_E2E_PYTHON"]
    if os.geteuid() != 0:
        return None
    exe = interpreter_path("python3")
    if exe and _traversable_by_others(exe):
        return None
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(candidate) and _traversable_by_others(candidate):
            log("running as root and %s is not reachable for the task user: N8N_RUNNERS_PYTHON=%s"
                % (exe, candidate))
            return candidate
    return None


class Runner:
    def __init__(self, binary, n8n, tmp, name="runner", python=None, extra_env=None):
        self.binary = binary
        self.n8n = n8n
        self.help = subprocess.run([binary, "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL).stdout.decode("utf-8", "replace")
        self.self_fetch = "N8N_RUNNERS_AUTH_TOKEN" in self.help
        env = {k: v for k, v in os.environ.items() if not k.startswith("N8N_")}
        env.update({
            "N8N_RUNNERS_TASK_BROKER_URI": n8n.broker,
            "N8N_RUNNERS_TASK_TIMEOUT": str(RUNNER_TASK_TIMEOUT),
            "N8N_RUNNERS_MAX_CONCURRENCY": "5",
            "N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT": "2",
            "NO_COLOR": "1",
        })
        if python:
            env["N8N_RUNNERS_PYTHON"] = python
        env.update(extra_env or {})
        self.python = python or "python3"
        if self.self_fetch:
            env["N8N_RUNNERS_AUTH_TOKEN"] = n8n.auth_token
        else:
            env["N8N_RUNNERS_GRANT_TOKEN"] = n8n.grant_token()
        self.registered_before = n8n.registered_runners("Python Task Runner")
        self.env = env
        self.proc = Proc(name, [binary], env, tmp, os.path.join(tmp, name + ".log"))

    def wait_registered(self, timeout=20):
        """Our runner says so, and n8n logged one more Python runner registration."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ("Registered with broker" in self.proc.output()
                    and self.n8n.registered_runners("Python Task Runner") > self.registered_before):
                return True
            if not self.proc.alive():
                return False
            time.sleep(0.1)
        return False


class JsRunner:
    """n8n's own JavaScript task runner (@n8n/task-runner), only for baselines: connected to `broker` with a
    grant token, registered once `registrations()` (the broker side's count of JS runners) has grown."""

    def __init__(self, inst, broker, grant_token, registrations, concurrency, tmp, name="js-runner"):
        start = os.path.join(inst.app, "node_modules", "@n8n", "task-runner", "dist", "start.js")
        env = inst.env({k: v for k, v in os.environ.items() if not k.startswith("N8N_")})
        env.update({"N8N_RUNNERS_TASK_BROKER_URI": broker, "N8N_RUNNERS_GRANT_TOKEN": grant_token,
                    "N8N_RUNNERS_MAX_CONCURRENCY": str(concurrency),
                    "NODE_OPTIONS": "--disallow-code-generation-from-strings"})
        self.registrations = registrations
        self.registered_before = registrations()
        self.proc = Proc(name, [inst.node, start], env, tmp, os.path.join(tmp, name + ".log"))

    def wait_registered(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.registrations() > self.registered_before:
                return True
            if not self.proc.alive():
                return False
            time.sleep(0.1)
        return False


# ----------------------------------------------------------------------------------------------------------------
# scenarios


def run_scenarios(c, n8n, runner):
    def call(path, body, query=""):
        status, resp, dt = n8n.webhook(path, body, query)
        return status, resp, dt

    def count(wf):
        return len(n8n.executions(wf))

    # all items
    status, resp, _ = call("e2e-all-items", {"numbers": [3, 1, 2]}, "tag=abc")
    c.expect_equal("all_items: answer", [status, resp], [200, [
        {"n": 1, "square": 1}, {"n": 2, "square": 4}, {"n": 3, "square": 9}, {"total": 6, "inputs": 1, "tag": "abc"}]])

    # per item, with filtering (returning None drops the item) and pairedItem
    status, resp, _ = call("e2e-per-item", {"numbers": [1, 2, 3, 4, 5]})
    c.expect_equal("per_item: filtered answer", [status, resp],
                   [200, [{"n": 1, "triple": 3}, {"n": 3, "triple": 9}, {"n": 5, "triple": 15}]])
    ex = n8n.last_execution("e2ePyPerItem0001")
    out = node_output(ex, "Filter") if ex else None
    c.expect_equal("per_item: pairedItem stored for the kept items",
                   [i.get("pairedItem") for i in out] if out else out,
                   [{"item": 0}, {"item": 2}, {"item": 4}])

    # print(): n8n hands logNodeOutput of a non-manual execution to its stdout (CODE_ENABLE_STDOUT=true)
    status, resp, _ = call("e2e-print", {})
    c.expect_equal("print: answer", [status, resp], [200, [{"printed": 2}]])
    want = ['[Workflow "e2ePyPrint000001"][Node "Code"] \'hello from e2e\' 42 True None',
            '[Workflow "e2ePyPrint000001"][Node "Code"] {"k": [1, 2]}']
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not all(w in n8n.proc.output() for w in want):
        time.sleep(0.1)
    got = [l for l in n8n.proc.output().splitlines() if "e2ePyPrint000001" in l]
    c.check("print: both print() calls reach n8n (logNodeOutput RPC) in order",
            all(w in got for w in want) and [g for g in got if g in want] == want,
            "n8n printed %s" % _short(got, 400))

    # two Code nodes in a row
    status, resp, _ = call("e2e-two-nodes", {"numbers": [1, 2, 3]})
    c.expect_equal("two_code_nodes: answer", [status, resp], [200, [{"count": 3, "sum_double": 12, "from_a": [1, 2, 3]}]])

    # an f-string valid on Python 3.11
    name, value = "abc", 2.5
    want_s = f"{name!r:>8}|{value:.2f}|{'x' * 3}|{name.upper()}|{{literal}}|{value=}"
    status, resp, _ = call("e2e-fstring", {"name": name, "value": value})
    c.expect_equal("fstring_311: answer", [status, resp], [200, [{"s": want_s}]])

    # a raised error: HTTP 500, message stored
    n = count("e2ePyRaise000001")
    status, resp, _ = call("e2e-raise", {"x": 7})
    c.check("raise_error: HTTP 500", status == 500, "status=%s body=%s" % (status, _short(resp)))
    ex = n8n.last_execution("e2ePyRaise000001", n)
    msg, _ = stored_error(ex)
    c.check("raise_error: stored execution failed with the exception's message",
            ex is not None and ex["status"] == "error" and msg == "e2e boom 7",
            "status=%s message=%r" % (ex and ex["status"], msg))

    # continue on fail: the error becomes the output item
    status, resp, _ = call("e2e-continue-on-fail", {"x": 8})
    c.expect_equal("continue_on_fail: answer", [status, resp], [200, [{"error": "handled e2e failure 8"}]])

    # a security violation (import os, not allowed)
    n = count("e2ePySecurity001")
    status, resp, _ = call("e2e-security", {})
    ex = n8n.last_execution("e2ePySecurity001", n)
    msg, desc = stored_error(ex)
    c.check("security_violation: HTTP 500 and the violation stored",
            status == 500 and msg == "Security violations detected"
            and "Line 1: Import of standard library module 'os' is disallowed" in (desc or ""),
            "status=%s message=%r description=%r" % (status, msg, desc))

    # a timeout (our runner's N8N_RUNNERS_TASK_TIMEOUT)
    n = count("e2ePyTimeout0001")
    status, resp, dt = call("e2e-timeout", {})
    ex = n8n.last_execution("e2ePyTimeout0001", n)
    msg, _ = stored_error(ex)
    want_msg = "Task execution timed out after %d seconds" % RUNNER_TASK_TIMEOUT
    c.check("timeout: HTTP 500 after about %d s with the runner's timeout message" % RUNNER_TASK_TIMEOUT,
            status == 500 and msg == want_msg and RUNNER_TASK_TIMEOUT - 0.5 <= dt <= BROKER_TASK_TIMEOUT,
            "status=%s after %.2f s, message=%r" % (status, dt, msg))
    status, resp, _ = call("e2e-square", {"id": "after-timeout", "n": 12})
    c.expect_equal("timeout: the runner serves the next task", [status, resp],
                   [200, [{"id": "after-timeout", "square": 144}]])

    # PEP 701 f-string on the runner's interpreter (3.11 here): must be reported as a syntax error
    py_ver = subprocess.run([runner.python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                            stdout=subprocess.PIPE).stdout.decode().strip()
    words = ["a", "b", "c"]
    n = count("e2ePyPep70100001")
    status, resp, _ = call("e2e-pep701", {"words": words})
    if tuple(int(x) for x in py_ver.split(".")) >= (3, 12):
        c.expect_equal("fstring_pep701 on CPython %s: answer" % py_ver, [status, resp],
                       [200, [{"s": ", ".join(words), "t": "\n".join(words)}]])
    else:
        ex = n8n.last_execution("e2ePyPep70100001", n)
        msg, desc = stored_error(ex)
        c.check("fstring_pep701 on CPython %s: reported as a syntax error" % py_ver,
                status == 500 and msg is not None and ("f-string" in msg or "syntax" in msg.lower())
                and "line" in msg,
                "status=%s message=%r description=%r" % (status, msg, desc))

    # a 5 MB payload in and out
    rnd = random.Random(701)
    blob = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(5 * 1024 * 1024))
    status, resp, dt = call("e2e-payload", {"blob": blob})
    ok = (status == 200 and isinstance(resp, list) and len(resp) == 1 and resp[0].get("length") == len(blob)
          and resp[0].get("reversed") == blob[::-1])
    c.check("payload_5mb: 5 MiB string in, reversed 5 MiB string out", ok,
            "status=%s in %.2f s, length=%s" % (status, dt, resp[0].get("length") if ok else _short(resp)))

    # 20 concurrent webhook calls
    def one(i):
        return i, call("e2e-square", {"id": "c%d" % i, "n": i})

    with concurrent.futures.ThreadPoolExecutor(CONCURRENT_CALLS) as pool:
        t = time.perf_counter()
        results = list(pool.map(one, range(CONCURRENT_CALLS)))
        wall = time.perf_counter() - t
    bad = [(i, s, r) for i, (s, r, _) in results if (s, r) != (200, [{"id": "c%d" % i, "square": i * i}])]
    c.check("concurrent: %d simultaneous calls all answered correctly" % CONCURRENT_CALLS, not bad,
            "%.2f s wall" % wall if not bad else "wrong: %s" % _short(bad, 600))



def measure(n8n, path, body, good):
    for i in range(LATENCY_WARMUP):
        n8n.webhook(path, body(1000 + i))
    times, bad = [], 0
    for i in range(LATENCY_CALLS):
        status, resp, dt = n8n.webhook(path, body(i))
        times.append(dt * 1000)
        if status != 200 or not good(i, resp):
            bad += 1
    times.sort()
    return {"median": statistics.median(times), "min": times[0], "max": times[-1],
            "p90": times[int(0.9 * (len(times) - 1))], "bad": bad}


def _fmt_latency(m):
    return "median %.1f ms (min %.1f, p90 %.1f, max %.1f)" % (m["median"], m["min"], m["p90"], m["max"])


# ----------------------------------------------------------------------------------------------------------------


class Interrupted(BaseException):
    pass


def _on_signal(signum, frame):
    raise Interrupted("signal %d" % signum)


def measure_set(n8n, tmp, procs, label, results):
    """Round trips of the three workflows under one n8n configuration: ours, no Code node, n8n's JS runner."""
    results[(label, "python")] = measure(n8n, "e2e-square", lambda i: {"id": "l%d" % i, "n": i},
                                         lambda i, r: r == [{"id": "l%d" % i, "square": i * i}])
    results[(label, "noop")] = measure(n8n, "e2e-baseline-noop", lambda i: {"id": "b%d" % i},
                                       lambda i, r: isinstance(r, list) and len(r) == 1)
    js = None
    try:
        js = JsRunner(n8n.inst, n8n.broker, n8n.grant_token(),
                      lambda: n8n.registered_runners("JS Task Runner"), 5, tmp)
        procs.append(js.proc)
        if js.wait_registered():
            results[(label, "js")] = measure(n8n, "e2e-baseline-js", lambda i: {"id": "j%d" % i, "n": i},
                                             lambda i, r: r == [{"id": "j%d" % i, "square": i * i}])
        else:
            log("JS runner did not connect: " + _short(js.proc.output(), 400))
    except Exception as e:  # a baseline only: never a failure of the test
        log("JS baseline not measured: %s" % e)
    finally:
        if js:
            stop_all([js.proc], grace=5)
            procs.remove(js.proc)
    return results[(label, "python")]


def main():
    if os.environ.get("N8N_E2E_SKIP") == "1":
        print("e2e: SKIPPED - N8N_E2E_SKIP=1 is set, so the end-to-end test against n8n did not run", flush=True)
        return 0
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)

    c = Checks()
    procs = []
    tmp = None
    n8n = None
    results = {}
    setup_failed = None
    try:
        binary = runner_binary()
        t = time.monotonic()
        inst, fresh = install.ensure(log=log)
        log("n8n %s (%s, %.0f s)" % (inst.root, "installed now" if fresh else "cached", time.monotonic() - t))
        tmp = tempfile.mkdtemp(prefix="n8n-e2e-")
        n8n = N8n(inst, tmp)
        n8n.import_and_activate(WORKFLOW_DIR)

        # ---- phase 1: n8n with its defaults; every behaviour check
        n8n.start()
        runner_python = choose_runner_python()
        runner = Runner(binary, n8n, tmp, python=runner_python)
        procs.append(runner.proc)
        log("runner started (%s)" % ("N8N_RUNNERS_AUTH_TOKEN, fetches its own grant tokens" if runner.self_fetch
                                     else "N8N_RUNNERS_GRANT_TOKEN fetched by this script"))
        if not c.check("runner: registers with n8n's broker", runner.wait_registered(),
                       "log: " + _short(runner.proc.output(), 400)):
            raise RuntimeError("runner did not register")
        if os.geteuid() == 0:
            m = re.search(r"Task processes run as user (\S+)", runner.proc.output())
            c.check("runner (as root): task processes drop to the default task user nobody",
                    m is not None and m.group(1) == "nobody", m.group(0) if m else "no such log line")
        addrs = listening_addresses({n8n.proc.pgid, runner.proc.pgid})
        c.check("loopback only: every socket n8n and the runner listen on is on 127.0.0.1",
                addrs and all(a.startswith("127.0.0.1:") or a.startswith("::1:") for a in addrs), ", ".join(addrs))
        if runner.self_fetch:
            used = {k: n8n.env()[k] for k in DEPLOY_N8N_VARS}
            used.update({k: runner.env[k] for k in DEPLOY_RUNNER_VARS})
            c.check("deploy/compose.yaml names the variables this test gives n8n and the runner",
                    *compare_with_compose(os.path.join(DEPLOY_DIR, "compose.yaml"), used,
                                          same_values=("N8N_RUNNERS_MODE", "N8N_RUNNERS_MAX_CONCURRENCY")))
        run_scenarios(c, n8n, runner)
        lat = measure_set(n8n, tmp, procs, "default", results)
        c.check("latency: %d sequential calls after %d warm-up all correct" % (LATENCY_CALLS, LATENCY_WARMUP),
                lat["bad"] == 0, _fmt_latency(lat))

        # ---- phase 2: n8n restarted with N8N_EXPRESSION_ENGINE=legacy, for a round-trip figure not dominated by
        # n8n 2.41's per-execution isolate churn (see README); a self-fetching runner must survive the restart
        registered = n8n.registered_runners("Python Task Runner")
        n8n.restart({"N8N_EXPRESSION_ENGINE": "legacy"})
        if runner.self_fetch:
            c.check("runner: reconnects to the restarted n8n with a freshly fetched grant token",
                    n8n.wait_registered_runners("Python Task Runner", registered + 1, 30) and runner.proc.alive(),
                    "runner log tail: " + _short(runner.proc.output()[-300:], 300))
        else:
            log("runner takes N8N_RUNNERS_GRANT_TOKEN only: starting a new one for the restarted n8n")
            stop_all([runner.proc], grace=5)
            procs.remove(runner.proc)
            runner = Runner(binary, n8n, tmp, name="runner-2", python=runner_python)
            procs.append(runner.proc)
            if not runner.wait_registered():
                raise RuntimeError("second runner did not register")
        status, resp, _ = n8n.webhook("e2e-square", {"id": "after-restart", "n": 3})
        c.expect_equal("restart: the runner serves tasks of the restarted n8n", [status, resp],
                       [200, [{"id": "after-restart", "square": 9}]])
        measure_set(n8n, tmp, procs, "legacy", results)

        # ---- phase 3: PEP 701 on CPython 3.12 (a runner with N8N_RUNNERS_PYTHON, alone on the broker)
        py312 = os.environ.get("N8N_E2E_PYTHON312") or os.path.expanduser("~/.pyenv/versions/3.12.1/bin/python3")
        stop_all([runner.proc], grace=5)
        procs.remove(runner.proc)
        if os.path.exists(py312):
            extra = {}
            if os.geteuid() == 0 and not _traversable_by_others(py312):
                # the task user could not read it (see choose_runner_python): tasks run as root for this one
                extra["N8N_RUNNERS_TASK_USER"] = ""
                log("%s is not reachable for the task user: this runner gets N8N_RUNNERS_TASK_USER=''" % py312)
            runner12 = Runner(binary, n8n, tmp, name="runner-py312", python=py312, extra_env=extra)
            procs.append(runner12.proc)
            if c.check("runner (N8N_RUNNERS_PYTHON=%s): registers" % py312, runner12.wait_registered(),
                       _short(runner12.proc.output(), 300)):
                words = ["a", "b", "c"]
                status, resp, _ = n8n.webhook("e2e-pep701", {"words": words})
                c.expect_equal("fstring_pep701 on CPython 3.12: answer", [status, resp],
                               [200, [{"s": "a, b, c", "t": "a\nb\nc"}]])
        else:
            log("no CPython 3.12 at %s: PEP 701 checked only as a syntax error on python3" % py312)
    except Interrupted as e:
        setup_failed = "interrupted by %s" % e
    except Exception as e:
        setup_failed = "%s: %s" % (type(e).__name__, e)
    finally:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)  # let the teardown finish
        if n8n and n8n.proc and n8n.proc not in procs:
            procs.append(n8n.proc)
        stop_all(procs)
        if n8n and n8n.proc and setup_failed:
            log("n8n log tail:\n" + n8n.proc.output()[-3000:])
        if tmp:
            if os.environ.get("N8N_E2E_KEEP") == "1":
                log("kept %s (logs, database)" % tmp)
            else:
                shutil.rmtree(tmp, ignore_errors=True)

    if setup_failed:
        c.check("e2e set-up", False, setup_failed)
    names = {"python": "one Python Code node (our runner)", "noop": "Webhook -> NoOp (no Code node)",
             "js": "the same code in a JavaScript Code node (n8n's JS runner)"}
    for label, what in (("default", "n8n defaults"), ("legacy", "N8N_EXPRESSION_ENGINE=legacy")):
        for kind in ("python", "noop", "js"):
            if (label, kind) in results:
                print("round trip [%s] %s, %d calls after %d warm-up: %s"
                      % (what, names[kind], LATENCY_CALLS, LATENCY_WARMUP, _fmt_latency(results[(label, kind)])))
    print("e2e total time %.0f s" % (time.monotonic() - START))
    print("%d passed, %d failed" % (c.passed, c.failed), flush=True)
    if setup_failed:
        return 2
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
