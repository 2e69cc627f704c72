# description: per-item mode: each item computed on its own, nested data kept
# allow: none
# mode: each
# items: [{"json": {"id": 1, "tags": ["a", "b"]}}, {"json": {"id": 2}}]
# expect: [{"json": {"id": 1, "tag_count": 2, "first_tag": "a"}, "pairedItem": {"item": 0}}, {"json": {"id": 2, "tag_count": 0, "first_tag": null}, "pairedItem": {"item": 1}}]
tags = _item['json'].get('tags', [])
return {'json': {'id': _item['json']['id'], 'tag_count': len(tags), 'first_tag': tags[0] if tags else None}}
