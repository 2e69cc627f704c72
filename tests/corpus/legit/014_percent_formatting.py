# description: printf-style % formatting
# allow: none
# mode: all
# items: [{"json": {"name": "Ada", "due": 12.5, "paid": 40, "id": 42}}]
# expect: [{"json": {"line": "Ada owes 12.50 EUR (40% paid, id 00042)", "named": "Ada/2a"}}]
row = _items[0]['json']
line = '%s owes %.2f EUR (%d%% paid, id %05d)' % (row['name'], row['due'], row['paid'], row['id'])
return [{'json': {'line': line, 'named': '%(name)s/%(id)x' % row}}]
