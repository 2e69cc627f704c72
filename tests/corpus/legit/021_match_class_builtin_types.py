# description: match statement with builtin-type class patterns (no positional sub-patterns: n8n forbids those)
# allow: none
# mode: all
# items: [{"json": {"values": [true, -3, 2, 1.5, "abc", [1], {"a": 1}, null]}}]
# expect: [{"json": {"kinds": ["bool", "negative int", "number", "number", "text of 3", "list", "dict", "null"]}}]
def kind(value):
    match value:
        case bool():
            return 'bool'
        case int() if value < 0:
            return 'negative int'
        case int() | float():
            return 'number'
        case str():
            return f'text of {len(value)}'
        case list():
            return 'list'
        case dict():
            return 'dict'
        case None:
            return 'null'
return [{'json': {'kinds': [kind(v) for v in _items[0]['json']['values']]}}]
