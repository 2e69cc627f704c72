# description: a generator function consumed with list() and next()
# allow: none
# mode: all
# items: [{"json": {}}]
# expect: [{"json": {"first": 0, "rest": [2, 4, 6, 8], "sum": 2550}}]
def evens(limit):
    n = 0
    while n <= limit:
        yield n
        n += 2
gen = evens(8)
first = next(gen)
rest = list(gen)
return [{'json': {'first': first, 'rest': rest, 'sum': sum(evens(100))}}]
