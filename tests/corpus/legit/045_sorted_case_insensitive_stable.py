# description: sorted with str.lower as key and reverse, stability
# allow: none
# mode: all
# items: [{"json": {"name": "bob"}}, {"json": {"name": "Alice"}}, {"json": {"name": "carl"}}, {"json": {"name": "Al"}}]
# expect: [{"json": {"ci": ["Al", "Alice", "bob", "carl"], "rev": ["carl", "bob", "Alice", "Al"], "by_len": ["Al", "bob", "carl", "Alice"]}}]
names = [item['json']['name'] for item in _items]
return [{'json': {
    'ci': sorted(names, key=str.lower),
    'rev': sorted(names, reverse=True),
    'by_len': sorted(names, key=len),
}}]
