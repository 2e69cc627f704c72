# description: assignment expressions in comprehensions and while loops
# allow: none
# mode: all
# items: [{"json": {"words": ["hi", "hello", "tree", "a"]}}]
# expect: [{"json": {"long": [["hello", 5], ["tree", 4]], "total": 10}}]
words = _items[0]['json']['words']
long_words = [(w, n) for w in words if (n := len(w)) > 3]
queue = list(range(5))
total = 0
while (nxt := queue.pop() if queue else None) is not None:
    total += nxt
return [{'json': {'long': long_words, 'total': total}}]
