# description: dict comprehension keyed by id
# allow: none
# mode: all
# items: [{"json": {"id": "a1", "title": "first"}}, {"json": {"id": "b2", "title": "second"}}]
# expect: [{"json": {"a1": "FIRST", "b2": "SECOND"}}]
by_id = {item['json']['id']: item['json']['title'].upper() for item in _items}
return [{'json': by_id}]
