# description: min()/max() with key functions and defaults, all()
# allow: none
# mode: all
# items: [{"json": {"name": "a", "price": 3.5}}, {"json": {"name": "b", "price": 1.25}}, {"json": {"name": "c", "price": 9}}]
# expect: [{"json": {"cheapest": "b", "priciest": "c", "none": "n/a", "all_positive": true}}]
rows = [item['json'] for item in _items]
cheapest = min(rows, key=lambda r: r['price'])
priciest = max(rows, key=lambda r: r['price'])
none = max([], default='n/a')
return [{'json': {'cheapest': cheapest['name'], 'priciest': priciest['name'], 'none': none, 'all_positive': all(r['price'] > 0 for r in rows)}}]
