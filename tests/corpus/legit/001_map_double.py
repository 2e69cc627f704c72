# description: item mapping: add a computed field to every item
# allow: none
# mode: all
# items: [{"json": {"n": 1}}, {"json": {"n": 2}}, {"json": {"n": 3}}]
# expect: [{"json": {"n": 1, "double": 2}}, {"json": {"n": 2, "double": 4}}, {"json": {"n": 3, "double": 6}}]
out = []
for item in _items:
    n = item['json']['n']
    out.append({'json': {'n': n, 'double': n * 2}})
return out
