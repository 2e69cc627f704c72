# description: collections.Counter: most_common, arithmetic, total
# allow: collections
# mode: all
# items: [{"json": {"text": "The cat and the hat"}}, {"json": {"text": "the end"}}]
# expect: [{"json": {"top": [["the", 3], ["cat", 1]], "the": 3, "missing": 0, "sum": {"and": 1, "cat": 1, "end": 1, "hat": 1, "new": 2, "the": 4}, "distinct": 5}}]
from collections import Counter
words = ' '.join(item['json']['text'] for item in _items).lower().split()
counts = Counter(words)
other = Counter({'the': 1, 'new': 2})
return [{'json': {
    'top': counts.most_common(2),
    'the': counts['the'],
    'missing': counts['nope'],
    'sum': dict(sorted((counts + other).items())),
    'distinct': len(counts),
}}]
