# description: nested list comprehension building a multiplication table
# allow: none
# mode: all
# items: [{"json": {"size": 3}}]
# expect: [{"json": {"table": [[1, 2, 3], [2, 4, 6], [3, 6, 9]]}}]
size = _items[0]['json']['size']
table = [[row * col for col in range(1, size + 1)] for row in range(1, size + 1)]
return [{'json': {'table': table}}]
