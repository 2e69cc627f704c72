# description: json.loads of a string field and json.dumps with separators
# allow: json
# mode: all
# items: [{"json": {"raw": "{\"b\": [1, 2], \"a\": null}"}}]
# expect: [{"json": {"parsed": {"b": [1, 2], "a": null, "seen": true}, "compact": "{\"a\":null,\"b\":[1,2],\"seen\":true}"}}]
import json
payload = json.loads(_items[0]['json']['raw'])
payload['seen'] = True
return [{'json': {'parsed': payload, 'compact': json.dumps(payload, separators=(',', ':'), sort_keys=True)}}]
