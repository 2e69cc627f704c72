"""print() capture: the user's print calls, recorded instead of written.

Owns the recorder behind the sealed `print` user code gets: each call becomes a list of
pre-formatted strings (strings quoted, other values as JSON), keywords are checked as the real
print checks them, and after MAX_PRINT_ENTRIES calls the rest are only counted.
"""

import json

MAX_PRINT_ENTRIES = 100


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
