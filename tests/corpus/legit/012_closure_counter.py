# description: closures with nonlocal state
# allow: none
# mode: all
# items: [{"json": {}}]
# expect: [{"json": {"seen": [11, 16, 17]}}]
def make_counter(start):
    count = start
    def bump(step=1):
        nonlocal count
        count += step
        return count
    return bump

counter = make_counter(10)
seen = [counter(), counter(5), counter()]
return [{'json': {'seen': seen}}]
