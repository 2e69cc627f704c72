# description: map() and filter() with lambdas
# allow: none
# mode: all
# items: [{"json": {"v": 1}}, {"json": {"v": 2}}, {"json": {"v": 3}}, {"json": {"v": 4}}]
# expect: [{"json": {"squares": [1, 4, 9, 16], "odd": [1, 3]}}]
values = [item['json']['v'] for item in _items]
squares = list(map(lambda v: v * v, values))
odd = list(filter(lambda v: v % 2, values))
return [{'json': {'squares': squares, 'odd': odd}}]
