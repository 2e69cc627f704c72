# description: sorted() with a key lambda
# allow: none
# mode: all
# items: [{"json": {"name": "Ada", "age": 36, "active": true}}, {"json": {"name": "Linus", "age": 28, "active": false}}, {"json": {"name": "Grace", "age": 45, "active": true}}]
# expect: [{"json": {"name": "Linus"}}, {"json": {"name": "Ada"}}, {"json": {"name": "Grace"}}]
rows = sorted(_items, key=lambda item: item['json']['age'])
return [{'json': {'name': r['json']['name']}} for r in rows]
