# description: all-items mode returning one plain dict (passed through unchanged)
# allow: none
# mode: all
# items: [{"json": {"name": "Ada", "age": 36, "active": true}}, {"json": {"name": "Linus", "age": 28, "active": false}}, {"json": {"name": "Grace", "age": 45, "active": true}}]
# expect: {"count": 3, "names": ["Ada", "Linus", "Grace"]}
return {'count': len(_items), 'names': [i['json']['name'] for i in _items]}
