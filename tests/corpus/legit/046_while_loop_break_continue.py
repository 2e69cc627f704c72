# description: loops with break/continue/else
# allow: none
# mode: all
# items: [{"json": {"v": 1}}, {"json": {"v": 5, "skip": true}}, {"json": {"v": 12}}, {"json": {"v": 30}}]
# expect: [{"json": {"found": 12, "skipped": 1}}]
found = None
skipped = 0
for item in _items:
    if item['json'].get('skip'):
        skipped += 1
        continue
    if item['json']['v'] > 10:
        found = item['json']['v']
        break
else:
    found = 'none'
return [{'json': {'found': found, 'skipped': skipped}}]
