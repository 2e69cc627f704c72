"""Task child entry point: the two functions the forkserver calls.

The forkserver loads the modules of this package from source as ``n8n_task.<name>``, calls
``prepare(config)`` once, then calls ``run_task(task_fd, result_fd, config)`` in each fresh
child: it reads the task from its pipe, clears the environment, captures stderr, runs the task
and writes exactly one result frame. Everything that depends only on the configuration
(allowlists, guard objects, the builtins mapping) is built by prepare(), so children inherit it;
a child only installs the process-wide guards and prunes its modules. Imports are limited to
modules the forkserver loads anyway, so a task pays for none of them.

The package, one concern a module, in load order (as TASK_MODULES in src/forkserver.rs sends
them): each imports only modules above it.
    filenames ... the filenames user code is parsed and compiled under
    errors ...... refusals, error replies, the user-facing stack
    wire ........ reading the task, serialising the reply, the result frame
    prints ...... print() capture
    scope ....... sealed callables and the read-only builtins user code sees
    imports ..... the import guard and pruning sys.modules (§10.2, §10.5)
    formats ..... the format-string guard (§10.6)
    wrapping .... the AST wrapper and the format-call rewrite
    sinks ....... run-time checks on library functions that take names or source as strings
    execution ... running one task's code, all items or per item
    entry ....... this module: prepare() and run_task()
"""

import importlib
import io
import json
import linecache
import marshal
import os
import sys
import time

from .errors import set_memory_limit_message
from .execution import PER_ITEM_MODE, execute, precompile, validate
from .filenames import ALL_ITEMS_FILENAME, PER_ITEM_FILENAME
from .formats import FormatGuard, TemplateScanner
from .imports import (
    ALWAYS_LOADED, LOADED_BY_TASK, ImportGuard, ImportPolicy, ModuleType, install_stash,
    prune_modules,
)
from .scope import make_builtins, seal
from .sinks import NameRules, activate_sinks, install_sinks
from .wire import encode_reply, read_all, write_frame

# Filled in by prepare() inside the forkserver, so children inherit it instead of rebuilding it.
_prepared = None


# ---------------------------------------------------------------------------------------------
# Set-up done once in the forkserver


def prepare(config):
    """Does the per-configuration work once, before the forkserver starts forking."""
    global _prepared
    _prepared = Prepared(config)
    set_memory_limit_message((config.get("limits") or {}).get("memory_message"))
    preload_helpers(_prepared.policy)
    if config.get("block_env"):
        # Cleared here too, so each child's own clear (kept as the guarantee) has nothing to do.
        os.environ.clear()
    warm_up(_prepared)
    # After the warm-up, whose own calls need none of the patches; before settling, so the
    # patched modules are among those the stash keeps.
    install_sinks(_prepared.name_rules, _prepared.builtins, _prepared.format_guard,
                  _prepared.policy)
    _prepared.settle_modules()


class Prepared:
    """Everything about the guards that depends only on the configuration."""

    def __init__(self, config):
        self.policy = ImportPolicy(
            string_list(config, "stdlib_allow"),
            string_list(config, "external_allow"),
            config.get("allow_transitive_imports") is True,
        )
        blocked_names = string_list(config, "blocked_names", required=True)
        blocked_attributes = string_list(config, "blocked_attributes", required=True)
        blocked = blocked_names + blocked_attributes
        self.name_rules = NameRules(blocked_names, blocked_attributes)
        guard = ImportGuard(self.policy)
        self.import_guard = seal(guard.builtin_import, "<built-in function __import__>")
        self.importlib_import_guard = seal(guard.importlib_import,
                                           "<built-in function __import__>")
        self.import_module_guard = seal(guard.import_module, "<built-in function import_module>")
        self.format_guard = seal(FormatGuard(TemplateScanner(blocked)).call,
                                 "<built-in function format>")
        denied = frozenset(string_list(config, "builtins_deny"))
        self.builtins = make_builtins(denied, self.import_guard)
        self.kept_modules = None
        self.stash = None

    def settle_modules(self):
        """Prunes the forkserver's own sys.modules once, so children inherit the result.

        Dropping modules in each child instead would write to a page of every dropped module
        object (copy-on-write faults, ~0.5 ms a task). The forkserver keeps working: its code
        and the modules it uses hold their modules by reference. A module it loads later (its
        own lazy imports) is not in kept_modules, so each child still drops that one. The stash
        keeps every dropped module alive and hands it back, the same object, to whatever
        imports it again.
        """
        self.kept_modules = None
        self.kept_modules = self.modules_to_keep()
        if self.stash is None:
            self.stash = install_stash()
        else:
            self.stash.add(sys.modules)
        prune_modules(self.kept_modules)

    def modules_to_keep(self):
        if self.kept_modules is not None:
            return self.kept_modules
        return frozenset(
            name for name in sys.modules
            if name in ALWAYS_LOADED or self.policy.keeps_loaded(name)
        )


def settle_again():
    """In the forkserver, after it imported more modules (warm-up): children keep those the
    allowlists allow, and the stash hands back the others when library code imports them."""
    if _prepared is not None:
        _prepared.settle_modules()


def allows(name):
    """In the forkserver: whether the allowlists let user code import name (only such modules
    are warmed: a task could forge the list its reply carries)."""
    return _prepared is not None and _prepared.policy.allows(name)


def already_loaded(name):
    """In the forkserver: whether a module is loaded (kept, or pruned into the stash)."""
    stash = _prepared.stash if _prepared is not None else None
    return name in sys.modules or (stash is not None and stash.holds(name))


def string_list(config, key, required=False):
    value = config.get(key)
    if value is None:
        if required:
            # The blocked lists come from Rust, the single source of truth; without them the
            # format guard would let everything through.
            raise ValueError(f"configuration lacks {key}")
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"configuration key {key} must be a list of strings")
    return tuple(value)


def preload_helpers(policy):
    """Imports the implicit helpers of allowed modules once, so no child pays for them."""
    for name in sorted(policy.helpers):
        try:
            __import__(name)
        except ImportError:
            pass  # not every helper exists on every Python version
    if "_strptime" in policy.helpers:
        # Fills _strptime's locale caches as well.
        time.strptime("2000", "%Y")


def warm_up(prepared):
    """Runs the success and the error paths once so lazy imports and caches are already
    filled in the forkserver and every child inherits them warm."""
    # The lone surrogate warms the UTF-16 codec that repairs it; '{}'.format the format guard.
    sample = (
        "print('x', 1, [2], 'a\\ud800')\n"
        "return [{'json': {'a': _items, 'b': '{}'.format(1)}}]"
    )
    broken = "x = {}\nreturn x['missing']"
    for code in (sample, broken):
        task = {"code": code, "nodeMode": "runOnceForAllItems", "items": [], "query": None}
        encode_reply(*execute(task, prepared, io.StringIO()))
    task = {"code": "return _item", "nodeMode": PER_ITEM_MODE, "items": [{"json": {}}]}
    encode_reply(*execute(task, prepared, io.StringIO()))
    encode_reply(*execute({"code": "x = ("}, prepared, io.StringIO()))
    encode_reply(*validate({"code": "x = 1"}, io.StringIO()))
    for filename in (ALL_ITEMS_FILENAME, PER_ITEM_FILENAME):
        linecache.cache.pop(filename, None)


def prepared_for(config):
    if _prepared is not None:
        return _prepared
    return Prepared(config)


# ---------------------------------------------------------------------------------------------
# Entry point in the child


def run_task(task_fd, result_fd, config, precompiled=None):
    """Reads one task from task_fd, runs it and writes exactly one result frame to result_fd.
    `precompiled`: the slot's marshalled compile of the code it expects (see precompile)."""
    # The pipe ends come from Rust; make sure neither was left non-blocking.
    os.set_blocking(task_fd, True)
    os.set_blocking(result_fd, True)
    task = json.loads(read_all(task_fd))
    if config.get("block_env"):
        os.environ.clear()
    captured = io.StringIO()
    sys.stderr = captured
    if task.get("validateOnly") is True:
        reply, context = validate(task, captured)
    else:
        prepared = prepared_for(config)
        install_process_guards(prepared)
        compiled = None
        if precompiled:
            try:
                compiled = marshal.loads(precompiled)
            except (ValueError, EOFError, TypeError):
                compiled = None
        reply, context = execute(task, prepared, captured, compiled)
        if LOADED_BY_TASK:
            reply["imports"] = LOADED_BY_TASK
    write_frame(result_fd, encode_reply(reply, context))


def install_process_guards(prepared):
    """The per-child part of the guards: state of the process, not of the configuration."""
    importlib.import_module = prepared.import_module_guard
    importlib.__import__ = prepared.importlib_import_guard
    activate_sinks()
    prune_modules(prepared.modules_to_keep())
    # The forkserver's own namespace is __main__; an empty module keeps the entry that some
    # library code expects without exposing the forkserver's state.
    sys.modules["__main__"] = ModuleType("__main__")
