# description: collections.deque (rotating window) and OrderedDict.move_to_end
# allow: collections
# mode: all
# items: [{"json": {"v": 3}}, {"json": {"v": 6}}, {"json": {"v": 9}}, {"json": {"v": 12}}]
# expect: [{"json": {"averages": [3.0, 4.5, 6.0, 9.0], "order": ["b", "c", "a"], "last": [6, 9, 12]}}]
from collections import OrderedDict, deque
window = deque(maxlen=3)
averages = []
for item in _items:
    window.append(item['json']['v'])
    averages.append(sum(window) / len(window))
od = OrderedDict([('a', 1), ('b', 2), ('c', 3)])
od.move_to_end('a')
return [{'json': {'averages': averages, 'order': list(od), 'last': list(window)}}]
