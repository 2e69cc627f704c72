"""Library sinks: stdlib functions that turn a string into an attribute access or into code.

The wrapper's checks see the user's source; these functions take their names and source as
run-time strings, so they meet the checks here instead, when they run in a task child:
- attribute-by-name helpers (`operator.attrgetter`, `operator.methodcaller`,
  `functools.update_wrapper`, `functools.wraps`) refuse blocked attribute names, and a
  `methodcaller` of a format method goes through the format guard. What they return is sealed
  (scope.seal): the real attrgetter/methodcaller object's class, or the real update_wrapper
  inside wraps' partial, would be the unchecked helper again;
- `typing` compiles string annotations (`ForwardRef`) under the same name checks and the
  format rewrite as the user's code, and `typing`, `inspect` and `dataclasses` evaluate or run
  what they compile with the task's builtins, never the real ones. What typing compiles is
  handed out as an opaque handle, not a code object (which `.replace()` edits and a function
  made from it runs), and only such handles or checked text are evaluated. The globals and
  locals they evaluate in are shown as a module view shows a module: a module's own namespace
  only for a module the allowlists allow, without its private names and the modules the
  allowlists refuse (builtins' namespace is the task's builtins; see visible_namespace);
- `string.Formatter.get_field` refuses a blocked attribute, or a format method, at the moment
  its field walk reaches it, whatever a subclass's `parse` made of the template;
- `enum`'s `_convert_` reads only modules the allowlists allow, and enum reads and writes a
  module's namespace (`_convert_`, `global_enum` export members into it) only for a module
  still being imported (its own code: re, calendar, signal do this) or the task's empty
  `__main__`;
- the setattr of `copy._reconstruct` (behind copy.copy/deepcopy of an object with its own
  `__reduce_ex__`) refuses a blocked attribute name from the slot state;
- reflection hands out nothing attribute syntax may not reach: `inspect.getmembers` (and
  `getmembers_static`) leave out blocked attributes (a function's `__globals__` holds the real
  builtins) and denied builtins, `inspect.getattr_static` checks its name, `inspect.getmodule`
  gives a module view, and the helpers that hand out a frame's or a function's variables or a
  class's bases (`getclosurevars`, `getargvalues`, `getgeneratorlocals`, `getmro`,
  `classify_class_attrs`, ...) are refused; a `functools.singledispatch` registry leaves out its
  entry for the denied `object`, and `typing.get_origin` refuses to hand out a denied builtin.

Names reach these functions as run-time values, possibly of a str subclass whose own methods
(`split`, `__eq__`, `__hash__`) lie: each is copied to a plain str, checked, and the copy is
what the library function gets.

The patches go in once, in the forkserver (`install_sinks`); they act only after `activate_sinks()` in a
task child, so the forkserver's own imports run as they would without them. The module views
(imports.py) hand out the checked helpers and hide the names added to a module here. The module
stash (imports.py) keeps a second, unpatched copy of these modules from being imported.
"""

import ast
import builtins
import collections.abc
import functools
import operator
import string
import sys
import weakref

from .errors import SecurityViolationError, security_violation
from .formats import FORMAT_DESCRIPTION, FORMAT_VIOLATION, GUARDED_FORMAT_METHODS, SAFE_FORMAT_NAME
from .imports import (
    HIDDEN_NAMES, PUBLIC_PRIVATE, VIEW_REPLACEMENTS, ModuleType, allowed_module_view, is_private,
    is_stdlib, module_view, view_value,
)
from .scope import IMPORTER_ENTRIES, opaque_type, seal
from .wrapping import INTROSPECTION_ATTRIBUTES, FormatCallRewriter

RUNTIME_VIOLATION = "Security violation detected"
# What dataclasses' own generated code reads; any other blocked attribute in it was injected.
DATACLASS_ATTRIBUTES = frozenset(("__class__", "__setattr__", "__delattr__", "__qualname__"))
# Module globals added by install(): they shadow the builtins of that name for the module's own
# code, and user code never sees them through a module view.
HIDDEN_MODULE_NAMES = {
    "typing": frozenset(("compile", "eval")),
    "inspect": frozenset(("eval",)),
    "dataclasses": frozenset(("exec",)),
    "copy": frozenset(("setattr",)),
    "enum": frozenset(("sys",)),
}

ORIGINAL_COMPILE = compile
ORIGINAL_EVAL = eval
ORIGINAL_EXEC = exec
CodeType = type(ORIGINAL_COMPILE("0", "<string>", "eval"))
UNCHECKED_CODE_DESCRIPTION = (
    "Running a code object that was not compiled from checked source is disallowed, because "
    "it can be used to bypass security restrictions."
)
# Module globals never copied into a namespace code is evaluated in: the task's builtins take
# __builtins__' place, and the importer objects import without the guard.
NAMESPACE_ENTRIES_LEFT_OUT = IMPORTER_ENTRIES | {"__builtins__"}


class _State:
    """What the patches need in a child, filled in by install() and activate()."""

    active = False
    rules = None
    builtins = None
    format_guard = None
    policy = None
    denied = ()  # the builtins user code is denied (their real objects), for identity checks


_state = _State()


class NameRules:
    """The blocked names and attributes (§9.2) as the run-time checks apply them."""

    def __init__(self, blocked_names, blocked_attributes):
        self.names = frozenset(blocked_names)
        self.attributes = frozenset(blocked_attributes) | INTROSPECTION_ATTRIBUTES

    def check_attribute(self, name, allowed=frozenset()):
        if not isinstance(name, str):
            return  # getattr raises its own TypeError
        name = str.__str__(name)  # the callers pass plain copies on; this one decides
        if name in allowed:
            return
        if name in self.attributes or is_name_mangled(name):
            raise refused_attribute(name)

    def check_tree(self, tree, allowed_attributes=frozenset()):
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                self.check_attribute(node.attr, allowed_attributes)
            elif isinstance(node, ast.Name) and node.id in self.names:
                raise security_violation(RUNTIME_VIOLATION, (
                    f"Access to name '{node.id}' is disallowed, because it can be used to "
                    "bypass security restrictions."
                ))


def plain_name(name):
    """An exact str copy of a name that is a str (of a subclass, perhaps, whose own methods
    lie); anything else as it is, for the library function to raise its own TypeError."""
    return str.__str__(name) if isinstance(name, str) else name


def is_name_mangled(name):
    return name.startswith("_") and not name.startswith("__") and "__" in name[1:]


def refused_attribute(name):
    return security_violation(RUNTIME_VIOLATION, (
        f"Access to attribute '{name}' is disallowed, because it can be used to bypass "
        "security restrictions."
    ))


# ---------------------------------------------------------------------------------------------
# Set-up


def install_sinks(rules, builtins_mapping, format_guard, policy):
    """In the forkserver: patches the sinks of the modules named here, importing them."""
    _state.rules = rules
    _state.builtins = builtins_mapping
    _state.format_guard = format_guard
    _state.policy = policy
    _state.denied = tuple(
        value for name, value in vars(builtins).items()
        if name not in builtins_mapping and name not in IMPORTER_ENTRIES
    ) + (builtins.__import__,)
    import copy
    import dataclasses
    import enum
    import inspect
    import typing

    typing.compile = task_compile
    typing.eval = task_eval
    inspect.eval = task_eval
    dataclasses.exec = dataclass_exec
    HIDDEN_NAMES.update(HIDDEN_MODULE_NAMES)
    for (module, name), helper in HELPER_REPLACEMENTS.items():
        if hasattr(sys.modules[module], name):  # getmembers_static is new in 3.11, and so on
            VIEW_REPLACEMENTS[module, name] = seal(helper, f"<built-in function {name}>")
    string.Formatter.get_field = checked_get_field
    functools.cached_property.__set_name__ = checked_set_name(
        functools.cached_property.__set_name__)
    for owner in (enum.Enum, type(enum.Enum)):
        original = owner.__dict__.get("_convert_")
        if original is not None:
            setattr(owner, "_convert_", checked_convert(original))
    enum.sys = EnumSys()
    # Patched in the module itself: singledispatchmethod makes its dispatcher with it too.
    functools.singledispatch = checked_singledispatch(functools.singledispatch)
    copy.setattr = copy_setattr
    # Copied as the code object a handle stands for would be: as itself.
    copy._copy_dispatch[CodeHandle] = copy._copy_immutable
    copy._deepcopy_dispatch[CodeHandle] = copy._deepcopy_atomic


def activate_sinks():
    """In a task child, before user code runs: from now on the patches check."""
    _state.active = True


# ---------------------------------------------------------------------------------------------
# Attribute-by-name helpers: what the module views of operator and functools hand out


def attrgetter(attr, /, *attrs):
    names = tuple(plain_name(dotted) for dotted in (attr, *attrs))
    for dotted in names:
        if isinstance(dotted, str):
            for name in dotted.split("."):
                check_helper_name(name)
    getter = operator.attrgetter(*names)
    return seal(getter, f"operator.attrgetter({', '.join(map(repr, names))})")


def methodcaller(name, /, *args, **kwargs):
    name = plain_name(name)
    check_helper_name(name, format_methods_allowed=True)
    text = f"operator.methodcaller({name!r}{', ...' if args or kwargs else ''})"
    if isinstance(name, str) and name in GUARDED_FORMAT_METHODS:
        guard = _state.format_guard
        return seal(lambda receiver: guard(name, receiver, *args, **kwargs), text)
    return seal(operator.methodcaller(name, *args, **kwargs), text)


def update_wrapper(wrapper, wrapped, assigned=functools.WRAPPER_ASSIGNMENTS,
                   updated=functools.WRAPPER_UPDATES):
    assigned = checked_wrapper_names(assigned)
    updated = checked_wrapper_names(updated)
    return functools.update_wrapper(wrapper, wrapped, assigned, updated)


def wraps(wrapped, assigned=functools.WRAPPER_ASSIGNMENTS, updated=functools.WRAPPER_UPDATES):
    """The real wraps returns partial(update_wrapper, ...), whose .func is the unchecked one."""
    assigned = checked_wrapper_names(assigned)
    updated = checked_wrapper_names(updated)
    return seal(lambda wrapper: update_wrapper(wrapper, wrapped, assigned, updated),
                "functools.partial(<built-in function update_wrapper>, ...)")


def checked_wrapper_names(names):
    """update_wrapper's assigned or updated, read once into plain names, each checked."""
    names = tuple(plain_name(name) for name in names)
    for name in names:
        check_helper_name(name, wrapper_defaults_allowed=True)
    return names


def check_helper_name(name, format_methods_allowed=False, wrapper_defaults_allowed=False):
    """Refuses a blocked attribute name; name is a plain copy (see plain_name)."""
    if not isinstance(name, str):
        return  # the helper raises its own TypeError
    # The stock assignments of update_wrapper name blocked attributes (__module__, __qualname__,
    # __dict__ ...): for it only names the caller chose differently are checked.
    if wrapper_defaults_allowed and (
        name in functools.WRAPPER_ASSIGNMENTS or name in functools.WRAPPER_UPDATES
    ):
        return
    if name in GUARDED_FORMAT_METHODS and not format_methods_allowed:
        raise refused_attribute(name)
    _state.rules.check_attribute(name)


# ---------------------------------------------------------------------------------------------
# Reflection: helpers that hand out what attribute syntax may not reach


def is_denied_builtin(value):
    return any(value is denied for denied in _state.denied)


def is_refused_member(name, value):
    """Whether a (name, value) member is one user code could not read as `obj.name`."""
    if isinstance(name, str):
        name = str.__str__(name)
        if name in _state.rules.attributes or is_name_mangled(name):
            return True
    return is_denied_builtin(value)


def getmembers(object, predicate=None):
    import inspect

    return [m for m in inspect.getmembers(object, predicate) if not is_refused_member(*m)]


def getmembers_static(object, predicate=None):
    import inspect

    return [m for m in inspect.getmembers_static(object, predicate) if not is_refused_member(*m)]


def getattr_static(obj, attr, *default):
    import inspect

    attr = plain_name(attr)
    check_helper_name(attr)
    value = inspect.getattr_static(obj, attr, *default)
    if is_denied_builtin(value):
        raise refused_attribute(attr)
    return value


def getmodule(object, _filename=None):
    """inspect.getmodule gives the real module from sys.modules; user code gets its view."""
    import inspect

    module = inspect.getmodule(object, _filename)
    if module is None:
        return None
    return allowed_module_view(_state.policy, module, "inspect.getmodule")


def refused_helper(qualified):
    def refuse(*args, **kwargs):
        raise security_violation(RUNTIME_VIOLATION, (
            f"Access to '{qualified}' is disallowed, because it can be used to bypass security "
            "restrictions."
        ))
    return refuse


# Hand out a frame's or a function's variables (the runner's own, or a library function's real
# builtins), or a class's bases up to the denied `object`.
REFUSED_INSPECT_HELPERS = (
    "getclosurevars", "getargvalues", "getgeneratorlocals", "getcoroutinelocals",
    "getasyncgenlocals", "getmro", "classify_class_attrs",
)


def get_origin(tp):
    import typing

    origin = typing.get_origin(tp)
    if is_denied_builtin(origin):
        raise refused_attribute("__origin__")
    return origin


def checked_singledispatch(original):
    """singledispatch whose wrappers show their registry through a DispatchRegistry. Views of
    functools hand out a sealed copy of it: it carries no __wrapped__ back to the original."""
    def singledispatch(func):
        wrapper = original(func)
        wrapper.registry = dispatch_registry(wrapper.registry)
        return wrapper
    singledispatch.__doc__ = original.__doc__
    return singledispatch


# id(view) -> the singledispatch registry (a read-only mapping proxy) it shows. By id, not a
# WeakKeyDictionary: a Mapping compares by content, so it is not hashable.
_registries = {}


class DispatchRegistry(collections.abc.Mapping):
    """A live, read-only view of a singledispatch registry without the denied builtins among
    its keys: the fallback implementation is registered for `object`."""

    __slots__ = ("__weakref__",)

    def __getitem__(self, cls):
        if is_denied_builtin(cls):
            raise KeyError(cls)
        return _registries[id(self)][cls]

    def __iter__(self):
        return (cls for cls in _registries[id(self)] if not is_denied_builtin(cls))

    def __len__(self):
        return sum(1 for _ in self)

    def __repr__(self):
        return f"mappingproxy({dict(self)!r})"


def dispatch_registry(registry):
    view = DispatchRegistry()
    _registries[id(view)] = registry
    weakref.finalize(view, _registries.pop, id(view), None)
    return view


# (module, attribute) -> what a module view hands user code instead of the real attribute.
HELPER_REPLACEMENTS = {
    ("operator", "attrgetter"): attrgetter,
    ("operator", "methodcaller"): methodcaller,
    ("functools", "update_wrapper"): update_wrapper,
    ("functools", "wraps"): wraps,
    ("inspect", "getmembers"): getmembers,
    ("inspect", "getmembers_static"): getmembers_static,
    ("inspect", "getattr_static"): getattr_static,
    ("inspect", "getmodule"): getmodule,
    ("typing", "get_origin"): get_origin,
    ("functools", "singledispatch"): lambda func: functools.singledispatch(func),
    **{("inspect", name): refused_helper(f"inspect.{name}") for name in REFUSED_INSPECT_HELPERS},
}


# ---------------------------------------------------------------------------------------------
# Source-text sinks


def make_code_handle_type():
    """The class of what typing.compile returns in place of a code object: it shows nothing
    (its methods are the sealed callables', see scope.py) and only task_eval resolves it."""
    return opaque_type("code", slots=("__weakref__",))


CodeHandle = make_code_handle_type()
# Handle -> the code object compiled from checked source. Weak: a handle lives as long as the
# ForwardRef holding it, and its code with it.
_compiled = weakref.WeakKeyDictionary()


def task_compile(source, filename, mode, flags=0, dont_inherit=False, optimize=-1):
    """typing's compile: string annotations meet the user code's name checks and format
    rewrite before they are compiled. Returns a handle for task_eval, not the code object:
    user code reads ForwardRef.__forward_code__, and an edited copy of a code object runs as
    a function made with its class (reachable as typing.get_origin(typing.Type[int]))."""
    if _state.active:
        if not isinstance(source, (str, bytes, bytearray)):
            raise security_violation(RUNTIME_VIOLATION, UNCHECKED_CODE_DESCRIPTION)
        source = checked_tree(source, filename, mode)
    code = ORIGINAL_COMPILE(source, filename, mode, flags, dont_inherit, optimize)
    if type(code) is not CodeType:
        return code  # an AST (ast.PyCF_ONLY_AST)
    handle = CodeHandle()
    _compiled[handle] = code
    return handle


def checked_tree(source, filename, mode, allowed_attributes=frozenset()):
    tree = ast.parse(source, filename, mode)
    _state.rules.check_tree(tree, allowed_attributes)
    tree = FormatCallRewriter().visit(tree)
    return ast.fix_missing_locations(tree)


def runnable(source, mode, allowed_attributes=frozenset()):
    """What eval/exec may run: a handle's code, or text compiled after the checks. Any other
    code object is refused (its names or bytecode may have been edited after a check)."""
    if type(source) is CodeHandle:
        code = _compiled.get(source)
        if code is None:
            raise security_violation(RUNTIME_VIOLATION, UNCHECKED_CODE_DESCRIPTION)
        return code
    if not _state.active:
        return source
    if isinstance(source, (str, bytes, bytearray)):
        tree = checked_tree(source, "<string>", mode, allowed_attributes)
        return ORIGINAL_COMPILE(tree, "<string>", mode)
    if isinstance(source, CodeType):
        raise security_violation(RUNTIME_VIOLATION, UNCHECKED_CODE_DESCRIPTION)
    return source  # eval/exec raise their own TypeError


def task_eval(source, globals=None, locals=None):
    """typing's and inspect's eval: the task's builtins, whatever globals the caller gave, and
    of the namespaces only what a module view would show (see visible_namespace)."""
    code = runnable(source, "eval")
    if not _state.active:
        return ORIGINAL_EVAL(code, globals, locals)
    scope = task_globals(globals)
    if locals is globals:
        locals = scope
    elif isinstance(locals, dict):
        locals = visible_namespace(locals)
    return ORIGINAL_EVAL(code, scope, locals)


def dataclass_exec(source, globals=None, locals=None):
    """dataclasses' exec of the methods it generates. Field names are pasted into that source,
    so it is checked too, allowing only the attributes dataclasses itself reads."""
    code = runnable(source, "exec", DATACLASS_ATTRIBUTES)
    if not _state.active:
        return ORIGINAL_EXEC(code, globals, locals)
    # The locals are dataclasses' own dict, which it reads the new functions from afterwards;
    # copied only if they are a module's namespace (which dataclasses never passes).
    if isinstance(locals, dict) and isinstance(dict.get(locals, "__name__"), str):
        locals = visible_namespace(locals)
    return ORIGINAL_EXEC(code, task_globals(globals), locals)


def task_globals(globals):
    """A copy of globals as visible_namespace shows them, whose builtins are the task's, with
    the format guard the rewrite calls. A copy: the caller's dict (a module's own) keeps its
    real builtins."""
    scope = visible_namespace(globals) if globals is not None else {}
    scope["__builtins__"] = _state.builtins
    scope[SAFE_FORMAT_NAME] = _state.format_guard
    return scope


# ---------------------------------------------------------------------------------------------
# The namespaces library code evaluates in


def visible_namespace(namespace):
    """A copy of namespace holding what user code could see of it.

    typing and inspect evaluate in a module's own globals (ForwardRef(module=...), a class's
    module, a function's __globals__ followed through __wrapped__), and builtins' namespace is
    one of them. A namespace with a `__name__` counts as that module's, wherever it came from
    (a module pruned from sys.modules is still reachable through its functions): it is refused
    unless the allowlists allow the module, and otherwise shown as the module's view shows it.
    Builtins stand out: the task's builtins stand in for them, so a user class (whose module is
    `builtins`) still has its string annotations evaluated. So do a module still being imported
    (its own import-time code, not the user's, evaluates there) and the task's empty __main__.
    Any other namespace loses the modules the allowlists refuse.
    """
    names = dict(namespace)
    module_name = names.get("__name__")
    if not isinstance(module_name, str):
        return visible_plain_namespace(names)
    module_name = str.__str__(module_name)
    policy = _state.policy
    if is_main_stand_in(namespace):
        return module_scope(module_name, names)
    module = sys.modules.get(module_name)
    if type(module) is ModuleType and vars(module) is namespace and is_being_imported(module):
        # The module's own import-time code (a library imported inside the task defining its
        # dataclasses, evaluating its annotations): its text is not the user's.
        return {name: value for name, value in names.items()
                if name not in NAMESPACE_ENTRIES_LEFT_OUT}
    if module_name == "builtins" and not policy.allows(module_name):
        return {}
    if not policy.allows(module_name):
        module_name = allowed_alias(namespace) or module_name
    policy.check(module_name)
    return module_scope(module_name, names)


def module_scope(module_name, names):
    """names (a module's namespace) as a view of that module shows them."""
    policy = _state.policy
    hidden = HIDDEN_NAMES.get(module_name, ())
    private_hidden = is_stdlib(module_name)
    scope = {}
    for name, value in names.items():
        if type(name) is not str or name in NAMESPACE_ENTRIES_LEFT_OUT or name in hidden:
            continue
        if private_hidden and is_private(name) and (module_name, name) not in PUBLIC_PRIVATE:
            continue
        try:
            scope[name] = view_value(policy, module_name, name, value)
        except SecurityViolationError:
            continue  # a module the allowlists refuse
    return scope


def visible_plain_namespace(names):
    """A namespace that is no module's: its modules only as views, and only allowed ones."""
    for name, value in list(names.items()):
        if type(value) is not ModuleType:
            continue
        module_name = vars(value).get("__name__")
        if isinstance(module_name, str) and _state.policy.allows(str.__str__(module_name)):
            names[name] = module_view(_state.policy, value)
        else:
            del names[name]
    return names


def is_main_stand_in(namespace):
    """Whether namespace is the empty __main__ module a task child puts in sys.modules (the
    module of 3.12's make_dataclass classes), not the forkserver's own __main__."""
    main = sys.modules.get("__main__")
    return type(main) is ModuleType and vars(main) is namespace


def is_being_imported(module):
    """Whether a module's own code is still running its import (importlib's flag on its spec),
    which user code has no way to set."""
    spec = vars(module).get("__spec__")
    return getattr(spec, "_initializing", False) is True


def allowed_alias(namespace):
    """The name an allowed module is registered under, for a module whose own name the
    allowlists refuse (`os.path` is `posixpath`), or None."""
    policy = _state.policy
    for registered, module in list(sys.modules.items()):
        if type(module) is ModuleType and vars(module) is namespace and policy.allows(registered):
            return registered
    return None


# ---------------------------------------------------------------------------------------------
# string.Formatter's field walk


def checked_get_field(self, field_name, args, kwargs):
    """string.Formatter.get_field with each step checked as it is taken: a subclass's parse()
    cannot hide a field from the format guard, since every walk ends up here or in str.format
    (whose templates the guard scans)."""
    import _string

    first, rest = _string.formatter_field_name_split(field_name)
    obj = self.get_value(first, args, kwargs)
    for is_attribute, key in rest:
        if _state.active and (is_attribute or isinstance(key, str)):
            check_field_step(key)
        obj = getattr(obj, key) if is_attribute else obj[key]
    return obj, first


def check_field_step(name):
    # get_field hands out what it reached: a format method would be a bound one the format
    # guard never sees.
    rules = _state.rules
    if name in rules.attributes or name in rules.names or name in GUARDED_FORMAT_METHODS:
        raise security_violation(FORMAT_VIOLATION, FORMAT_DESCRIPTION.format(name))


# ---------------------------------------------------------------------------------------------
# functools.cached_property


def checked_set_name(original):
    """cached_property reads its name from the instance's __dict__: `__set_name__(None,
    'format')` then `__get__(str)` hands out the unbound str.format."""

    def __set_name__(self, owner, name):
        if _state.active:
            name = plain_name(name)
            check_helper_name(name)
        return original(self, owner, name)

    return __set_name__


# ---------------------------------------------------------------------------------------------
# enum


def checked_convert(original):
    """Enum._convert_ turns a module's globals (any module in sys.modules) into members."""
    function = original.__func__ if isinstance(original, classmethod) else original

    def _convert_(cls, name, module, *args, **kwargs):
        if _state.active and isinstance(module, str):
            module = str.__str__(module)
            refusal = _state.policy.refusal(module)
            if refusal is not None:
                raise security_violation(RUNTIME_VIOLATION, refusal)
        return function(cls, name, module, *args, **kwargs)

    return classmethod(_convert_) if isinstance(original, classmethod) else _convert_


class EnumModules:
    """sys.modules as enum's code sees it (enum.sys.modules).

    _convert_ reads the globals of `sys.modules[module]` into members (typing's hold the real
    sys), and it and global_enum write members into `sys.modules[cls.__module__]`'s namespace
    (a callable member in place of typing's eval is handed typing's globals). The class and
    its __module__ are the user's, and can change while enum works (a metaclass, an
    __init_subclass__), so each lookup is checked when enum makes it: only a module still
    being imported (its own code exporting its constants) or the task's empty __main__.
    """

    __slots__ = ()

    def __getitem__(self, name):
        module = sys.modules[name]
        if _state.active and not (
            type(module) is ModuleType
            and (module is sys.modules.get("__main__") or is_being_imported(module))
        ):
            raise security_violation(RUNTIME_VIOLATION, (
                f"Access to the namespace of module '{plain_name(name)}' through enum is "
                "disallowed, because it can be used to bypass security restrictions."
            ))
        return module


class EnumSys:
    """enum's `sys`: the real one but for `modules` (hidden from enum's module view)."""

    __slots__ = ()
    modules = EnumModules()

    def __getattr__(self, name):
        return getattr(sys, name)


# ---------------------------------------------------------------------------------------------
# copy


def copy_setattr(target, name, value, /):
    """copy's setattr, which only copy._reconstruct calls: copy.copy and copy.deepcopy of an
    object whose own __reduce_ex__ returns (constructor, args, (state, slot state)) setattr
    each slot-state item on the new object, with any name. Checked at that moment, on a plain
    copy of the name, which is the name set."""
    if _state.active:
        name = plain_name(name)
        _state.rules.check_attribute(name)
    return setattr(target, name, value)
