# description: sorting by two keys, one descending
# allow: none
# mode: all
# items: [{"json": {"team": "b", "name": "x", "score": 3}}, {"json": {"team": "a", "name": "y", "score": 1}}, {"json": {"team": "a", "name": "z", "score": 9}}, {"json": {"team": "b", "name": "w", "score": 7}}]
# expect: [{"json": {"who": "a:z:9"}}, {"json": {"who": "a:y:1"}}, {"json": {"who": "b:w:7"}}, {"json": {"who": "b:x:3"}}]
rows = [item['json'] for item in _items]
rows.sort(key=lambda r: (r['team'], -r['score']))
return [{'json': {'who': f"{r['team']}:{r['name']}:{r['score']}"}} for r in rows]
