#!/usr/bin/env python3
"""End-to-end test of n8n queue mode: Redis, Postgres, n8n main, two workers, one of our runners per worker.

One command:  python3 tests/e2e/queue_mode.py   (or tests/e2e/queue_mode.sh; .ci/run runs it after run.py)
  1. builds the runner and installs n8n 2.41.1 exactly as run.py does (shared helpers, shared cache);
  2. starts Postgres and Redis from Debian's packages on free loopback ports, data in a temp dir, run as an
     unprivileged user (`nobody` when this runs as root: initdb and postgres refuse root);
  3. imports tests/e2e/workflows-queue/*.json, activates them, starts n8n main in queue mode, two `n8n worker`
     processes (each with N8N_RUNNERS_MODE=external and a broker port of its own) and one runner per worker
     (N8N_RUNNERS_AUTH_TOKEN, so each fetches its own grant tokens);
  4. load: LOAD_CALLS webhook calls, LOAD_INFLIGHT at a time, of a Webhook -> Python Code (all items) -> Python
     Code (per item) workflow; every answer checked; executions on both workers; executions/s, p50 and p95;
     then the same with n8n's JavaScript Code node (n8n's own JS runner, one per worker) as the yardstick;
  5. faults during load, one round each: a worker restarted (SIGTERM, started again); a runner killed with
     SIGKILL and started again; Redis restarted. What each round showed is checked or reported;
  6. stops everything by process group, pass or fail (also on SIGINT/SIGTERM/SIGHUP), removes the temp dir.

Prints PASS/FAIL lines, the figures, and "N passed, M failed"; exit status 1 when a check failed, 2 when the
set-up failed. Skipped (and says so) with N8N_E2E_SKIP=1, like run.py, or N8N_E2E_QUEUE_SKIP=1 for this test only.
N8N_E2E_KEEP=1 keeps the temp dir (logs of every process). The environment given to main, workers and runners
here is the one deploy/compose-queue.yaml uses; see "Queue mode" in the README.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # importing run.py must not leave a __pycache__ in the checkout

import glob  # noqa: E402
import json  # noqa: E402
import pwd  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402

import flatted  # noqa: E402
import install  # noqa: E402
import run as e2e  # noqa: E402
from run import (  # noqa: E402
    Checks, JsRunner, Proc, free_port, http, log, n8n_cli, stop_all, workflow_ids, _short,
)

WORKFLOW_DIR = os.path.join(HERE, "workflows-queue")
PY_WORKFLOW, PY_PATH = "e2eQueuePython01", "e2e-queue-py"
JS_WORKFLOW, JS_PATH = "e2eQueueJsCode01", "e2e-queue-js"
SLOW_WORKFLOW, SLOW_PATH = "e2eQueuePySlow01", "e2e-queue-py-slow"  # ~0.3 s per-item task, for the runner kill
LOAD_CALLS = 300
LOAD_INFLIGHT = 20
WORKER_CONCURRENCY = 10  # `n8n worker`'s default, stated so the README's figure has a source
RUNNER_CONCURRENCY = WORKER_CONCURRENCY  # one runner per worker, a slot for every job the worker may run
CALL_TIMEOUT = 60  # seconds a webhook call may take before it counts as unanswered (they take 1-5 s here)
REDIS_CALL_TIMEOUT = 30  # the same in the Redis round, where n8n may never answer some (see the README)
RESUMED_EXECUTIONS = 10  # executions each worker must run after a fault before a round ends
SERVICE_USER = "nobody"  # who runs Redis and Postgres when this test runs as root
# seconds Redis stays stopped in its round, like a container restart (n8n's processes exit after 10 s without it)
REDIS_DOWN = float(os.environ.get("N8N_E2E_REDIS_DOWN", "3"))


# ----------------------------------------------------------------------------------------------------------------
# Redis and Postgres (Debian's packages), each on a free loopback port with its data in a temp dir


def service_account():
    """(uid, gid) for Redis and Postgres: an unprivileged user as root (initdb and postgres refuse root), else us."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    entry = pwd.getpwnam(SERVICE_USER)
    return entry.pw_uid, entry.pw_gid


def as_service(uid, gid):
    """Popen arguments that run a child as the service account (nothing when that is us)."""
    if uid == os.getuid():
        return {}
    return {"user": uid, "group": gid, "extra_groups": []}


def owned_dir(parent, name, uid, gid):
    path = os.path.join(parent, name)
    os.makedirs(path, mode=0o700)
    os.chown(path, uid, gid)
    return path


def postgres_bindir():
    """The directory with initdb and postgres: on PATH (resolved through symlinks), else Debian's
    /usr/lib/postgresql/<version>/bin, the newest version first. Debian does not put them on PATH."""
    found = shutil.which("initdb")
    if found:
        d = os.path.dirname(os.path.realpath(found))
        if os.access(os.path.join(d, "postgres"), os.X_OK):
            return d

    def version(path):
        v = path.split(os.sep)[-3]
        return [int(x) for x in v.split(".") if x.isdigit()]

    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if all(os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "postgres")):
            return d
    raise RuntimeError("Postgres not found (initdb on PATH or /usr/lib/postgresql/*/bin); "
                       "apt-get install postgresql (.ci/run does)")


class Postgres:
    """A throw-away cluster: initdb as the service account, `postgres` in the foreground, TCP on 127.0.0.1 only
    (no UNIX socket), password authentication for the n8n role it creates."""

    def __init__(self, tmp, uid, gid):
        self.bindir = postgres_bindir()
        self.psql = os.path.join(self.bindir, "psql")
        if not os.access(self.psql, os.X_OK):
            self.psql = shutil.which("psql") or "psql"
        self.uid, self.gid = uid, gid
        self.home = owned_dir(tmp, "postgres", uid, gid)
        self.data = os.path.join(self.home, "data")
        self.port = free_port()
        self.user = "n8n"
        self.database = "n8n"
        self.password = os.urandom(12).hex()
        self.proc = None

    def _env(self):
        return {"PATH": os.environ.get("PATH", ""), "HOME": self.home, "LC_ALL": "C", "TZ": "UTC"}

    def start(self):
        pwfile = os.path.join(self.home, "pw")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        os.chown(pwfile, self.uid, self.gid)
        t = time.monotonic()
        out = subprocess.run([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", self.user,
                              "--pwfile=" + pwfile, "--auth=scram-sha-256", "-E", "UTF8", "--no-instructions"],
                             env=self._env(), cwd=self.home, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, **as_service(self.uid, self.gid))
        os.remove(pwfile)
        if out.returncode != 0:
            raise RuntimeError("initdb failed:\n" + out.stdout.decode("utf-8", "replace")[-2000:])
        # fsync off: a test cluster, thrown away at the end; it keeps the disk out of the figures
        self.proc = Proc("postgres", [os.path.join(self.bindir, "postgres"), "-D", self.data,
                                      "-c", "listen_addresses=127.0.0.1", "-p", str(self.port),
                                      "-c", "unix_socket_directories=", "-c", "fsync=off",
                                      "-c", "synchronous_commit=off", "-c", "max_connections=100"],
                         self._env(), self.home, os.path.join(self.home, "..", "postgres.log"),
                         **as_service(self.uid, self.gid))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError("postgres exited:\n" + self.proc.output()[-2000:])
            if self.try_sql("SELECT 1", database="postgres") is not None:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("postgres not ready after 60 s:\n" + self.proc.output()[-2000:])
        self.sql("CREATE DATABASE %s" % self.database, database="postgres")
        log("postgres %s ready on 127.0.0.1:%d (%.1f s)" % (self.bindir, self.port, time.monotonic() - t))

    def try_sql(self, query, database=None):
        """Rows (lists of strings) of a query, or None when psql failed."""
        env = dict(self._env(), PGPASSWORD=self.password, PGCONNECT_TIMEOUT="5")
        out = subprocess.run([self.psql, "-X", "-q", "-A", "-t", "-F", "\x1f", "-R", "\x1e",
                              "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                              "-d", database or self.database, "-c", query],
                             env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if out.returncode != 0:
            self.last_error = out.stderr.decode("utf-8", "replace")
            return None
        text = out.stdout.decode("utf-8")
        if text.endswith("\n"):  # psql ends the last record with a newline, not the record separator
            text = text[:-1]
        return [r.split("\x1f") for r in text.split("\x1e")] if text else []

    def sql(self, query, database=None):
        rows = self.try_sql(query, database)
        if rows is None:
            raise RuntimeError("psql failed on %r: %s" % (query, self.last_error))
        return rows


class Redis:
    """redis-server on a loopback port, as the service account, with an append-only file so that a restart
    (SIGTERM, started again on the same port and directory) keeps the queue's jobs, as a production one would."""

    def __init__(self, tmp, uid, gid):
        self.binary = shutil.which("redis-server")
        if not self.binary:
            raise RuntimeError("redis-server not found; apt-get install redis-server (.ci/run does)")
        self.uid, self.gid = uid, gid
        self.dir = owned_dir(tmp, "redis", uid, gid)
        self.log_path = os.path.join(tmp, "redis.log")
        self.port = free_port()
        self.proc = None

    def start(self):
        self.proc = Proc("redis", [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", self.dir,
                                   "--appendonly", "yes", "--save", "", "--daemonize", "no", "--protected-mode", "yes"],
                         {"PATH": os.environ.get("PATH", "")}, self.dir, self.log_path, **as_service(self.uid, self.gid))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError("redis-server exited:\n" + self.proc.output()[-2000:])
            if self.ping():
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server not ready after 30 s")

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        """SIGTERM (Redis writes its data and exits), then wait; SIGKILL after 15 s."""
        stop_all([self.proc], grace=15)


# ----------------------------------------------------------------------------------------------------------------
# n8n: main and workers


class Cluster:
    """The n8n side: one main (webhooks, queue producer) and workers, sharing Postgres, Redis and the
    encryption key. Each process has a user folder of its own, as each container would."""

    def __init__(self, inst, tmp, pg, redis):
        self.inst, self.tmp, self.pg, self.redis = inst, tmp, pg, redis
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.encryption_key = os.urandom(24).hex()
        self.auth_token = "e2e-queue-" + os.urandom(24).hex()
        self.main = None
        self.deploy_vars = {}  # every variable given to main, workers or runners that compose-queue.yaml sets too

    def common_env(self, folder):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("N8N_", "DB_", "EXECUTIONS_", "QUEUE_", "OFFLOAD_"))}
        env = self.inst.env(env)
        # what deploy/compose-queue.yaml sets on main and workers alike
        env.update(self.deployed({
            "N8N_ENCRYPTION_KEY": self.encryption_key,
            "DB_TYPE": "postgresdb",
            "DB_POSTGRESDB_HOST": "127.0.0.1",
            "DB_POSTGRESDB_PORT": str(self.pg.port),
            "DB_POSTGRESDB_DATABASE": self.pg.database,
            "DB_POSTGRESDB_USER": self.pg.user,
            "DB_POSTGRESDB_PASSWORD": self.pg.password,
            "EXECUTIONS_MODE": "queue",
            "QUEUE_BULL_REDIS_HOST": "127.0.0.1",
            "QUEUE_BULL_REDIS_PORT": str(self.redis.port),
            "OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS": "true",
            "N8N_RUNNERS_MODE": "external",
            "N8N_RUNNERS_AUTH_TOKEN": self.auth_token,
        }))
        # test-only: a user folder per process, nothing phoned home, every execution kept for the checks
        env.update({
            "N8N_USER_FOLDER": folder,
            "N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS": "false",
            "N8N_DIAGNOSTICS_ENABLED": "false",
            "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
            "N8N_PERSONALIZATION_ENABLED": "false",
            "N8N_TEMPLATES_ENABLED": "false",
            "N8N_DISABLED_MODULES": "mcp-registry",
            "EXECUTIONS_DATA_SAVE_ON_SUCCESS": "all",
            "EXECUTIONS_DATA_SAVE_ON_ERROR": "all",
            "N8N_LOG_OUTPUT": "console",
            "NO_COLOR": "1",
        })
        return env

    def deployed(self, env):
        """Records variables a deployment sets too (deploy/compose-queue.yaml); returns them."""
        self.deploy_vars.update(env)
        return env

    def main_env(self):
        env = self.common_env(self.folder("main"))
        env.update({"N8N_LISTEN_ADDRESS": "127.0.0.1", "N8N_PORT": str(self.port), "N8N_HOST": "127.0.0.1",
                    "N8N_GRACEFUL_SHUTDOWN_TIMEOUT": "5"})
        return env

    def folder(self, name):
        path = os.path.join(self.tmp, "n8n-" + name)
        os.makedirs(path, exist_ok=True)
        return path

    def cli(self, *args):
        return n8n_cli(self.inst, self.main_env(), self.tmp, *args)

    def import_and_activate(self):
        ids = workflow_ids(WORKFLOW_DIR)
        self.cli("import:workflow", "--separate", "--input=" + WORKFLOW_DIR)
        # what `n8n publish:workflow` does, for all at once (see run.py's import_and_activate)
        id_list = ", ".join("'%s'" % i for i in ids)
        ready = self.pg.sql(
            'SELECT w.id FROM workflow_entity w JOIN workflow_history h ON h."workflowId" = w.id'
            ' AND h."versionId" = w."versionId" WHERE w.id IN (%s)' % id_list)
        if sorted(r[0] for r in ready) != sorted(ids):
            raise RuntimeError("import left workflows %s without their current version" % ids)
        self.pg.sql('UPDATE workflow_entity SET active = true, "activeVersionId" = "versionId" WHERE id IN (%s)'
                    % id_list)
        self.workflow_ids = ids
        log("imported and activated %s" % ids)

    def start_main(self):
        self.main = Proc("n8n-main", [self.inst.node, self.inst.n8n_bin, "start"], self.main_env(), self.tmp,
                         os.path.join(self.tmp, "n8n-main.log"))
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if not self.main.alive():
                raise RuntimeError("n8n main exited during start-up:\n" + self.main.output()[-4000:])
            if ok(self.base + "/healthz/readiness"):
                rows = self.pg.try_sql('SELECT DISTINCT "workflowId" FROM webhook_entity') or []
                if set(self.workflow_ids) <= {r[0] for r in rows}:
                    log("n8n main ready on port %d, webhooks registered" % self.port)
                    return
            time.sleep(0.25)
        raise RuntimeError("n8n main not ready after 180 s:\n" + self.main.output()[-4000:])

    def webhook(self, path, body, timeout=CALL_TIMEOUT):
        return http("POST", "%s/webhook/%s" % (self.base, path), body, timeout=timeout)

    # --- executions, from n8n's database
    def executions(self, workflow_id, ids=None):
        """{execution id: status} of a workflow (or of the given ids)."""
        where = "\"workflowId\" = '%s'" % workflow_id
        if ids is not None:
            if not ids:
                return {}
            where += " AND id IN (%s)" % ", ".join(str(int(i)) for i in ids)
        return {int(r[0]): r[1] for r in self.pg.sql("SELECT id, status FROM execution_entity WHERE " + where)}

    def stored_execution(self, workflow_id, call_id):
        """(execution id, status, items of the last node) of the execution a webhook call started, found by the
        call's id in its stored run data; None when n8n stored no execution for it."""
        rows = self.pg.sql('SELECT e.id, e.status, d.data FROM execution_entity e JOIN execution_data d'
                           ' ON d."executionId" = e.id WHERE e."workflowId" = \'%s\' AND d.data LIKE \'%%"%s"%%\''
                           % (workflow_id, call_id))
        for execution_id, status, data in rows:
            try:
                rd = flatted.parse(data).get("resultData", {})
                webhook = rd["runData"]["Webhook"][0]["data"]["main"][0][0]["json"]["body"]
            except (ValueError, KeyError, IndexError, TypeError):
                continue
            if webhook.get("id") != call_id:
                continue
            try:
                items = [it["json"] for it in rd["runData"][rd["lastNodeExecuted"]][-1]["data"]["main"][0]]
            except (KeyError, IndexError, TypeError):
                items = None
            return int(execution_id), status, items
        return None

    def stored_errors(self, ids):
        """{execution id: (node, message, description)} of failed executions, from their stored run data."""
        if not ids:
            return {}
        rows = self.pg.sql('SELECT "executionId", data FROM execution_data WHERE "executionId" IN (%s)'
                           % ", ".join(str(int(i)) for i in ids))
        found = {}
        for eid, data in rows:
            try:
                rd = flatted.parse(data).get("resultData", {})
            except ValueError:
                continue
            err = rd.get("error") or {}
            node = (err.get("node") or {}).get("name") or rd.get("lastNodeExecuted")
            found[int(eid)] = (node, err.get("message"), err.get("description"))
        return found


class Worker:
    """One `n8n worker` with its task broker (external runners) and health server on ports of its own."""

    def __init__(self, cluster, index):
        self.cluster = cluster
        self.name = "worker-%d" % index
        self.broker_port = free_port()
        self.health_port = free_port()
        self.broker = "http://127.0.0.1:%d" % self.broker_port
        self.proc = None
        self.starts = 0

    def env(self):
        env = self.cluster.common_env(self.cluster.folder(self.name))
        env.update(self.cluster.deployed({
            "N8N_RUNNERS_BROKER_LISTEN_ADDRESS": "127.0.0.1",
            "N8N_RUNNERS_BROKER_PORT": str(self.broker_port),
            "QUEUE_HEALTH_CHECK_ACTIVE": "true",
            "QUEUE_HEALTH_CHECK_PORT": str(self.health_port),
            "N8N_WORKER_SERVER_ADDRESS": "127.0.0.1",
        }))
        return env

    def start(self):
        """Starts the process (a log file per start, so each start's lines can be told apart); returns at once."""
        self.starts += 1
        self.proc = Proc("n8n-" + self.name, [self.cluster.inst.node, self.cluster.inst.n8n_bin, "worker",
                                              "--concurrency=%d" % WORKER_CONCURRENCY],
                         self.env(), self.cluster.tmp,
                         os.path.join(self.cluster.tmp, "n8n-%s.%d.log" % (self.name, self.starts)))
        self.started_at = time.monotonic()

    def wait_ready(self, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError("%s exited during start-up:\n%s" % (self.name, self.proc.output()[-4000:]))
            if ok("http://127.0.0.1:%d/healthz/readiness" % self.health_port) and ok(self.broker + "/healthz"):
                log("%s ready (broker %d, health %d) %.1f s after its start"
                    % (self.name, self.broker_port, self.health_port, time.monotonic() - self.started_at))
                return
            time.sleep(0.1)
        raise RuntimeError("%s not ready after %d s:\n%s" % (self.name, timeout, self.proc.output()[-4000:]))

    def registrations(self, runner_name="Python Task Runner"):
        return self.proc.output().count('Registered runner "%s"' % runner_name)

    def executions_started(self):
        """Ids of the executions this worker process started, from its log (n8n records no worker in
        execution_entity; the worker's own `Worker started execution <id>` line is the record)."""
        return [int(m) for m in re.findall(r"Worker started execution (\d+) ", self.proc.output())]

    def grant_token(self):
        for _ in range(20):
            status, body, _ = http("POST", self.broker + "/runners/auth", {"token": self.cluster.auth_token},
                                   timeout=10)
            if status == 200:
                return body["data"]["token"]
            time.sleep(0.3)
        raise RuntimeError("%s: POST /runners/auth kept failing: %s %s" % (self.name, status, body))


def ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


# ----------------------------------------------------------------------------------------------------------------
# runners


class QueueRunner:
    """Our runner for one worker: its broker, N8N_RUNNERS_AUTH_TOKEN (fetches its own grant tokens), health server
    on a fixed port so that a restarted runner is watched at the same address."""

    def __init__(self, binary, worker, python):
        self.binary, self.worker, self.python = binary, worker, python
        self.name = "runner-for-" + worker.name
        self.health_port = free_port()
        self.proc = None
        self.starts = 0

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("N8N_")}
        env.update(self.worker.cluster.deployed({
            "N8N_RUNNERS_TASK_BROKER_URI": self.worker.broker,
            "N8N_RUNNERS_AUTH_TOKEN": self.worker.cluster.auth_token,
            "N8N_RUNNERS_MAX_CONCURRENCY": str(RUNNER_CONCURRENCY),
            # the image's defaults (Dockerfile ENV), on a loopback port of its own here
            "N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED": "true",
            "N8N_RUNNERS_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
            "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT": str(self.health_port),
        }))
        env["NO_COLOR"] = "1"
        if self.python:
            env["N8N_RUNNERS_PYTHON"] = self.python
        return env

    def start(self):
        self.starts += 1
        self.proc = Proc(self.name, [self.binary], self.env(), self.worker.cluster.tmp,
                         os.path.join(self.worker.cluster.tmp, "%s.%d.log" % (self.name, self.starts)))

    def registrations(self):
        return self.proc.output().count("Registered with broker")

    def wait_registered(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.registrations() > 0:
                return True
            if not self.proc.alive():
                return False
            time.sleep(0.05)
        return False

    def metrics(self):
        """{name: value} of the runner's /metrics, or None when it does not answer."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.health_port, timeout=2) as r:
                text = r.read().decode()
        except (urllib.error.URLError, OSError):
            return None
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                try:
                    values[name] = float(value)
                except ValueError:
                    pass
        return values

    def healthz(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.health_port, timeout=2) as r:
                return r.status
        except urllib.error.HTTPError as err:
            return err.code
        except (urllib.error.URLError, OSError):
            return None


# ----------------------------------------------------------------------------------------------------------------
# load


def expected(call_id, n):
    return [{"id": call_id, "k": k, "v": n * 10 + k} for k in range(3)]


class Load:
    """Webhook calls, `inflight` at a time: `total` of them, or until stop(). Each call's outcome is kept."""

    def __init__(self, cluster, path, label, inflight=LOAD_INFLIGHT, total=None, timeout=CALL_TIMEOUT):
        self.cluster, self.path, self.label, self.timeout = cluster, path, label, timeout
        self.inflight, self.total = inflight, total
        self.calls = []  # (index, started, ended, status, correct, detail)
        self._next = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []

    def _take(self):
        with self._lock:
            if self._stop.is_set() or (self.total is not None and self._next >= self.total):
                return None
            i = self._next
            self._next += 1
            return i

    def _work(self):
        while True:
            i = self._take()
            if i is None:
                return
            call_id, n = "%s-%d" % (self.label, i), i % 97
            started = time.monotonic()
            try:
                status, body, _ = self.cluster.webhook(self.path, {"id": call_id, "n": n}, timeout=self.timeout)
                correct = status == 200 and body == expected(call_id, n)
                detail = None if correct else _short(body, 300)
            except Exception as err:  # no answer in CALL_TIMEOUT, or the connection broke
                status, correct, detail = None, False, "%s: %s" % (type(err).__name__, err)
            with self._lock:
                self.calls.append((i, started, time.monotonic(), status, correct, detail))

    def start(self):
        self.began = time.monotonic()
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(self.inflight)]
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()

    def join(self):
        for t in self._threads:
            t.join()
        self.ended = time.monotonic()
        return self

    def done(self):
        with self._lock:
            return len(self.calls)

    # --- figures
    def summary(self):
        times = sorted((c[2] - c[1]) * 1000 for c in self.calls)
        wall = self.ended - self.began
        return {"calls": len(self.calls), "wall": wall, "rate": len(self.calls) / wall if wall else 0.0,
                "p50": percentile(times, 50), "p95": percentile(times, 95), "max": times[-1] if times else 0.0,
                "correct": sum(1 for c in self.calls if c[4]),
                "unanswered": sum(1 for c in self.calls if c[3] is None),
                "statuses": count_by(c[3] for c in self.calls)}


def lost_by_main(cluster, workflow_id, load):
    """The ids of a load's unanswered calls whose execution n8n stored as a success with the right result.

    n8n's main waits for a queue-mode execution with Bull's Job.finished() (bull 4.16.4, lib/job.js). That asks
    Redis whether the job is finished and, when it is not, only then starts listening for the job's completion
    event. A completion event that arrives in between is missed: main never answers that webhook call, although
    the worker ran the execution and stored its result. Such a call is n8n's loss, not the runner's; it is found
    here by its stored result and reported. A call unanswered for any other reason still fails the checks.
    """
    lost = []
    for call in load.calls:
        if call[3] is not None:
            continue
        call_id = "%s-%d" % (load.label, call[0])
        found = cluster.stored_execution(workflow_id, call_id)
        if found is not None and found[1:] == ("success", expected(call_id, call[0] % 97)):
            lost.append(call_id)
    return lost


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-p * len(sorted_values) // 100))
    return sorted_values[int(rank) - 1]


def count_by(values):
    out = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return out


def fmt_summary(s):
    text = ("%d calls in %.1f s: %.1f executions/s, p50 %.0f ms, p95 %.0f ms, max %.0f ms; %d correct, statuses %s"
            % (s["calls"], s["wall"], s["rate"], s["p50"], s["p95"], s["max"], s["correct"], s["statuses"]))
    if s.get("lost"):
        text += "; %d never answered by n8n's main though stored right (%s)" % (len(s["lost"]), ", ".join(s["lost"]))
    return text


def wait_until(condition, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


class RunnerWatch:
    """Samples the runners' /healthz and /metrics every 100 ms while a round runs."""

    def __init__(self, runners):
        self.runners = runners
        self.samples = []  # (time, runner name, healthz status, broker_connected, reconnects_total)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for r in self.runners:
                m = r.metrics() or {}
                self.samples.append((time.monotonic(), r.name, r.healthz(), m.get("n8n_runner_broker_connected"),
                                     m.get("n8n_runner_reconnects_total")))
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# ----------------------------------------------------------------------------------------------------------------
# the rounds


def load_round(c, cluster, workers, path, workflow_id, label, results):
    """LOAD_CALLS calls, LOAD_INFLIGHT in flight; every answer right; executions on every worker."""
    before = [set(w.executions_started()) for w in workers]
    known = set(cluster.executions(workflow_id))
    load = Load(cluster, path, label, total=LOAD_CALLS).start().join()
    s = load.summary()
    s["lost"] = lost_by_main(cluster, workflow_id, load)
    results[label] = s
    c.check("%s load: %d calls, %d in flight, every answer right (or lost by n8n's main with its result stored right)"
            % (label, LOAD_CALLS, LOAD_INFLIGHT),
            s["correct"] + len(s["lost"]) == LOAD_CALLS, fmt_summary(s))
    new = set(cluster.executions(workflow_id)) - known
    per_worker = [(set(w.executions_started()) - b) & new for w, b in zip(workers, before)]
    statuses = count_by(cluster.executions(workflow_id, new).values())
    c.check("%s load: executions ran on both workers (worker logs) and n8n stored them all as success" % label,
            all(per_worker) and sum(len(p) for p in per_worker) == len(new) == LOAD_CALLS
            and statuses == {"success": LOAD_CALLS},
            "per worker %s, stored %d: %s" % ([len(p) for p in per_worker], len(new), statuses))


def resumed_on(workers, since_counts, count=RESUMED_EXECUTIONS):
    return all(len(w.executions_started()) - n >= count for w, n in zip(workers, since_counts))


def round_worker_restart(c, cluster, workers, runners, report):
    """SIGTERM a worker during load, start it again; its runner must come back within about 5 s."""
    w, r = workers[0], runners[0]
    load = Load(cluster, PY_PATH, "restart").start()
    wait_until(lambda: load.done() >= 40, 60)
    old_regs = r.registrations()
    reconnects_before = (r.metrics() or {}).get("n8n_runner_reconnects_total", 0)
    t_term = time.monotonic()
    stop_all([w.proc], grace=60)
    stopped = time.monotonic() - t_term
    old_log = w.proc.output()
    w.start()
    # the worker's broker is up when /healthz answers; the runner is back when it logged a new registration
    broker_up = runner_back = None
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and runner_back is None:
        now = time.monotonic()
        if broker_up is None and ok(w.broker + "/healthz"):
            broker_up = now
        if r.registrations() > old_regs:
            runner_back = now
        if not w.proc.alive():
            break
        time.sleep(0.02)
    w.wait_ready()
    counts = [len(x.executions_started()) for x in workers]
    resumed = wait_until(lambda: resumed_on(workers, counts), 90)
    load.stop()
    load.join()
    s = load.summary()
    s["lost"] = lost_by_main(cluster, PY_WORKFLOW, load)
    lag = (runner_back - broker_up) if (runner_back and broker_up) else None
    reconnects = (r.metrics() or {}).get("n8n_runner_reconnects_total", 0) - reconnects_before
    report["worker restart"] = {"summary": s, "stopped_after": stopped, "lag": lag}
    c.check("worker restart: the runner re-registered with the new worker within 5 s of its broker listening"
            " (a fresh grant token: the new worker registered it)",
            lag is not None and lag < 5.0 and w.registrations() >= 1,
            "lag %s; worker stopped %.1f s after SIGTERM; runner reconnects +%d"
            % ("%.2f s" % lag if lag is not None else "n/a", stopped, reconnects))
    c.check("worker restart: executions resumed on both workers (%d more each)" % RESUMED_EXECUTIONS, resumed,
            "started since the restart: %s" % [len(x.executions_started()) - n for x, n in zip(workers, counts)])
    c.check("worker restart: no call went unanswered (but ones lost by n8n's main with their results stored right)",
            s["unanswered"] == len(s["lost"]), fmt_summary(s))
    wrong = [x for x in load.calls if not x[4] and "restart-%d" % x[0] not in s["lost"]]
    report["worker restart"]["wrong"] = wrong
    c.check("worker restart: every answer right", not wrong,
            "%d wrong, e.g. %s; %s" % (len(wrong), _short([x[3:] for x in wrong[:3]], 400),
                                       where_they_ran(cluster, wrong, old_log)) if wrong else "")


def where_they_ran(cluster, calls, old_log):
    """For calls of the worker-restart round that went wrong: what n8n stored for each one's execution, and what the
    stopped worker's log says of it (started, in its list of executions to drain before stopping, finished)."""
    draining = set()
    for line in re.findall(r"Waiting for \d+ active executions to finish\.\.\. \(execution IDs: ([\d, ]*)\)", old_log):
        draining.update(int(i) for i in line.replace(" ", "").split(",") if i)
    started = set(int(i) for i in re.findall(r"Worker started execution (\d+) ", old_log))
    finished = set(int(i) for i in re.findall(r"Worker finished execution (\d+) ", old_log))
    notes = []
    for call in calls[:10]:
        call_id = "restart-%d" % call[0]
        found = cluster.stored_execution(PY_WORKFLOW, call_id)
        if found is None:
            notes.append("%s: no execution stored" % call_id)
            continue
        eid, status = found[0], found[1]
        seen = [name for name, ids in (("started", started), ("to drain", draining), ("finished", finished))
                if eid in ids]
        notes.append("%s: execution %d %s, in the stopped worker's log: %s"
                     % (call_id, eid, status, ", ".join(seen) or "nothing"))
    return "; ".join(notes)


def round_runner_kill(c, cluster, workers, runners, report):
    """SIGKILL a runner with tasks in flight, start it again; report what n8n did with those tasks."""
    w, r = workers[0], runners[0]
    other = workers[1]
    exec_before = [set(x.executions_started()) for x in workers]
    # the slow workflow: each per-item task computes for ~0.3 s, so the runner is caught with tasks running
    load = Load(cluster, SLOW_PATH, "kill").start()
    wait_until(lambda: load.done() >= 20, 60)
    running = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and running < 2:
        running = int((r.metrics() or {}).get("n8n_runner_tasks_running", 0))
        time.sleep(0.01)
    t_kill = time.monotonic()
    r.proc.signal_group(signal.SIGKILL)  # as a container kill: the runner and its forkserver
    r.proc.p.wait(timeout=10)
    r.proc.log_file.close()
    time.sleep(1.0)  # a supervisor's restart delay
    r.start()
    registered = r.wait_registered(30)
    back = time.monotonic() - t_kill
    counts = [len(x.executions_started()) for x in workers]
    resumed = wait_until(lambda: resumed_on(workers, counts) and (r.metrics() or {}).get(
        "n8n_runner_tasks_succeeded_total", 0) >= RESUMED_EXECUTIONS, 120)
    load.stop()
    load.join()
    s = load.summary()
    s["lost"] = lost_by_main(cluster, SLOW_WORKFLOW, load)
    accepted = (r.metrics() or {}).get("n8n_runner_tasks_accepted_total", 0)
    c.check("runner SIGKILL: the restarted runner registers and its worker's Code-node tasks go to it",
            registered and resumed and accepted > 0,
            "registered %.1f s after the kill; the new runner accepted %d tasks" % (back, accepted))
    # What n8n did with the executions in flight: the ones that failed, and what it stored for them.
    new = [set(x.executions_started()) - b for x, b in zip(workers, exec_before)]
    statuses = [cluster.executions(SLOW_WORKFLOW, ids) for ids in new]
    failed = sorted(i for i, st in statuses[0].items() if st != "success")
    errors = cluster.stored_errors(failed)
    messages = count_by("%s: %s" % (e[0], e[1]) for e in errors.values())
    served_late = [x for x in load.calls if x[4] and x[1] < t_kill + back < x[2]]
    report["runner kill"] = {"summary": s, "running_at_kill": running, "failed": len(failed),
                             "failed_statuses": count_by(statuses[0][i] for i in failed), "messages": messages,
                             "served_late": len(served_late), "back": back}
    c.check("runner SIGKILL: the other worker was unaffected (all its executions succeeded)",
            new[1] and all(st == "success" for st in statuses[1].values()),
            "%s ran %d executions: %s" % (other.name, len(new[1]), count_by(statuses[1].values())))
    failed_calls = s["calls"] - s["correct"] - len(s["lost"])
    disconnected = set(messages) <= {"Score: Node execution failed", "Expand: Node execution failed"}
    c.check("runner SIGKILL: every call answered (but ones lost by n8n's main with their results stored right); the"
            " only failures are n8n's runner-disconnected errors of the killed runner's tasks",
            s["unanswered"] == len(s["lost"]) and failed_calls == len(failed) <= RUNNER_CONCURRENCY and disconnected,
            "%s; %d tasks running at the kill, %d executions of %s failed: %s"
            % (fmt_summary(s), running, len(failed), w.name, messages))


def round_redis_restart(c, cluster, workers, runners, redis, report):
    """Restart Redis during load; report what n8n does; our runners stay connected and healthy throughout."""
    exec_before = [set(x.executions_started()) for x in workers]
    with RunnerWatch(runners) as watch:
        load = Load(cluster, PY_PATH, "redis", timeout=REDIS_CALL_TIMEOUT).start()
        wait_until(lambda: load.done() >= 40, 60)
        t_stop = time.monotonic()
        redis.stop()
        stopped = time.monotonic() - t_stop
        time.sleep(REDIS_DOWN)
        redis.start()
        back = time.monotonic() - t_stop
        counts = [len(x.executions_started()) for x in workers]
        resumed = wait_until(lambda: resumed_on(workers, counts), 90)
        load.stop()
        load.join()
    s = load.summary()
    s["lost"] = lost_by_main(cluster, PY_WORKFLOW, load)
    new = set().union(*(set(x.executions_started()) - b for x, b in zip(workers, exec_before)))
    statuses = cluster.executions(PY_WORKFLOW, new)
    failed = sorted(i for i, st in statuses.items() if st != "success")
    errors = cluster.stored_errors(failed)
    logs = {}
    for proc in [cluster.main] + [w.proc for w in workers]:
        # n8n's own lines about Redis, in order, each once (not the stack traces and scripts printed with them)
        lines = [ln.strip() for ln in proc.output().splitlines()
                 if re.search(r"(?i)redis", ln) and not re.match(r"\s*(at |')", ln)]
        logs[proc.name] = list(dict.fromkeys(lines))[:8]
    during = [x for x in load.calls if t_stop <= x[1] <= t_stop + back]  # calls made while Redis was away
    bad = [x for x in watch.samples if x[2] != 200 or x[3] != 1.0]
    reconnects = {}
    for _, name, _, _, rec in watch.samples:
        reconnects.setdefault(name, set()).add(rec)
    report["redis restart"] = {"summary": s, "stopped": stopped, "back": back, "failed": len(failed),
                               "failed_statuses": count_by(statuses[i] for i in failed),
                               "messages": count_by("%s: %s" % (e[0], e[1]) for e in errors.values()),
                               "logs": logs, "during": len(during),
                               "during_statuses": count_by(x[3] for x in during),
                               "during_correct": sum(1 for x in during if x[4]),
                               "during_max": max([x[2] - x[1] for x in during] or [0.0])}
    c.check("redis restart: our runners stayed connected and healthy throughout (/healthz 200, "
            "n8n_runner_broker_connected 1, no reconnect)",
            watch.samples and not bad and all(len(v) == 1 for v in reconnects.values()),
            "%d samples, %d bad %s" % (len(watch.samples), len(bad), _short(bad[:3], 300)))
    c.check("redis restart: executions resumed on both workers afterwards", resumed,
            "Redis stopped %.1f s after SIGTERM, answering again after %.1f s; %s" % (stopped, back, fmt_summary(s)))


# ----------------------------------------------------------------------------------------------------------------


class Interrupted(BaseException):
    pass


def _on_signal(signum, frame):
    raise Interrupted("signal %d" % signum)


def print_report(results, report):
    names = {"python": "Python Code nodes, our runners", "js": "JavaScript Code nodes, n8n's JS runners (yardstick)"}
    print("queue mode, main + 2 workers (concurrency %d) + 1 runner per worker (concurrency %d), %d calls, %d in flight:"
          % (WORKER_CONCURRENCY, RUNNER_CONCURRENCY, LOAD_CALLS, LOAD_INFLIGHT))
    for key in ("python", "js"):
        if key in results:
            print("  %s: %s" % (names[key], fmt_summary(results[key])))
    r = report.get("worker restart")
    if r:
        print("  worker restart: worker stopped %.1f s after SIGTERM; runner re-registered %s after the new worker's"
              " broker listened; %s" % (r["stopped_after"], "%.2f s" % r["lag"] if r["lag"] is not None else "n/a",
                                        fmt_summary(r["summary"])))
    r = report.get("runner kill")
    if r:
        print("  runner SIGKILL: %d tasks running at the kill; runner back %.1f s after it; %d executions of its worker"
              " failed (%s), stored errors %s; %d calls in flight across its return were answered right; %s"
              % (r["running_at_kill"], r["back"], r["failed"], r["failed_statuses"], r["messages"],
                 r["served_late"], fmt_summary(r["summary"])))
    r = report.get("redis restart")
    if r:
        print("  redis restart: stopped %.1f s after SIGTERM, answering again %.1f s after it; %d executions not"
              " successful (statuses %s, stored errors %s); %d calls unanswered after %d s; %s"
              % (r["stopped"], r["back"], r["failed"], r["failed_statuses"], r["messages"], r["summary"]["unanswered"],
                 REDIS_CALL_TIMEOUT, fmt_summary(r["summary"])))
        print("    %d calls made while Redis was away: statuses %s, %d right, the slowest answered after %.1f s"
              % (r["during"], r["during_statuses"], r["during_correct"], r["during_max"]))
        for name, lines in r["logs"].items():
            for line in lines:
                print("    %s: %s" % (name, line[:200]))


def main():
    if os.environ.get("N8N_E2E_SKIP") == "1":
        print("e2e queue mode: SKIPPED - N8N_E2E_SKIP=1 is set, so the queue-mode test (Redis, Postgres, n8n main,"
              " two workers, our runners) did not run", flush=True)
        return 0
    if os.environ.get("N8N_E2E_QUEUE_SKIP") == "1":
        print("e2e queue mode: SKIPPED - N8N_E2E_QUEUE_SKIP=1 is set, so the queue-mode test (Redis, Postgres, n8n"
              " main, two workers, our runners) did not run", flush=True)
        return 0
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)

    c = Checks()
    results, report = {}, {}
    procs = []  # every long-running process, for the teardown
    services = []
    tmp = None
    setup_failed = None
    cluster = workers = runners = None
    try:
        binary = e2e.runner_binary()
        inst, fresh = install.ensure(log=log)
        log("n8n %s (%s)" % (inst.root, "installed now" if fresh else "cached"))
        tmp = tempfile.mkdtemp(prefix="n8n-e2e-queue-")
        os.chmod(tmp, 0o711)  # the service account must reach its own directories in here
        uid, gid = service_account()
        pg = Postgres(tmp, uid, gid)
        redis = Redis(tmp, uid, gid)
        services = [pg, redis]
        pg.start()
        redis.start()
        log("redis %s ready on 127.0.0.1:%d" % (redis.binary, redis.port))

        cluster = Cluster(inst, tmp, pg, redis)
        cluster.import_and_activate()
        cluster.start_main()
        procs.append(lambda: cluster.main)
        workers = [Worker(cluster, i) for i in (1, 2)]
        for w in workers:
            w.start()
            procs.append(lambda w=w: w.proc)
        for w in workers:
            w.wait_ready()
        python = e2e.choose_runner_python()
        runners = [QueueRunner(binary, w, python) for w in workers]
        for r in runners:
            r.start()
            procs.append(lambda r=r: r.proc)
        for r in runners:
            c.check("%s: registers with its worker's broker (own grant token from N8N_RUNNERS_AUTH_TOKEN)" % r.name,
                    r.wait_registered() and r.worker.registrations() == 1, _short(r.proc.output()[-300:], 300))
        if not all(r.registrations() for r in runners):
            raise RuntimeError("a runner did not register")
        pgids = {p().pgid for p in procs} | {pg.proc.pgid, redis.proc.pgid}
        addrs = e2e.listening_addresses(pgids)
        c.check("loopback only: every socket Redis, Postgres, n8n and the runners listen on is on 127.0.0.1",
                addrs and all(a.startswith("127.0.0.1:") for a in addrs), ", ".join(addrs))
        compose = os.path.join(e2e.DEPLOY_DIR, "compose-queue.yaml")
        ok_vars, detail = e2e.compare_with_compose(
            compose, cluster.deploy_vars, compose_only=("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"),
            same_values=("EXECUTIONS_MODE", "DB_TYPE", "OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS", "N8N_RUNNERS_MODE",
                         "QUEUE_HEALTH_CHECK_ACTIVE", "N8N_RUNNERS_MAX_CONCURRENCY"))
        with open(compose) as f:
            workers_line = f.read().count('"--concurrency=%d"' % WORKER_CONCURRENCY)
        c.check("deploy/compose-queue.yaml names the variables this test gives main, workers and runners, and the"
                " same modes and concurrencies", ok_vars and workers_line == len(workers),
                "%s; %d workers with --concurrency=%d" % (detail, workers_line, WORKER_CONCURRENCY))
        status, body, _ = cluster.webhook(PY_PATH, {"id": "probe", "n": 1})
        if (status, body) != (200, expected("probe", 1)):
            raise RuntimeError("the Python workflow does not answer: %s %s" % (status, _short(body)))

        load_round(c, cluster, workers, PY_PATH, PY_WORKFLOW, "python", results)

        js = []
        try:
            js = [JsRunner(cluster.inst, w.broker, w.grant_token(),
                           lambda w=w: w.registrations("JS Task Runner"), RUNNER_CONCURRENCY, cluster.tmp,
                           "js-runner-for-" + w.name) for w in workers]
            if all(j.wait_registered(timeout=30) for j in js):
                load_round(c, cluster, workers, JS_PATH, JS_WORKFLOW, "js", results)
            else:
                log("a JS runner did not register: yardstick not measured")
        finally:
            stop_all([j.proc for j in js], grace=5)

        round_worker_restart(c, cluster, workers, runners, report)
        round_runner_kill(c, cluster, workers, runners, report)
        round_redis_restart(c, cluster, workers, runners, redis, report)
    except Interrupted as e:
        setup_failed = "interrupted by %s" % e
    except Exception as e:
        setup_failed = "%s: %s" % (type(e).__name__, e)
    finally:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)  # let the teardown finish
        # n8n and the runners first (n8n closes its Postgres and Redis connections), then the services
        stop_all([p() for p in procs if p() is not None])
        stop_all([s.proc for s in services if s.proc is not None])
        if setup_failed and cluster and cluster.main:
            log("n8n main log tail:\n" + cluster.main.output()[-3000:])
        if tmp:
            if os.environ.get("N8N_E2E_KEEP") == "1":
                log("kept %s (logs, data)" % tmp)
            else:
                shutil.rmtree(tmp, ignore_errors=True)

    if setup_failed:
        c.check("e2e queue mode set-up", False, setup_failed)
    print_report(results, report)
    print("e2e queue mode total time %.0f s" % (time.monotonic() - e2e.START))
    print("%d passed, %d failed" % (c.passed, c.failed), flush=True)
    if setup_failed:
        return 2
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
