# description: per-item mode filtering by returning None
# allow: none
# mode: each
# items: [{"json": {"name": "a", "score": 80}}, {"json": {"name": "b", "score": 20}}, {"json": {"name": "c", "score": 50}}]
# expect: [{"json": {"name": "a", "passed": true}, "pairedItem": {"item": 0}}, {"json": {"name": "c", "passed": true}, "pairedItem": {"item": 2}}]
if _item['json']['score'] < 50:
    return None
return {'json': {'name': _item['json']['name'], 'passed': True}}
