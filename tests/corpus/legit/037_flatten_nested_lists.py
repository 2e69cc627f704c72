# description: flatten nested lists with a recursive helper
# allow: none
# mode: all
# items: [{"json": {"tree": [1, [2, [3, [4]], 5], [], [[6]]]}}]
# expect: [{"json": {"flat": [1, 2, 3, 4, 5, 6]}}]
def flatten(value):
    if isinstance(value, list):
        for part in value:
            yield from flatten(part)
    else:
        yield value
return [{'json': {'flat': list(flatten(_items[0]['json']['tree']))}}]
