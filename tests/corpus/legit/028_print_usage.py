# description: print() calls are captured and the result is returned
# allow: none
# mode: all
# items: [{"json": {"id": "x", "value": 2}}, {"json": {"id": "y", "value": 3}}]
# expect: [{"json": {"total": 5}}]
# prints: [["'processing'", "'x'"], ["'processing'", "'y'"], ["'total'", "5", "[1, \"a\"]", "{\"k\": null}", "True", "None"]]
total = 0
for item in _items:
    print('processing', item['json']['id'])
    total += item['json']['value']
print('total', total, [1, 'a'], {'k': None}, True, None)
return [{'json': {'total': total}}]
