# description: collections.defaultdict(list) and defaultdict(int) grouping
# allow: collections
# mode: all
# items: [{"json": {"id": 1, "status": "paid", "amount": 10}}, {"json": {"id": 2, "status": "open", "amount": 5}}, {"json": {"id": 3, "status": "paid", "amount": 7}}]
# expect: [{"json": {"ids": {"paid": [1, 3], "open": [2]}, "amount": {"paid": 17, "open": 5}}}]
from collections import defaultdict
by_status = defaultdict(list)
amount = defaultdict(int)
for item in _items:
    row = item['json']
    by_status[row['status']].append(row['id'])
    amount[row['status']] += row['amount']
return [{'json': {'ids': dict(by_status), 'amount': dict(amount)}}]
