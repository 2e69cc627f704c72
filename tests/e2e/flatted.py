"""Decoder for the "flatted" JSON format n8n stores execution data in (standard library only).

The text is a JSON array. Element 0 is the root value. Every object and array, and every string, lives in that
top-level array; inside an object or array, a JSON string is not text but the decimal index of the element it
stands for, while numbers, booleans and null stand for themselves. A string element of the top-level array is
literal text. Shared and circular references point at the same index and decode to the same Python object.
"""

import json


def parse(text):
    table = json.loads(text)
    if not isinstance(table, list) or not table:
        raise ValueError("flatted: expected a non-empty JSON array")
    built = {}
    pending = []  # (index, container) whose members are not resolved yet

    def resolve(value):
        if isinstance(value, str):
            i = int(value)
            target = table[i]
            if isinstance(target, dict) or isinstance(target, list):
                if i not in built:
                    built[i] = {} if isinstance(target, dict) else []
                    pending.append(i)
                return built[i]
            return target
        if isinstance(value, dict) or isinstance(value, list):
            # not produced by flatted itself; treat as an inline container
            return _inline(value)
        return value

    def _inline(value):
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return [resolve(v) for v in value]

    root = table[0]
    if not isinstance(root, (dict, list)):
        return root
    built[0] = {} if isinstance(root, dict) else []
    pending.append(0)
    # iterative, so deeply nested data cannot exhaust the interpreter's recursion limit
    while pending:
        i = pending.pop()
        src = table[i]
        dst = built[i]
        if isinstance(src, dict):
            for k, v in src.items():
                dst[k] = resolve(v)
        else:
            for v in src:
                dst.append(resolve(v))
    return built[0]


def _selftest():
    # the JS library's output for: const a = {x: "hi", n: 1, l: [1, "hi"]}; a.self = a; stringify(a)
    text = '[{"x":"1","n":1,"l":"2","self":"0"},"hi",[1,"1"]]'
    v = parse(text)
    assert v["x"] == "hi" and v["n"] == 1 and v["l"] == [1, "hi"] and v["self"] is v
    assert parse('["plain"]') == "plain"
    assert parse('[[]]') == []


_selftest()
