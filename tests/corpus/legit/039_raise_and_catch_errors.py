# description: raise and catch builtin exceptions, read their messages, exception chaining
# allow: none
# mode: all
# items: [{"json": {"id": 1}}, {"json": {}}, {"json": {"id": "7"}}]
# expect: [{"json": {"results": [1, "'id'", "id must be int, got '7'"], "chained": ["wrapped", "'x'"]}}]
def check(row):
    if 'id' not in row:
        raise KeyError('id')
    if not isinstance(row['id'], int):
        raise TypeError(f"id must be int, got {row['id']!r}")
    return row['id']
results = []
for item in _items:
    try:
        results.append(check(item['json']))
    except (KeyError, TypeError) as err:
        results.append(str(err))
try:
    try:
        {}['x']
    except KeyError as inner:
        raise ValueError('wrapped') from inner
except ValueError as outer:
    chained = [str(outer), str(outer.__cause__)]
return [{'json': {'results': results, 'chained': chained}}]
