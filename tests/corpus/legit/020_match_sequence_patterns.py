# description: match statement with sequence patterns, star captures and guards
# allow: none
# mode: all
# items: [{"json": {"parts": []}}, {"json": {"parts": ["a"]}}, {"json": {"parts": ["a", "b", "c", "d"]}}, {"json": {"parts": ["a", "b", "c"]}}]
# expect: [{"json": {"d": "empty"}}, {"json": {"d": "one: a"}}, {"json": {"d": "a..d (2 between)"}}, {"json": {"d": "a and 2 more"}}]
def describe(parts):
    match parts:
        case []:
            return 'empty'
        case [single]:
            return f'one: {single}'
        case [first, *middle, last] if len(middle) > 1:
            return f'{first}..{last} ({len(middle)} between)'
        case [first, *rest]:
            return f'{first} and {len(rest)} more'
return [{'json': {'d': describe(item['json']['parts'])}} for item in _items]
