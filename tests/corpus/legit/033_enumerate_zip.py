# description: enumerate() and zip() over items
# allow: none
# mode: all
# items: [{"json": {"name": "a", "score": 3}}, {"json": {"name": "b", "score": 5}}]
# expect: [{"json": {"ranked": [{"rank": 1, "name": "a", "score": 3}, {"rank": 2, "name": "b", "score": 5}], "pairs": {"a": 3, "b": 5}}}]
names = [item['json']['name'] for item in _items]
scores = [item['json']['score'] for item in _items]
ranked = [{'rank': i, 'name': n, 'score': s} for i, (n, s) in enumerate(zip(names, scores), start=1)]
pairs = dict(zip(names, scores))
return [{'json': {'ranked': ranked, 'pairs': pairs}}]
