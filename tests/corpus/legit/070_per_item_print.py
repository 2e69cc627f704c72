# description: per-item mode with print(): one recorder for all items, entries in order
# allow: none
# mode: each
# items: [{"json": {"n": 2}}, {"json": {"n": 3}}]
# expect: [{"json": {"n2": 4}, "pairedItem": {"item": 0}}, {"json": {"n2": 9}, "pairedItem": {"item": 1}}]
# prints: [["'item'", "2"], ["'item'", "3"]]
print('item', _item['json']['n'])
return {'n2': _item['json']['n'] ** 2}
