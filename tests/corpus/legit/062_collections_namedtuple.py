# description: collections.namedtuple built by the library (no class statement in user code)
# allow: collections
# mode: all
# items: [{"json": {"x": 1, "y": 2}}, {"json": {"x": -3, "y": 4}}]
# expect: [{"json": {"far": {"x": -3, "y": 4}, "moved": [0, 4], "fields": ["x", "y"]}}]
from collections import namedtuple
Point = namedtuple('Point', ['x', 'y'])
points = [Point(item['json']['x'], item['json']['y']) for item in _items]
far = max(points, key=lambda p: p.x ** 2 + p.y ** 2)
return [{'json': {'far': far._asdict(), 'moved': list(far._replace(x=0)), 'fields': list(Point._fields)}}]
