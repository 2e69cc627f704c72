"""Task child: runs one n8n Code-node task in a process forked by forkserver.py.

Owns everything that happens inside a task child: reading the task from its pipe, clearing the
environment, capturing stderr, wrapping the user's code at the AST level, the globals and builtins
the code sees, print capture, per-item aggregation, turning exceptions into error replies,
serialising the reply, and writing the single length-prefixed result frame.

Also owns the child-side security guards (protocol reference §10.2-§10.6): the import allowlist
and the guarded import entry points (the user's `__import__`, `importlib.import_module`,
`importlib.__import__`), pruning `sys.modules`, the read-only builtins mapping, the format-string
guard with its AST rewrite, and the sealed callables through which user code reaches all of
these. Refusals are reported with `"kind": "security"`. A task with `"validateOnly": true` is only
parsed and compiled, so the runner can quote CPython's own syntax-error wording.

The forkserver loads this source as module ``n8n_task.entry``, calls ``prepare(config)`` once,
then calls ``run_task(task_fd, result_fd, config)`` in each fresh child. Everything that depends only
on the configuration (allowlists, guard objects, the builtins mapping) is built by prepare(), so
children inherit it; a child only installs the process-wide guards and prunes its modules.
Imports are limited to modules the forkserver loads anyway, so a task pays for none of them.
"""

import _string
import ast
import builtins
import importlib
import io
import json
import linecache
import os
import re
import struct
import sys
import time
import traceback

OUTPUT_NAME = "__n8n_internal_user_output__"
WRAPPER_NAME = "_user_function"
# FunctionDef has type_params since 3.12; giving it explicitly keeps every version quiet.
TYPE_PARAMS = {"type_params": []} if "type_params" in ast.FunctionDef._fields else {}
PARSE_FILENAME = "<unknown>"
ALL_ITEMS_FILENAME = "<all_items_task_execution>"
PER_ITEM_FILENAME = "<per_item_task_execution>"
USER_FILENAMES = frozenset((ALL_ITEMS_FILENAME, PER_ITEM_FILENAME))
PER_ITEM_MODE = "runOnceForEachItem"

MAX_PRINT_ENTRIES = 100
FRAME_HEADER = struct.Struct(">I")
MAX_FRAME_BODY = 0xFFFFFFFF
# Below this size the header and body go out in one write() call.
SMALL_FRAME = 1 << 16
NAN_ERROR_PREFIX = "Out of range float values"
INFINITY = float("inf")

SAFE_FORMAT_NAME = "__n8n_internal_safe_format__"
# The four from §10.6, plus string.Formatter._vformat, which formats a template just as well.
GUARDED_FORMAT_METHODS = frozenset(("format", "format_map", "vformat", "get_field", "_vformat"))
IMPORT_VIOLATION = "Security violation detected"
FORMAT_VIOLATION = "Security violations detected"
FORMAT_DESCRIPTION = (
    "String pattern accessing '{}' is disallowed, because it can be used to bypass security "
    "restrictions."
)
FIELD_ATTRIBUTE = re.compile(r"\.(\w+)")
FIELD_SUBSCRIPT = re.compile(r"\[(['\"]?)(\w+)\1\]")
MAX_CACHED_TEMPLATES = 256

# Modules left in sys.modules whatever the allowlists say (§10.2 step 2). Being loaded does not
# make a module importable: every import from user code is checked against the allowlists.
ALWAYS_LOADED = frozenset((
    "builtins", "__main__", "sys", "traceback", "linecache", "importlib", "importlib.machinery",
))
# Private modules that the implementation of an allowed stdlib module needs. Some are imported
# by C code through the *calling frame's* __import__, which is the user's guarded one when user
# code calls the C function directly: datetime.strptime and time.strptime import _strptime,
# datetime's strftime/astimezone/timestamp import time, and 3.13's Decimal.__format__ imports
# _pydecimal for some specs. Such an import is allowed when it comes through that C-level path
# (see ImportGuard.is_native_helper_import) and the owner is allowed; the user's own
# `import _strptime` is still checked like any other. The rest are imported by the owner's
# Python code (which never meets the guard); listing them keeps them loaded when the owner is
# allowed, so children do not re-import them.
IMPLICIT_HELPERS = {
    "datetime": ("_datetime", "_pydatetime", "_strptime", "time"),
    "time": ("_strptime",),
    "decimal": ("_decimal", "_pydecimal"),
    "json": ("_json",),
    "re": ("_sre", "sre_compile", "sre_parse", "sre_constants"),
    "random": ("_random", "_sha512", "_sha2"),
    "collections": ("_collections", "_collections_abc"),
    "string": ("_string",),
}
# Importer objects the builtins module carries as attributes: __loader__ imports any builtin
# module (posix included) without meeting the guard, so user code never gets them.
IMPORTER_ENTRIES = frozenset(("__loader__", "__spec__"))
MAPPING_METHODS = ("keys", "values", "items", "get")
# This package (n8n_task): it and its modules never stay in sys.modules of a child.
RUNNER_PACKAGE = __package__
# Stacks end in `<module>.<class>: <message>`; a refusal's class keeps the module name it had
# when the child was one module, so the error texts users see stay the same.
STACK_MODULE_NAME = "n8n_child"

ModuleType = type(sys)
FunctionType = type(lambda: None)
# Captured at load time in the forkserver, before any child replaces the importlib ones.
ORIGINAL_IMPORT = builtins.__import__
ORIGINAL_IMPORTLIB_IMPORT = importlib.__import__
ORIGINAL_IMPORT_MODULE = importlib.import_module

# Set by prepare(): what a MemoryError means under the runner's memory limit.
_memory_limit_message = None

# Filled in by prepare() inside the forkserver, so children inherit it instead of rebuilding it.
_prepared = None


# ---------------------------------------------------------------------------------------------
# Set-up done once in the forkserver


def prepare(config):
    """Does the per-configuration work once, before the forkserver starts forking."""
    global _prepared, _memory_limit_message
    _prepared = Prepared(config)
    _memory_limit_message = (config.get("limits") or {}).get("memory_message")
    preload_helpers(_prepared.policy)
    if config.get("block_env"):
        # Cleared here too, so each child's own clear (kept as the guarantee) has nothing to do.
        os.environ.clear()
    warm_up(_prepared)
    _prepared.settle_modules()


class Prepared:
    """Everything about the guards that depends only on the configuration."""

    def __init__(self, config):
        self.policy = ImportPolicy(
            string_list(config, "stdlib_allow"),
            string_list(config, "external_allow"),
            config.get("allow_transitive_imports") is True,
        )
        blocked = (string_list(config, "blocked_names", required=True)
                   + string_list(config, "blocked_attributes", required=True))
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
        self.module_refs = ()

    def settle_modules(self):
        """Prunes the forkserver's own sys.modules once, so children inherit the result.

        Dropping modules in each child instead would write to a page of every dropped module
        object (copy-on-write faults, ~0.5 ms a task). The forkserver keeps working: its code
        and the modules it uses hold their modules by reference. A module it loads later (its
        own lazy imports) is not in kept_modules, so each child still drops that one. The
        references keep every dropped module alive, so nothing is freed.
        """
        self.kept_modules = self.modules_to_keep()
        self.module_refs = tuple(sys.modules.values())
        prune_modules(self.kept_modules)

    def modules_to_keep(self):
        if self.kept_modules is not None:
            return self.kept_modules
        return frozenset(
            name for name in sys.modules
            if name in ALWAYS_LOADED or self.policy.keeps_loaded(name)
        )


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


def run_task(task_fd, result_fd, config):
    """Reads one task from task_fd, runs it and writes exactly one result frame to result_fd."""
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
        reply, context = execute(task, prepared, captured)
    write_frame(result_fd, encode_reply(reply, context))


def read_all(fd):
    # FileIO.readall grows its buffer geometrically, which matters for multi-megabyte item lists.
    with io.FileIO(fd, "r", closefd=True) as pipe:
        return pipe.readall()


def install_process_guards(prepared):
    """The per-child part of the guards: state of the process, not of the configuration."""
    importlib.import_module = prepared.import_module_guard
    importlib.__import__ = prepared.importlib_import_guard
    prune_modules(prepared.modules_to_keep())
    # The forkserver's own namespace is __main__; an empty module keeps the entry that some
    # library code expects without exposing the forkserver's state.
    sys.modules["__main__"] = ModuleType("__main__")


def prune_modules(kept):
    """Drops every module user code may not import from sys.modules (§10.2 step 2).

    This module and everything else the child needs keep working: they hold their modules
    in their own globals, not through sys.modules.
    """
    modules = sys.modules
    for name in modules.keys() - kept:
        del modules[name]


# ---------------------------------------------------------------------------------------------
# Running user code


def execute(task, prepared, captured):
    """Runs a task. Returns the reply dict (not yet serialised) and the context needed to
    describe a failure that only shows up when the result is serialised."""
    recorder = PrintRecorder()
    per_item = task.get("nodeMode") == PER_ITEM_MODE
    filename = PER_ITEM_FILENAME if per_item else ALL_ITEMS_FILENAME
    code = task.get("code")
    if code is None:
        code = ""
    context = (filename, code, captured)
    compiled, error = compile_task(code, filename, context, guard_formats=True)
    if error is not None:
        return error_reply(error, recorder.entries()), context

    scope = {
        "__builtins__": prepared.builtins,
        "print": seal(recorder.record, "<built-in function print>"),
        SAFE_FORMAT_NAME: prepared.format_guard,
    }
    try:
        if per_item:
            result = run_per_item(compiled, task.get("items"), scope)
        else:
            result = run_all_items(compiled, task, scope)
    except SystemExit as exc:
        return error_reply(exit_error(exc, context), recorder.entries()), context
    except BaseException as exc:
        return error_reply(runtime_error(exc, context), recorder.entries()), context
    reply = {"status": "ok", "result": result, "print_args": recorder.entries()}
    return reply, context


def validate(task, captured):
    """A validate-only request: parse and compile the wrapped code, run nothing."""
    code = task.get("code")
    if code is None:
        code = ""
    context = (ALL_ITEMS_FILENAME, code, captured)
    _, error = compile_task(code, ALL_ITEMS_FILENAME, context, guard_formats=False)
    if error is not None:
        return error_reply(error, []), context
    return {"status": "ok", "result": None, "print_args": []}, context


def compile_task(code, filename, context, guard_formats):
    """Returns (compiled wrapper, None), or (None, the error dict saying why it failed)."""
    try:
        return compile_user_code(code, filename, guard_formats), None
    except SyntaxError as exc:
        return None, syntax_error(exc, code, context[2])
    except ValueError as exc:
        # 3.10 reports NUL bytes in source as ValueError; 3.11+ as a SyntaxError without a line.
        if "null bytes" in str(exc):
            return None, syntax_error(SyntaxError(str(exc)), code, context[2])
        return None, runtime_error(exc, context)
    except BaseException as exc:
        return None, runtime_error(exc, context)


def run_all_items(compiled, task, base_scope):
    scope = dict(base_scope)
    scope["_items"] = task.get("items")
    scope["_query"] = task.get("query")
    exec(compiled, scope)
    return scope.get(OUTPUT_NAME)


def run_per_item(compiled, items, base_scope):
    results = []
    for index, item in enumerate(items or ()):
        # A fresh dict per item: nothing the code stores carries over to the next item.
        scope = dict(base_scope)
        scope["_item"] = item
        exec(compiled, scope)
        value = scope.get(OUTPUT_NAME)
        if value is not None:
            results.append(paired_entry(index, value))
    return results


def paired_entry(index, value):
    """One per-item output entry: json, pairedItem, then binary when the code returned one."""
    paired = {"item": index}
    if not isinstance(value, dict):
        return {"json": value, "pairedItem": paired}
    if "json" in value:
        entry = {"json": value["json"], "pairedItem": paired}
        if "binary" in value:
            entry["binary"] = value["binary"]
        return entry
    if "binary" in value:
        rest = {key: item for key, item in value.items() if key != "binary"}
        return {"json": rest, "pairedItem": paired, "binary": value["binary"]}
    return {"json": value, "pairedItem": paired}


# ---------------------------------------------------------------------------------------------
# Wrapping the user's code


def compile_user_code(code, filename, guard_formats=True):
    """Parses the user's code and puts it inside a function at the AST level.

    Working on the tree (not on re-indented text) keeps multi-line string literals intact and
    every user statement on its own line number, so tracebacks point at the user's lines.
    """
    user_module = ast.parse(code, filename=PARSE_FILENAME)
    if guard_formats:
        FormatCallRewriter().visit(user_module)
    futures, body = split_future_imports(user_module.body)
    module = ast.Module(body=futures + wrapper_statements(body), type_ignores=[])
    return compile(module, filename, "exec", dont_inherit=True)


def wrapper_statements(body):
    """`def _user_function(): <body>` and `__n8n_internal_user_output__ = _user_function()`.

    Built node by node, which is cheaper in a fresh child than parsing a template. The
    wrapper's own nodes sit on line 1; they never show in a user-facing traceback.
    """
    arguments = ast.arguments(
        posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
        defaults=[],
    )
    function = at_line_one(ast.FunctionDef(
        name=WRAPPER_NAME, args=arguments, body=body or [at_line_one(ast.Pass())],
        decorator_list=[], returns=None, type_comment=None, **TYPE_PARAMS,
    ))
    call = at_line_one(ast.Call(
        func=at_line_one(ast.Name(id=WRAPPER_NAME, ctx=ast.Load())), args=[], keywords=[],
    ))
    target = at_line_one(ast.Name(id=OUTPUT_NAME, ctx=ast.Store()))
    assignment = at_line_one(ast.Assign(targets=[target], value=call, type_comment=None))
    return [function, assignment]


def at_line_one(node):
    node.lineno = node.end_lineno = 1
    node.col_offset = node.end_col_offset = 0
    return node


def split_future_imports(statements):
    """Splits off the leading `from __future__ import` statements, which must stay at module
    level to take effect. A leading docstring may precede them, as in a real module."""
    start = 0
    if statements and is_docstring(statements[0]):
        start = 1
    end = start
    while end < len(statements) and is_future_import(statements[end]):
        end += 1
    return statements[start:end], statements[:start] + statements[end:]


def is_docstring(node):
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def is_future_import(node):
    return isinstance(node, ast.ImportFrom) and node.module == "__future__"


class FormatCallRewriter(ast.NodeTransformer):
    """Turns `<receiver>.<format method>(args)` into
    `__n8n_internal_safe_format__('<method>', <receiver>, args)` (§10.6).

    The new nodes take the positions of the ones they replace, so line numbers (and 3.11+
    caret ranges) in tracebacks stay the user's. The rewritten calls find the guard by name,
    so code that binds that name anywhere (which would put its own function in the guard's
    place) is refused here, whatever the static check did.
    """

    def visit_Call(self, node):
        self.generic_visit(node)
        callee = node.func
        if not isinstance(callee, ast.Attribute) or callee.attr not in GUARDED_FORMAT_METHODS:
            return node
        guard = ast.copy_location(ast.Name(id=SAFE_FORMAT_NAME, ctx=ast.Load()), callee)
        method = ast.copy_location(ast.Constant(value=callee.attr, kind=None), callee)
        call = ast.Call(func=guard, args=[method, callee.value, *node.args],
                        keywords=node.keywords)
        return ast.copy_location(call, node)

    def visit_Name(self, node):
        if not isinstance(node.ctx, ast.Load):
            refuse_guard_binding(node.id, node)
        return node

    def visit_arg(self, node):
        refuse_guard_binding(node.arg, node)
        return self.generic_visit(node)

    def visit_alias(self, node):
        refuse_guard_binding(node.asname or node.name.partition(".")[0], node)
        return node

    def visit_FunctionDef(self, node):
        refuse_guard_binding(node.name, node)
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_ExceptHandler(self, node):
        refuse_guard_binding(node.name, node)
        return self.generic_visit(node)

    def visit_Global(self, node):
        for name in node.names:
            refuse_guard_binding(name, node)
        return node

    visit_Nonlocal = visit_Global

    def visit_MatchAs(self, node):
        refuse_guard_binding(node.name, node)
        return self.generic_visit(node)

    visit_MatchStar = visit_MatchAs

    def visit_MatchMapping(self, node):
        refuse_guard_binding(node.rest, node)
        return self.generic_visit(node)


def refuse_guard_binding(name, node):
    if name == SAFE_FORMAT_NAME:
        raise security_violation(FORMAT_VIOLATION, (
            f"Line {node.lineno}: Access to name '{SAFE_FORMAT_NAME}' is disallowed, because "
            "it can be used to bypass security restrictions."
        ))


# ---------------------------------------------------------------------------------------------
# Sealed callables
#
# User code reaches `print`, `__import__`, the importlib entry points and the format guard as
# instances of one class that shows nothing: every attribute read raises the AttributeError a
# builtin function would give for a missing attribute, writes and deletes are refused, and
# repr() gives a builtin's text. Calling one forwards to a child-side callable looked up in
# _sealed_targets; the sealed object holds no reference to it.
#
# The class's methods (the sandbox_* functions below) are re-created against a namespace of
# their own (see build_sandbox): their __globals__ hold only each other and the registries,
# and their builtins only the exception classes they raise or catch; no eval, open, getattr,
# __import__, module or config. Reaching a child-side callable therefore takes two attributes
# on the static BLOCKED_ATTRIBUTES list (the object's __class__, then a method's __globals__),
# and this module a third (the callable's __self__ or __func__), or else gc/inspect.
#
# Exceptions leave a sealed call with their traceback, __context__ and __cause__ cleared and
# re-raised from sandbox_call itself, so no frame of this module (whose f_globals would give
# everything away) is reachable from what user code catches. The one frame left is
# sandbox_call's, whose locals are the call's arguments and the exception.


_sealed_targets = {}
_sealed_texts = {}
_mapping_methods = {}


def sandbox_call(self, *args, **kwargs):
    try:
        return _sealed_targets[self](*args, **kwargs)
    except BaseException as error:
        failure = error
    # Inline rather than a helper: a call here could itself fail (recursion limit) and leave
    # `failure`, traceback and all, in this frame's locals.
    failure.__traceback__ = None
    failure.__context__ = None
    failure.__cause__ = None
    raise failure


def sandbox_repr(self):
    return _sealed_texts[self]


def sandbox_no_attribute(self, name, *value):
    raise AttributeError(f"'builtin_function_or_method' object has no attribute '{name}'")


def sandbox_no_pickle(self, *args):
    raise TypeError("cannot pickle 'builtin_function_or_method' object")


def sandbox_mapping_attribute(self, name):
    method = _mapping_methods[self].get(name)
    if method is not None:
        return method
    if name in self:
        return self[name]
    raise AttributeError(f"module 'builtins' has no attribute '{name}'")


def sandbox_mapping_no_attribute_change(self, name, *value):
    raise AttributeError(f"the builtins mapping is read-only: cannot change '{name}'")


def sandbox_mapping_no_item_change(self, key, *value):
    raise TypeError("the builtins mapping is read-only")


def sandbox_mapping_repr(self):
    return "<module 'builtins' (built-in)>"


def sandbox_mapping_dir(self):
    return [*self]


def sandbox_mapping_no_pickle(self, *args):
    raise TypeError("cannot pickle 'module' object")


SANDBOX_FUNCTIONS = (
    sandbox_call, sandbox_repr, sandbox_no_attribute, sandbox_no_pickle,
    sandbox_mapping_attribute, sandbox_mapping_no_attribute_change,
    sandbox_mapping_no_item_change, sandbox_mapping_repr, sandbox_mapping_dir,
    sandbox_mapping_no_pickle,
)


def build_sandbox():
    """The namespace the sandbox_* functions run in, holding re-created copies of them."""
    namespace = {
        "__name__": "builtins",
        # Functions read their builtins from here when created; only what they raise/catch.
        "__builtins__": {
            "AttributeError": AttributeError,
            "BaseException": BaseException,
            "TypeError": TypeError,
        },
        "_sealed_targets": _sealed_targets,
        "_sealed_texts": _sealed_texts,
        "_mapping_methods": _mapping_methods,
    }
    for function in SANDBOX_FUNCTIONS:
        namespace[function.__name__] = FunctionType(function.__code__, namespace,
                                                    function.__name__)
    return namespace


_SANDBOX = build_sandbox()


def make_sealed_type():
    sandbox = _SANDBOX
    body = {
        "__slots__": (),
        "__module__": "builtins",
        "__doc__": None,
        "__call__": sandbox["sandbox_call"],
        "__repr__": sandbox["sandbox_repr"],
        "__getattribute__": sandbox["sandbox_no_attribute"],
        "__setattr__": sandbox["sandbox_no_attribute"],
        "__delattr__": sandbox["sandbox_no_attribute"],
        "__reduce__": sandbox["sandbox_no_pickle"],
        "__reduce_ex__": sandbox["sandbox_no_pickle"],
    }
    return type("builtin_function_or_method", (), body)


SealedCallable = make_sealed_type()


def seal(target, text):
    """A sealed callable forwarding to target; repr() gives text."""
    sealed = SealedCallable()
    _sealed_targets[sealed] = target
    _sealed_texts[sealed] = text
    return sealed


# ---------------------------------------------------------------------------------------------
# The builtins user code sees


def make_builtins(denied, import_guard):
    """The interpreter's builtins minus the deny list, with the guarded __import__ (§10.5)."""
    names = {
        name: value
        for name, value in vars(builtins).items()
        if name not in denied and name not in IMPORTER_ENTRIES
    }
    names["__import__"] = import_guard
    return read_only_builtins(names)


def read_only_builtins(names):
    """A read-only mapping over names, usable as a globals dict's __builtins__.

    It is a module (of a sealed subclass), not a dict: CPython 3.10-3.12 only accept a dict
    as a frame's builtins for `import` statements, and takes a module's __dict__ for that.
    User code gets the module, whose class answers item access, `in`, len(), iteration,
    keys/values/items/get and attribute access for the names, and refuses every change; the
    frames get the plain dict behind it, which also keeps builtin lookups on the fast path.
    """
    mapping_type = type("module", (ModuleType,), {"__slots__": (), "__module__": "builtins"})
    mapping = mapping_type("builtins")
    storage = vars(mapping)
    storage.clear()
    storage.update(names)
    # Bound methods of the dict as class attributes: CPython calls them without a self, so
    # lookups stay in C.
    for slot in ("__getitem__", "__contains__", "__iter__", "__len__"):
        setattr(mapping_type, slot, getattr(storage, slot))
    _mapping_methods[mapping] = {name: getattr(storage, name) for name in MAPPING_METHODS}
    sandbox = _SANDBOX
    overrides = {
        "__getattribute__": "sandbox_mapping_attribute",
        "__setattr__": "sandbox_mapping_no_attribute_change",
        "__delattr__": "sandbox_mapping_no_attribute_change",
        "__setitem__": "sandbox_mapping_no_item_change",
        "__delitem__": "sandbox_mapping_no_item_change",
        "__repr__": "sandbox_mapping_repr",
        "__dir__": "sandbox_mapping_dir",
        "__reduce__": "sandbox_mapping_no_pickle",
        "__reduce_ex__": "sandbox_mapping_no_pickle",
    }
    for slot, function in overrides.items():
        setattr(mapping_type, slot, sandbox[function])
    return mapping


# ---------------------------------------------------------------------------------------------
# Import allowlists


class SecurityViolationError(Exception):
    """A guard's refusal; reported with kind "security". No methods of its own, so nothing
    of this module hangs off an instance user code may catch."""

    __module__ = STACK_MODULE_NAME


class ImportRefusedError(SecurityViolationError, ImportError):
    """The import guard's refusal. Also an ImportError, so that a library's own fallback
    (`except ImportError:`, as zoneinfo has for tzdata) works as it would without the guard."""

    __module__ = STACK_MODULE_NAME


def security_violation(message, description, kind=SecurityViolationError):
    error = kind(message)
    error.description = description
    return error


def is_stdlib(name):
    return name.partition(".")[0] in sys.stdlib_module_names


def is_runner_module(name):
    return name == RUNNER_PACKAGE or name.startswith(RUNNER_PACKAGE + ".")


class Allowlist:
    """One category's entries (stdlib or external). An entry allows that module and every
    module below it; a dotted entry (`os.path`) does not allow its parents."""

    def __init__(self, entries):
        self.entries = tuple(sorted(set(entries)))
        self.everything = "*" in self.entries
        self.exact = frozenset(self.entries)
        self.prefixes = tuple(entry + "." for entry in self.entries)
        self.text = ", ".join(self.entries) if self.entries else "none"

    def allows(self, name):
        return self.everything or name in self.exact or name.startswith(self.prefixes)


class ImportPolicy:
    """The allowlists (§9.1) as the runtime guards apply them."""

    def __init__(self, stdlib_allow, external_allow, allow_transitive):
        self.stdlib = Allowlist(stdlib_allow)
        self.external = Allowlist(external_allow)
        self.allow_transitive = allow_transitive
        self.helpers = frozenset(
            helper
            for owner, helpers in IMPLICIT_HELPERS.items()
            if self.allows(owner)
            for helper in helpers
        )

    def allows(self, name):
        allowlist = self.stdlib if is_stdlib(name) else self.external
        return allowlist.allows(name)

    def refusal(self, name):
        """The allowlist message for name, or None when it may be imported."""
        if self.allows(name):
            return None
        if is_stdlib(name):
            return (f"Import of standard library module '{name}' is disallowed. "
                    f"Allowed stdlib modules: {self.stdlib.text}")
        return (f"Import of external package '{name}' is disallowed. "
                f"Allowed external packages: {self.external.text}")

    def check(self, target, fromlist=()):
        """Raises the refusal for importing target (with `from target import fromlist`).

        `from pkg import a, b` is also fine when pkg itself is not allowed but pkg.a and
        pkg.b are: the names are all the user gets (see ImportGuard.visible_part).
        """
        refusal = self.refusal(target)
        if refusal is None:
            return
        if fromlist and "*" not in fromlist and all(
            self.allows(f"{target}.{name}") for name in fromlist
        ):
            return
        raise security_violation(IMPORT_VIOLATION, refusal, ImportRefusedError)

    def keeps_loaded(self, name):
        """Whether a loaded module stays in sys.modules in a child (§10.2 step 2)."""
        if is_runner_module(name):
            return False  # their globals are everything the guards protect
        return self.allows(name) or name in self.helpers


# ---------------------------------------------------------------------------------------------
# Import guard


class ImportGuard:
    """The checked import entry points (§10.5): the __import__ in the user's builtins and the
    process-wide importlib.__import__ and importlib.import_module.

    A request is reduced to plain values, the absolute name it imports is checked, and the
    original entry point is then called with exactly those plain values, so nothing user code
    controls (str subclasses, __spec__ objects) can make it import something else.
    """

    def __init__(self, policy):
        self.policy = policy

    def builtin_import(self, name, globals=None, locals=None, fromlist=(), level=0):
        # Always checked: only user code (and C code it calls) has these builtins.
        caller = calling_frame()
        if self.is_native_helper_import(caller, name, globals, locals, fromlist, level):
            return ORIGINAL_IMPORT(name, globals, locals, fromlist, level)
        return self.checked_import(ORIGINAL_IMPORT, name, globals, fromlist, level)

    def importlib_import(self, name, globals=None, locals=None, fromlist=(), level=0):
        if self.trusts(calling_frame()):
            return ORIGINAL_IMPORTLIB_IMPORT(name, globals, locals, fromlist, level)
        return self.checked_import(ORIGINAL_IMPORTLIB_IMPORT, name, globals, fromlist, level)

    def import_module(self, name, package=None):
        if self.trusts(calling_frame()):
            return ORIGINAL_IMPORT_MODULE(name, package)
        name = plain_str(name, "module name")
        level = len(name) - len(name.lstrip("."))
        if not level:
            self.policy.check(name)
            return ORIGINAL_IMPORT_MODULE(name)
        anchor = plain_str(package, "package") if isinstance(package, str) and package else None
        base, _ = relative_base(anchor, level)
        rest = name[level:]
        target = name if base is None else (f"{base}.{rest}" if rest else base)
        self.policy.check(target)
        if base is None:
            # Unresolvable yet allowed (external "*"): let importlib raise its own error.
            return ORIGINAL_IMPORT_MODULE(name, anchor)
        return ORIGINAL_IMPORT_MODULE(target)

    def trusts(self, caller):
        """Whether an importlib call skips the allowlists: only with transitive imports on,
        and only when the immediate caller is library code, not the user's (§17)."""
        return (
            self.policy.allow_transitive
            and caller is not None
            and caller.f_code.co_filename not in USER_FILENAMES
        )

    def is_native_helper_import(self, caller, name, importer_globals, locals, fromlist, level):
        """Whether this is C code importing an implicit helper of an allowed module.

        PyImport_Import (used by C code such as datetime.strptime) calls the calling frame's
        __import__ as (name, frame globals, frame globals, [], 0). An import statement passes
        None or a tuple as fromlist, and an explicit call cannot pass the frame's own globals
        dict, which user code has no way to reach.
        """
        return (
            type(name) is str
            and name in self.policy.helpers
            and type(level) is int
            and level == 0
            and type(fromlist) is list
            and not fromlist
            and caller is not None
            and importer_globals is caller.f_globals
            and locals is importer_globals
        )

    def checked_import(self, original, name, importer_globals, fromlist, level):
        request = ImportRequest(name, importer_globals, fromlist, level)
        self.policy.check(request.target, request.fromlist)
        if request.problem is not None:
            # A relative import without a usable anchor that the allowlist still let through
            # (external "*"): fail as CPython would, rather than let it guess an anchor.
            raise ImportError(request.problem)
        module = original(request.name, request.importer_globals(), None, request.fromlist,
                          request.level)
        return self.visible_part(module, request)

    def visible_part(self, module, request):
        return module_view(self.policy, self.visible_module(module, request))

    def visible_module(self, module, request):
        """What the import hands back, cut down to what the allowlist allows.

        `import os.path` returns `os` and `from os import path` returns `os` as well; with
        only `os.path` allowed, user code gets a stand-in module carrying just the allowed
        part instead of the real `os`.
        """
        returned = request.returned_name()
        if self.policy.allows(returned):
            return module
        if request.fromlist:
            return partial_module(module, returned, request.fromlist)
        return module_path_stub(module, returned, request.target, self.policy)


# View -> the real module behind it. Kept here, not on the view, so user code cannot reach it.
_VIEWED = {}


def module_view(policy, module):
    """The module as user code sees it: every attribute of the real module, except other
    modules the allowlists do not allow. Without this, an allowed module opens the way to any
    module it imported itself (`json.codecs.builtins.open`, `random._os`)."""
    if type(module) is not ModuleType:
        return module
    view = _ModuleView(module.__name__)
    _VIEWED[id(view)] = (view, module, policy)
    return view


def _view_attribute(view, name):
    _, module, policy = _VIEWED[id(view)]
    value = getattr(module, name)
    if type(value) is not ModuleType:
        return value
    # A submodule counts under the dotted name it is registered as (`os.path` is `posixpath`).
    as_submodule = f"{module.__name__}.{name}"
    if sys.modules.get(as_submodule) is value and policy.allows(as_submodule):
        return module_view(policy, value)
    if policy.allows(value.__name__):
        return module_view(policy, value)
    raise security_violation(
        "Security violation detected",
        policy.refusal(value.__name__)
        or f"Access to module '{value.__name__}' through '{module.__name__}' is disallowed.",
    ) from None


_ModuleView = type(
    "module",
    (ModuleType,),
    {"__getattr__": _view_attribute, "__module__": "builtins"},
)


def calling_frame():
    """The frame that called the sealed guard, or None for a call from a bare C thread.

    Frames: this function, the guard's method, sandbox_call, then the caller.
    """
    try:
        return sys._getframe(3)
    except ValueError:
        return None


class ImportRequest:
    """An __import__ call reduced to plain values, with the absolute name it imports."""

    __slots__ = ("name", "level", "fromlist", "anchor", "target", "problem")

    def __init__(self, name, importer_globals, fromlist, level):
        self.name = plain_str(name, "module name")
        self.level = plain_level(level)
        self.fromlist = plain_fromlist(fromlist)
        self.anchor = None
        self.problem = None
        self.target = self.name
        if self.level:
            self.resolve(package_of(importer_globals))

    def resolve(self, package):
        base, self.problem = relative_base(package, self.level)
        if base is None:
            # Checked as written: its top-level name is "", which counts as external.
            self.target = "." * self.level + self.name
            return
        self.anchor = package
        self.target = f"{base}.{self.name}" if self.name else base

    def importer_globals(self):
        # The only thing __import__ reads from globals is the anchor of a relative import.
        return {"__package__": self.anchor} if self.level else None

    def returned_name(self):
        """The module __import__ returns: the target itself with a fromlist, else the first
        component of the name as written (relative to the anchor)."""
        if self.fromlist or (self.level and not self.name):
            return self.target
        first = self.name.partition(".")[0]
        if not self.level:
            return first
        return self.target[: len(self.target) - len(self.name) + len(first)]


def plain_str(value, what):
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    # A plain copy: a str subclass's own methods never run inside the import machinery.
    return str.__str__(value)


def plain_level(level):
    if not isinstance(level, int):
        raise TypeError(f"level must be an integer, not {type(level).__name__}")
    level = int.__int__(level)
    if level < 0:
        raise ValueError("level must be >= 0")
    return level


def plain_fromlist(fromlist):
    if fromlist is None:
        return ()
    names = []
    for item in fromlist:
        if not isinstance(item, str):
            raise TypeError(f"Item in ``from list`` must be str, not {type(item).__name__}")
        names.append(str.__str__(item))
    return tuple(names)


def package_of(importer_globals):
    """The relative-import anchor: globals['__package__'] when it is a non-empty str.

    CPython would fall back to __spec__.parent or __name__; those are left out on purpose,
    so an anchor is never read from an object user code could have made up.
    """
    if type(importer_globals) is not dict:
        return None
    package = importer_globals.get("__package__")
    if isinstance(package, str) and package:
        return str.__str__(package)
    return None


def relative_base(package, level):
    """(base package, None) for a relative import `level` dots up from package, or
    (None, CPython's message) when it cannot be resolved."""
    if package is None:
        return None, "attempted relative import with no known parent package"
    bits = package.rsplit(".", level - 1)
    if len(bits) < level:
        return None, "attempted relative import beyond top-level package"
    return bits[0], None


def partial_module(module, name, fromlist):
    """A stand-in for module carrying only the names imported from it."""
    stand_in = ModuleType(name)
    for attribute in fromlist:
        try:
            value = getattr(module, attribute)
        except AttributeError:
            continue  # the import statement reports the missing name itself
        setattr(stand_in, attribute, value)
    return stand_in


def module_path_stub(top, returned, target, policy):
    """Stand-ins for the refused packages on the way from `returned` down to the allowed
    target; the first allowed module on that path is the real one."""
    stub = ModuleType(returned)
    outer, real, path = stub, top, returned
    for part in target[len(returned) + 1:].split("."):
        path = f"{path}.{part}"
        real = getattr(real, part, None) or sys.modules.get(path)
        if policy.allows(path):
            setattr(outer, part, real)
            break
        inner = ModuleType(path)
        setattr(outer, part, inner)
        outer = inner
    return stub


# ---------------------------------------------------------------------------------------------
# Format-string guard


class FormatGuard:
    """The callable behind __n8n_internal_safe_format__ (§10.6): finds the template a format
    call will use, refuses it when it reaches a blocked name, else makes the original call."""

    def __init__(self, scanner):
        self.scanner = scanner

    def call(self, method, receiver, /, *args, **kwargs):
        if type(method) is not str or method not in GUARDED_FORMAT_METHODS:
            # Only the rewrite calls this, always with one of the method names; anything
            # else would make the guard a getattr-and-call primitive.
            raise TypeError("invalid format call")
        subject, bound, arguments = format_call_plan(method, receiver, args, kwargs)
        if isinstance(subject, str):
            self.scanner.check(subject, field_only=method == "get_field")
        return bound(*arguments, **kwargs)


def format_call_plan(method, receiver, args, kwargs):
    """(the text to scan, the callable to call, its positional arguments).

    The text is a template, or for get_field a field expression; None when there is none.
    Where the original would read the template again at call time (UserString.data), the
    plan calls the method on the snapshot that was scanned instead.
    """
    if isinstance(receiver, str):
        return receiver, getattr(receiver, method), args
    if is_user_string_class(type(receiver)):
        return user_string_plan(method, receiver, type(receiver), args, unbound=False)
    if isinstance(receiver, type):
        return unbound_plan(method, receiver, args, kwargs)
    # string.Formatter and unrelated objects with a method of that name.
    return subject_argument(args, 0, kwargs), getattr(receiver, method), args


def unbound_plan(method, cls, args, kwargs):
    """`str.format(tpl, ...)`, `UserString.format(inst, ...)`, `Formatter.format(f, tpl, ...)`."""
    if issubclass(cls, str):
        return subject_argument(args, 0, kwargs), getattr(cls, method), args
    if is_user_string_class(cls) and args and is_user_string_class(type(args[0])):
        return user_string_plan(method, args[0], cls, args[1:], unbound=True)
    return subject_argument(args, 1, kwargs), getattr(cls, method), args


def user_string_plan(method, instance, cls, rest, unbound):
    """A UserString's template is its .data; rest are the arguments after the instance."""
    data = instance.data
    if uses_stock_user_string_method(cls, method):
        # What the stock method does, on the data read once.
        return data, getattr(data, method), rest
    if unbound:
        return data, getattr(cls, method), (instance, *rest)
    return data, getattr(instance, method), rest


def subject_argument(args, index, kwargs):
    if len(args) > index:
        return args[index]
    return kwargs.get("format_string", kwargs.get("field_name"))


def is_user_string_class(cls):
    # By name: a UserString class of a collections module imported again after pruning is
    # still one.
    return any(is_user_string_itself(klass) for klass in cls.__mro__)


def is_user_string_itself(klass):
    return klass.__name__ == "UserString" and klass.__module__ == "collections"


def uses_stock_user_string_method(cls, method):
    for klass in cls.__mro__:
        if method in vars(klass):
            return is_user_string_itself(klass)
    return False


class TemplateScanner:
    """The §9.2 template scanner: a field name reaching `.X`, `[X]`, `['X']` or `["X"]` with X
    blocked; nested format specs are scanned too; unparsable templates are ignored (formatting
    them fails anyway)."""

    def __init__(self, blocked):
        self.blocked = frozenset(blocked)
        # Templates are usually formatted again and again; remember recent verdicts.
        self.verdicts = {}

    def check(self, text, field_only):
        text = str.__str__(text)
        hit = self.first_in_field(text) if field_only else self.first_in_template(text)
        if hit is not None:
            raise security_violation(FORMAT_VIOLATION, FORMAT_DESCRIPTION.format(hit))

    def first_in_template(self, template):
        verdict = self.verdicts.get(template, self)
        if verdict is self:
            verdict = self.scan_template(template)
            if len(self.verdicts) >= MAX_CACHED_TEMPLATES:
                self.verdicts.clear()
            self.verdicts[template] = verdict
        return verdict

    def scan_template(self, template):
        # Depth first in text order with an explicit stack: specs can nest deeper than the
        # recursion limit.
        stack = [fields_of(template)]
        while stack:
            entry = next(stack[-1], None)
            if entry is None:
                stack.pop()
                continue
            field, spec = entry
            hit = self.first_in_field(field) if field else None
            if hit is not None:
                return hit
            if spec:
                stack.append(fields_of(spec))
        return None

    def first_in_field(self, field):
        for match in FIELD_ATTRIBUTE.finditer(field):
            if match.group(1) in self.blocked:
                return match.group(1)
        for match in FIELD_SUBSCRIPT.finditer(field):
            if match.group(2) in self.blocked:
                return match.group(2)
        return None


def fields_of(template):
    """An iterator over (field name, format spec) of template's fields; empty if unparsable."""
    try:
        parts = list(_string.formatter_parser(template))
    except ValueError:
        return iter(())
    return iter([(field, spec) for _literal, field, spec, _conversion in parts])


# ---------------------------------------------------------------------------------------------
# print() capture


class PrintRecorder:
    """Records each print() call of user code as a list of pre-formatted strings. User code
    gets a sealed callable forwarding to `record`."""

    __slots__ = ("_entries", "_dropped")

    def __init__(self):
        self._entries = []
        self._dropped = 0

    def record(self, *args, **kwargs):
        sep = check_print_kwargs(kwargs)
        if len(self._entries) >= MAX_PRINT_ENTRIES:
            self._dropped += 1
            return None
        formatted = [format_print_arg(arg) for arg in args]
        if formatted and sep is not None and sep != " ":
            formatted = [sep.join(formatted)]
        self._entries.append(formatted)
        return None

    def entries(self):
        if not self._dropped:
            return list(self._entries)
        notice = f"[Output truncated - {self._dropped} more print statements]"
        return self._entries + [[notice]]


def check_print_kwargs(kwargs):
    """Accepts print()'s keywords like the real print does and returns `sep`.

    end, file and flush are accepted and ignored: the output is recorded, not written.
    """
    for name in kwargs:
        if name not in ("sep", "end", "file", "flush"):
            raise TypeError(f"'{name}' is an invalid keyword argument for print()")
    for name in ("sep", "end"):
        value = kwargs.get(name)
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be None or a string, not {type(value).__name__}")
    return kwargs.get("sep")


def format_print_arg(value):
    if isinstance(value, str):
        # join() reads the characters directly, whatever a str subclass overrides.
        return "".join(("'", value, "'"))
    if value is None or isinstance(value, (int, float)):
        return str(value)
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except Exception:
        return f"[Circular {type(value).__name__}]"


# ---------------------------------------------------------------------------------------------
# Error replies


def error_reply(error, prints):
    return {"status": "error", "error": error, "print_args": prints}


def syntax_error(exc, code, captured):
    lineno = exc.lineno
    if "null bytes" in str(exc.msg):
        # CPython gives no location for a NUL byte in the source, and neither does n8n.
        message = exc.msg
    else:
        where = PARSE_FILENAME if lineno is None else f"{PARSE_FILENAME}, line {lineno}"
        message = f"{exc.msg} ({where})"
    return {
        "message": message,
        "description": "",
        "stack": "",
        "stderr": captured.getvalue(),
        "kind": "syntax",
    }


def runtime_error(exc, context):
    filename, code, captured = context
    stderr_text = captured.getvalue()
    description = own_description(exc) or stderr_text
    message = safe_str(exc)
    if isinstance(exc, MemoryError) and _memory_limit_message:
        # str(MemoryError()) is empty; say which limit was hit and how to raise it.
        message = _memory_limit_message
    return {
        "message": message,
        "description": description,
        "stack": user_stack(exc, filename, code),
        "stderr": stderr_text,
        # Guard refusals happen during execution, so continueOnFail applies as for "runtime".
        "kind": "security" if isinstance(exc, SecurityViolationError) else "runtime",
    }


def exit_error(exc, context):
    filename, code, captured = context
    # No code (exit(), sys.exit(), raise SystemExit) is reported as None, as n8n does.
    status = exc.code
    return {
        "message": f"Process exited with code {safe_str(status)}",
        "description": "",
        "stack": user_stack(exc, filename, code),
        "stderr": captured.getvalue(),
        "kind": "exit",
    }


def own_description(exc):
    try:
        description = getattr(exc, "description", None)
    except BaseException:
        return ""
    if isinstance(description, str) and description:
        return description
    return ""


def safe_str(value):
    try:
        return str(value)
    except BaseException:
        return f"<unprintable {type(value).__name__} object>"


def user_stack(exc, filename, code):
    """The traceback text with only the user's frames; wrapper and runner frames are dropped."""
    try:
        # Registering the source lets the traceback show the user's lines next to the numbers.
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        report = traceback.TracebackException(type(exc), exc, exc.__traceback__, compact=True)
        keep_user_frames(report, filename, set())
        return "".join(report.format())
    except BaseException:
        return f"{type(exc).__name__}: {safe_str(exc)}\n"


def keep_user_frames(report, filename, seen):
    """Keeps the user's frames and, after the last of them, the library frames the error came
    through (their files and lines say where in a library it happened); never the wrapper's nor
    the runner's own frames."""
    if report is None or id(report) in seen:
        return
    seen.add(id(report))
    stack = list(report.stack)
    users = [i for i, frame in enumerate(stack) if is_user_frame(frame, filename)]
    frames = [stack[i] for i in users]
    if users:
        frames += [frame for frame in stack[users[-1] + 1:] if not is_runner_frame(frame)]
    report.stack = traceback.StackSummary.from_list(frames)
    keep_user_frames(report.__cause__, filename, seen)
    keep_user_frames(report.__context__, filename, seen)
    for member in getattr(report, "exceptions", None) or ():
        keep_user_frames(member, filename, seen)


def is_user_frame(frame, filename):
    return frame.filename == filename and frame.name != "<module>"


def is_runner_frame(frame):
    # Every module of this package (<n8n_task.entry>, ...), the forkserver (<n8n_forkserver>)
    # and the sandbox (<n8n_sandbox>) are compiled under names starting <n8n_.
    return frame.filename.startswith("<n8n_") or frame.filename == "<string>"


# ---------------------------------------------------------------------------------------------
# Serialising the reply


def encode_reply(reply, context):
    """Serialises a reply dict into the frame body; a result that cannot be serialised
    (circular, bad keys, too deep) becomes an error reply."""
    try:
        return to_utf8(dump_reply(reply))
    except BaseException as exc:
        failure = error_reply(runtime_error(exc, context), reply["print_args"])
        return to_utf8(dump_json(failure))


def dump_reply(reply):
    try:
        return dump_json(reply)
    except ValueError as exc:
        if "result" not in reply or not str(exc).startswith(NAN_ERROR_PREFIX):
            raise
    reply["result"] = without_non_finite(reply["result"], set())
    return dump_json(reply)


def dump_json(value):
    return json.dumps(
        value, default=str, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )


def without_non_finite(value, active):
    """A copy of value with every NaN/Infinity float replaced by None.

    `active` holds the containers on the current path, so a container that contains itself
    still fails the way json.dumps reports it.
    """
    if isinstance(value, float):
        return None if is_non_finite(value) else value
    if isinstance(value, dict):
        enter(value, active)
        cleaned = {
            without_non_finite(key, active) if isinstance(key, float) else key:
            without_non_finite(item, active)
            for key, item in value.items()
        }
        active.discard(id(value))
        return cleaned
    if isinstance(value, (list, tuple)):
        enter(value, active)
        cleaned = [without_non_finite(item, active) for item in value]
        active.discard(id(value))
        return cleaned
    return value


def enter(container, active):
    if id(container) in active:
        raise ValueError("Circular reference detected")
    active.add(id(container))


def is_non_finite(value):
    # float.__float__ reads the stored double, whatever a float subclass overrides.
    number = float.__float__(value)
    return number != number or number == INFINITY or number == -INFINITY


def to_utf8(text):
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (possible in Python strings, invalid in UTF-8) become U+FFFD; a
        # surrogate pair spelled as two code points becomes the character it encodes.
        repaired = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return repaired.encode("utf-8")


# ---------------------------------------------------------------------------------------------
# The result frame


def write_frame(fd, body):
    """Writes one frame (4-byte big-endian length, then the body) and closes fd."""
    if len(body) > MAX_FRAME_BODY:
        message = f"Result is too large to send ({len(body)} bytes)"
        error = {"message": message, "description": "", "stack": "", "stderr": "",
                 "kind": "runtime"}
        body = to_utf8(dump_json({"status": "error", "error": error, "print_args": []}))
    header = FRAME_HEADER.pack(len(body))
    try:
        if len(body) <= SMALL_FRAME:
            write_all(fd, header + body)
        else:
            # Two writes spare a copy of a possibly huge body.
            write_all(fd, header)
            write_all(fd, body)
    finally:
        os.close(fd)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
