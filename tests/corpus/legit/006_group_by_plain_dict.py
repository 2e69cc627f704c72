# description: group items by a field with a plain dict and setdefault
# allow: none
# mode: all
# items: [{"json": {"city": "Berlin", "name": "A"}}, {"json": {"city": "Paris", "name": "B"}}, {"json": {"city": "Berlin", "name": "C"}}]
# expect: [{"json": {"city": "Berlin", "names": ["A", "C"]}}, {"json": {"city": "Paris", "names": ["B"]}}]
groups = {}
for item in _items:
    groups.setdefault(item['json']['city'], []).append(item['json']['name'])
return [{'json': {'city': city, 'names': names}} for city, names in sorted(groups.items())]
