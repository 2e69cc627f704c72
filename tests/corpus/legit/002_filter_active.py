# description: filtering: keep only active users
# allow: none
# mode: all
# items: [{"json": {"name": "Ada", "age": 36, "active": true}}, {"json": {"name": "Linus", "age": 28, "active": false}}, {"json": {"name": "Grace", "age": 45, "active": true}}]
# expect: [{"json": {"name": "Ada", "age": 36, "active": true}}, {"json": {"name": "Grace", "age": 45, "active": true}}]
return [item for item in _items if item['json']['active']]
