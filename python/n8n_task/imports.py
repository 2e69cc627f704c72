"""The import guard (protocol reference §10.2, §10.5): what user code may import.

Owns the allowlists as the guards apply them, the checked import entry points (the user's
`__import__`, `importlib.import_module`, `importlib.__import__`), the module views that keep an
allowed module from handing out a refused module or a private name, pruning `sys.modules` to
what is allowed, and the stash that hands a pruned module back when it is imported again.
"""

import builtins
import importlib
import importlib.machinery
import sys

from .errors import ImportRefusedError, security_violation
from .filenames import USER_FILENAMES

IMPORT_VIOLATION = "Security violation detected"

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

# This package (n8n_task), the forkserver's own package and its sandbox module: they never stay
# in sys.modules of a child, so no import (external "*" included) finds them.
RUNNER_PACKAGE = __package__
FORKSERVER_PACKAGE = "n8n_forkserver"
SANDBOX_MODULE = "n8n_sandbox"

ModuleType = type(sys)
# Captured at load time in the forkserver, before any child replaces the importlib ones.
ORIGINAL_IMPORT = builtins.__import__
ORIGINAL_IMPORTLIB_IMPORT = importlib.__import__
ORIGINAL_IMPORT_MODULE = importlib.import_module


# ---------------------------------------------------------------------------------------------
# Allowlists


def is_stdlib(name):
    return name.partition(".")[0] in sys.stdlib_module_names


def is_runner_module(name):
    return (name == RUNNER_PACKAGE or name.startswith(RUNNER_PACKAGE + ".")
            or name == FORKSERVER_PACKAGE or name.startswith(FORKSERVER_PACKAGE + ".")
            or name == SANDBOX_MODULE)


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
            loaded = name in sys.modules
            module = ORIGINAL_IMPORT_MODULE(name)
            if not loaded:
                learn(name)
            return module
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
        loaded = request.target in sys.modules
        module = original(request.name, request.importer_globals(), None, request.fromlist,
                          request.level)
        if not loaded:
            learn(request.target)
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


# Modules the user's imports loaded in this task process (not found loaded already). The reply
# carries them to the runner, which has the forkserver import them, so later tasks inherit them.
LOADED_BY_TASK = []


def learn(name):
    if len(LOADED_BY_TASK) < 64 and name not in LOADED_BY_TASK:
        LOADED_BY_TASK.append(name)


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


# Documented API that only looks private.
PUBLIC_PRIVATE = frozenset((("os", "_exit"),))
# Filled in by sinks.install(): (module name, attribute) -> what a view hands out instead, and
# module name -> names a view hides (the patches sinks.py adds to a module's globals).
VIEW_REPLACEMENTS = {}
HIDDEN_NAMES = {}


def _view_attribute(view, name):
    _, module, policy = _VIEWED[id(view)]
    module_name = module.__name__
    # A plain copy: a str subclass's own startswith/__eq__ never decide what is private.
    name = str.__str__(name)
    if is_private(name) and is_stdlib(module_name) and (module_name, name) not in PUBLIC_PRIVATE:
        # `copy._reconstruct`, `uuid._get_command_stdout`, `dataclasses._create_fn`: helpers
        # that take names or source. The module's own code still uses them.
        raise security_violation(IMPORT_VIOLATION, (
            f"Access to private attribute '{name}' of module '{module_name}' is disallowed, "
            "because it can be used to bypass security restrictions."
        ))
    if name in HIDDEN_NAMES.get(module_name, ()):
        raise AttributeError(f"module '{module_name}' has no attribute '{name}'")
    if (module_name, name) in VIEW_REPLACEMENTS:
        return VIEW_REPLACEMENTS[module_name, name]
    return view_value(policy, module_name, name, getattr(module, name))


def view_value(policy, module_name, name, value):
    """What a view of module_name hands out for its public attribute `name`, whose real value
    is `value`: the checked replacement, a view of an allowed module, the value itself; a
    refused module raises. Also used by sinks.py for the globals library code evaluates in."""
    replacement = VIEW_REPLACEMENTS.get((module_name, name))
    if replacement is not None:
        return replacement
    if type(value) is not ModuleType:
        return value
    # A submodule counts under the dotted name it is registered as (`os.path` is `posixpath`).
    as_submodule = f"{module_name}.{name}"
    if sys.modules.get(as_submodule) is value and policy.allows(as_submodule):
        return module_view(policy, value)
    return allowed_module_view(policy, value, module_name)


def allowed_module_view(policy, module, through):
    """The view of a module user code reached through `through`, if the allowlists allow it."""
    if policy.allows(module.__name__):
        return module_view(policy, module)
    raise security_violation(
        "Security violation detected",
        policy.refusal(module.__name__)
        or f"Access to module '{module.__name__}' through '{through}' is disallowed.",
    ) from None


def is_private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


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
# Pruning sys.modules


class ModuleStash:
    """Hands a module dropped from sys.modules back, the very object, when it is imported again.

    Pruning (§10.2 step 2) takes modules out of sys.modules, but library code imports them
    again, and so may an allowed import of user code. Executed a second time, a module is a
    second copy whose classes are not the first copy's (a second `io` leaves `subprocess` with
    `io.TextIOWrapper` None, which breaks `import pandas`), and a copy would lack sinks.py's
    patches. This finder, first on sys.meta_path, answers for every module loaded when the
    forkserver settled: importing one again restores the object, with its loaded submodules
    (`os` with `os.path`). It decides nothing: what user code imports meets the import guard
    before it gets here.
    """

    def __init__(self, modules):
        self._modules = {}
        # id(module) -> its own __spec__, which importlib overwrites on the way back.
        self._specs = {}
        self._loading_step = sys.modules["_frozen_importlib"].module_from_spec.__code__
        self.add(modules)

    def add(self, modules):
        """Keeps what sys.modules holds now (the forkserver may import more later)."""
        for name, module in modules.items():
            # Not only modules: 3.10's typing registers classes as `typing.io` and `typing.re`,
            # which come back with their parent.
            if name == "__main__" or is_runner_module(name) or name in self._modules:
                continue
            self._modules[name] = module
            if type(module) is ModuleType:
                self._specs[id(module)] = getattr(module, "__spec__", None)

    def holds(self, name):
        return name in self._modules

    def find_spec(self, name, path=None, target=None):
        module = self._modules.get(name)
        if type(module) is not ModuleType:
            return None
        return importlib.machinery.ModuleSpec(name, self, is_package=hasattr(module, "__path__"))

    def create_module(self, spec):
        # Only importlib's own loading step gets a module here. Called directly (sys.meta_path
        # is reachable where sys is allowed), the stash would be an import without the guard.
        if sys._getframe(1).f_code is not self._loading_step:
            raise ImportError(f"No module named {spec.name!r}")
        prefix = spec.name + "."
        for name, module in self._modules.items():
            if name.startswith(prefix) and name not in sys.modules:
                sys.modules[name] = module
        return self._modules[spec.name]

    def exec_module(self, module):
        # Executed long ago, in the forkserver; only the spec importlib replaced is put back.
        spec = self._specs.get(id(module))
        if spec is not None:
            module.__spec__ = spec


def install_stash():
    """In the forkserver, before it prunes: every module loaded now can come back unchanged."""
    stash = ModuleStash(dict(sys.modules))
    sys.meta_path.insert(0, stash)
    return stash


def prune_modules(kept):
    """Drops every module user code may not import from sys.modules (§10.2 step 2).

    The runner's modules and everything else the child needs keep working: they hold their modules
    in their own globals, not through sys.modules.
    """
    modules = sys.modules
    for name in modules.keys() - kept:
        del modules[name]
