"""What crosses the task child's pipes: the task in, the result frame out.

Owns reading the task's bytes, serialising the reply (NaN and Infinity become null; a result
that cannot be serialised becomes an error reply; lone surrogates are repaired into valid UTF-8)
and writing the single length-prefixed result frame (4-byte big-endian length, then the JSON).
"""

import io
import json
import os
import struct

from .errors import error_reply, runtime_error

FRAME_HEADER = struct.Struct(">I")
MAX_FRAME_BODY = 0xFFFFFFFF
# Below this size the header and body go out in one write() call.
SMALL_FRAME = 1 << 16
NAN_ERROR_PREFIX = "Out of range float values"
INFINITY = float("inf")


# ---------------------------------------------------------------------------------------------
# The task


def read_all(fd):
    # FileIO.readall grows its buffer geometrically, which matters for multi-megabyte item lists.
    with io.FileIO(fd, "r", closefd=True) as pipe:
        return pipe.readall()


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
