# description: everyday string methods
# allow: none
# mode: all
# items: [{"json": {"s": "  apple, banana ,pear  "}}]
# expect: [{"json": {"strip": "apple, banana ,pear", "split": ["apple", " banana ", "pear"], "join": "apple|banana|pear", "replace": "  Apple, bAnAnA ,peAr  ", "title": "Hello There", "zfill": "00042", "starts": true, "count": 5, "find": 17, "partition": ["key", "=", "value=x"], "center": "**ab**"}}]
s = _items[0]['json']['s']
return [{'json': {
    'strip': s.strip(),
    'split': s.strip().split(','),
    'join': '|'.join(part.strip() for part in s.split(',')),
    'replace': s.replace('a', 'A'),
    'title': 'hello there'.title(),
    'zfill': '42'.zfill(5),
    'starts': s.strip().startswith('apple'),
    'count': s.count('a'),
    'find': s.find('pear'),
    'partition': list('key=value=x'.partition('=')),
    'center': 'ab'.center(6, '*'),
}}]
