# description: dict merging with | and **, star unpacking
# allow: none
# mode: all
# items: [{"json": {"timeout": 30, "verbose": true}}]
# expect: [{"json": {"merged": {"retries": 3, "timeout": 30, "verbose": true}, "merged2": {"retries": 3, "timeout": 30, "verbose": true, "source": "n8n"}, "first": 1, "rest": [2, 3, 4], "ends": "ae"}}]
defaults = {'retries': 3, 'timeout': 10, 'verbose': False}
override = _items[0]['json']
merged = defaults | override
merged2 = {**defaults, **override, 'source': 'n8n'}
first, *rest = [1, 2, 3, 4]
head, *_, tail = 'abcde'
return [{'json': {'merged': merged, 'merged2': merged2, 'first': first, 'rest': rest, 'ends': head + tail}}]
