"""Fork server: the one long-lived Python process the Rust runner starts for task children.

Owns the control-socket protocol and the children's lives: it reads the configuration, loads the
sandbox module (python/sandbox.py) and the task package (python/n8n_task/) from source, preloads
modules once, learns which sandbox layers the kernel grants, reports ready, then forks one fresh
child per fork request, reports each child's exit code on that child's status pipe, reaps
children, and kills them all when the Rust side goes away. How a child is confined lives in
sandbox.py, what it does with its task in the n8n_task package (its entry point: entry.py).

This file is the bootstrap: it receives the configuration and loads packages from source (the
one loader, for this package and for the task package); the forkserver itself is the package
n8n_forkserver (python/n8n_forkserver/), one concern a module, in load order (as
FORKSERVER_MODULES in src/forkserver.rs sends them): each imports only modules above it.
    state ....... the State, log(), the request tags and sizes
    processes ... reaping, waiting, killing, closing fds, the status records
    child ....... forking a task process, its confinement, becoming a task process
    ahead ....... fork-ahead in a slot, and the slot's compiled-code cache
    trials ...... a trial import in a confined throw-away child
    slots ....... confined replicas that fork the tasks (with namespaces)
    warming ..... importing what tasks import, so that later tasks inherit it
    loop ........ the main loop: requests, reaping, busy slots' answers, warming
    startup ..... from the configuration to ready, then serving until the end

Started by `python -I -B -c <a one-line bootstrap>` that reads this text as the first message
on fd 3, one end of an AF_UNIX SOCK_SEQPACKET socketpair (the control socket), and runs it as
`__main__` (tests may also run it directly with `-c <this text>`). Then, on the same socket:
  1. Rust -> us: one JSON config message: forkserver_modules ([name, source] pairs of the
     n8n_forkserver package's modules, in load order), task_modules ([name, source] pairs of
     the n8n_task package's modules, in load order), sandbox_source, preload, block_env,
     builtins_deny, stdlib_allow, external_allow, blocked_names, blocked_attributes,
     allow_transitive_imports, limits, sandbox (unknown keys are ignored).
  2. us -> Rust: one JSON ready message (ready, pid, python, executable, stdlib_dir,
     stdlib_module_names, sandbox: the layers in force).
  3. Rust -> us: fork requests, each the byte b"F" plus fds task_r, result_w, status_w (and,
     for code of at most 32 KiB, the node mode byte a|e and the code, for the slots'
     compiled-code caches); and
     warm requests, b"W" plus a JSON list of module names that tasks imported, which this
     process imports too (see warming.py), so later tasks inherit them.
Status records on status_w are 5 bytes: an ASCII tag and a big-endian signed 32-bit value:
R<0> when the request is taken (before the fork), P<pid> from the child itself (its pid as the
runner sees it), X<exit code> when reaped (negative = killed by that signal), or E<errno> when
the fork failed.
"""

import json
import os
import socket
import sys
import types

CONTROL_FD = 3
# The config carries the task package's source; a SEQPACKET message is bounded by the socket's
# send buffer, so this is generous. Allocated once.
CONFIG_BUFSIZE = 16 * 1024 * 1024
# The forkserver's package (python/n8n_forkserver/): its modules are loaded as
# n8n_forkserver.<name>, and the bootstrap hands over to main() of its startup module.
FORKSERVER_PACKAGE = "n8n_forkserver"
FORKSERVER_ENTRY = "startup"
# The task package (python/n8n_task/): its modules are loaded as n8n_task.<name>, and the
# forkserver calls prepare() and run_task() of its entry module.
TASK_PACKAGE = "n8n_task"
TASK_ENTRY = "entry"


def main():
    sock = socket.socket(fileno=CONTROL_FD)
    config = receive_config(sock)
    if config is None:
        return 0
    forkserver = load_package(FORKSERVER_PACKAGE, config["forkserver_modules"])
    entry = getattr(forkserver, FORKSERVER_ENTRY)
    return entry.main(sock, config, load_module, load_task_package)


def log(text):
    # Before the package is loaded: the same line as n8n_forkserver.state.log() writes.
    try:
        os.write(2, f"[forkserver {os.getpid()}] {text}\n".encode("utf-8", "replace"))
    except OSError:
        pass


def receive_config(sock):
    message, _, flags, _ = sock.recvmsg(CONFIG_BUFSIZE)
    if not message:
        log("control socket closed before the configuration arrived")
        return None
    if flags & socket.MSG_TRUNC:
        raise SystemExit(f"configuration message larger than {CONFIG_BUFSIZE} bytes")
    config = json.loads(message.decode("utf-8"))
    if not (isinstance(config, dict) and isinstance(config.get("sandbox_source"), str)
            and is_module_list(config.get("task_modules"), TASK_ENTRY)):
        raise SystemExit("configuration must be a JSON object with task_modules ([name, source] "
                         "pairs, the entry module among them) and a sandbox_source string")
    if not is_module_list(config.get("forkserver_modules"), FORKSERVER_ENTRY):
        raise SystemExit("configuration must have forkserver_modules ([name, source] pairs, the "
                         "startup module among them)")
    return config


def is_module_list(modules, entry):
    return (
        isinstance(modules, list)
        and all(
            isinstance(pair, list) and len(pair) == 2
            and all(isinstance(part, str) for part in pair) and pair[0].isidentifier()
            for pair in modules
        )
        and entry in (name for name, _ in modules)
    )


def load_module(name, source, package=None):
    module = types.ModuleType(name)
    # The package relative imports (`from .errors import ...`) resolve against.
    module.__package__ = package
    sys.modules[name] = module
    code = compile(source, f"<{name}>", "exec", dont_inherit=True)
    exec(code, module.__dict__)
    return module


def load_package(package_name, modules):
    """Loads a package's modules, [name, source] pairs in load order (each imports only
    modules before it), as <package_name>.<name>; returns the package.

    The package is a module made here, with an empty __path__: its modules' relative imports
    find the ones already loaded in sys.modules, and nothing is ever looked up on disk. Every
    module is compiled under the filename <package_name.name> (<n8n_task.entry>,
    <n8n_forkserver.loop>), which is how tracebacks tell the runner's frames from the user's.
    """
    package = types.ModuleType(package_name)
    package.__path__ = []
    package.__package__ = package_name
    sys.modules[package_name] = package
    for name, source in modules:
        setattr(package, name, load_module(f"{package_name}.{name}", source, package_name))
    return package


def load_task_package(modules):
    """Loads the task package's modules, [name, source] pairs in load order, as
    n8n_task.<name> (see load_package); returns the entry module."""
    return getattr(load_package(TASK_PACKAGE, modules), TASK_ENTRY)


if __name__ == "__main__":
    sys.exit(main())
