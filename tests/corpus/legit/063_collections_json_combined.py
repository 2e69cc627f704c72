# description: collections + json: count values and serialise the histogram
# allow: collections,json
# mode: all
# items: [{"json": {"color": "red"}}, {"json": {"color": "blue"}}, {"json": {"color": "red"}}]
# expect: [{"json": {"hist": "{\"blue\": 1, \"red\": 2}"}}]
import json
from collections import Counter
hist = Counter(item['json']['color'] for item in _items)
return [{'json': {'hist': json.dumps(dict(sorted(hist.items())))}}]
