# description: split items into batches of a fixed size
# allow: none
# mode: all
# items: [{"json": {"v": 1}}, {"json": {"v": 2}}, {"json": {"v": 3}}, {"json": {"v": 4}}, {"json": {"v": 5}}]
# expect: [{"json": {"batch": [1, 2], "index": 0}}, {"json": {"batch": [3, 4], "index": 1}}, {"json": {"batch": [5], "index": 2}}]
size = 2
values = [item['json']['v'] for item in _items]
batches = [values[i:i + size] for i in range(0, len(values), size)]
return [{'json': {'batch': b, 'index': i}} for i, b in enumerate(batches)]
