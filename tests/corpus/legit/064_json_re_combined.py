# description: json + re: parse embedded JSON found by a regex
# allow: json,re
# mode: all
# items: [{"json": {"log": "2024-01-01 ERROR payload={\"level\": \"error\", \"code\": 503} end"}}]
# expect: [{"json": {"level": "error", "code": 503}}]
import json
import re
found = re.search(r'\{.*\}', _items[0]['json']['log'])
data = json.loads(found.group(0))
return [{'json': {'level': data['level'], 'code': data['code']}}]
