"""What user code finds in its scope besides its own names: sealed callables and the builtins.

Owns the sealed callables through which user code reaches `print`, `__import__`, the importlib
entry points and the format guard, and the read-only builtins mapping (the interpreter's
builtins minus the deny list, with the guarded `__import__`). Both show nothing of the runner:
their methods run in a namespace of their own that holds no module, no config and no eval.
"""

import builtins
import sys

# Importer objects the builtins module carries as attributes: __loader__ imports any builtin
# module (posix included) without meeting the guard, so user code never gets them.
IMPORTER_ENTRIES = frozenset(("__loader__", "__spec__"))
MAPPING_METHODS = ("keys", "values", "items", "get")

ModuleType = type(sys)
FunctionType = type(lambda: None)


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
# and the runner's modules a third (the callable's __self__ or __func__), or else gc/inspect.
#
# Exceptions leave a sealed call with their traceback, __context__ and __cause__ cleared and
# re-raised from sandbox_call itself, so no frame of the runner's modules (whose f_globals would
# give everything away) is reachable from what user code catches. The one frame left is
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


def opaque_type(name, slots=(), **methods):
    """A class (shown as builtins.<name>) whose instances have no attribute to read, set or
    delete and cannot be pickled; `methods` are its only behaviour. For the sealed callables
    here and sinks.py's code handles."""
    sandbox = _SANDBOX
    body = {
        "__slots__": slots,
        "__module__": "builtins",
        "__doc__": None,
        "__getattribute__": sandbox["sandbox_no_attribute"],
        "__setattr__": sandbox["sandbox_no_attribute"],
        "__delattr__": sandbox["sandbox_no_attribute"],
        "__reduce__": sandbox["sandbox_no_pickle"],
        "__reduce_ex__": sandbox["sandbox_no_pickle"],
        **methods,
    }
    return type(name, (), body)


def make_sealed_type():
    return opaque_type("builtin_function_or_method", __call__=_SANDBOX["sandbox_call"],
                       __repr__=_SANDBOX["sandbox_repr"])


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
