# description: set comprehension to collect distinct tags
# allow: none
# mode: all
# items: [{"json": {"tags": ["News", "tech"]}}, {"json": {"tags": ["TECH", "sport"]}}, {"json": {"tags": []}}]
# expect: [{"json": {"tags": ["news", "sport", "tech"]}}]
tags = {tag.lower() for item in _items for tag in item['json']['tags']}
return [{'json': {'tags': sorted(tags)}}]
