# description: generator expressions with sum(), any() and max()
# allow: none
# mode: all
# items: [{"json": {"sku": "A", "qty": 2}}, {"json": {"sku": "B", "qty": 7}}, {"json": {"sku": "C", "qty": 1}}]
# expect: [{"json": {"qty": 10, "big": true, "top": "B"}}]
qty = sum(item['json']['qty'] for item in _items)
big = any(item['json']['qty'] > 5 for item in _items)
top = max((item['json']['qty'], item['json']['sku']) for item in _items)
return [{'json': {'qty': qty, 'big': big, 'top': top[1]}}]
