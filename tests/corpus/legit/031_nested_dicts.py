# description: reading and building nested dicts and lists
# allow: none
# mode: all
# items: [{"json": {"customer": {"name": "Ada", "address": {"city": "London"}, "vip": true}, "lines": [{"sku": "A", "qty": 2, "price": 30}, {"sku": "B", "qty": 1, "price": 50}]}}]
# expect: [{"json": {"customer": "London", "skus": ["A", "B"], "totals": {"A": 60, "B": 50}, "meta": {"count": 2, "tags": {"vip": true, "big": true}}}}]
order = _items[0]['json']
lines = order['lines']
summary = {
    'customer': order['customer']['address']['city'],
    'skus': [line['sku'] for line in lines],
    'totals': {line['sku']: line['qty'] * line['price'] for line in lines},
    'meta': {'count': len(lines), 'tags': {'vip': order['customer'].get('vip', False)}},
}
summary['meta']['tags']['big'] = sum(summary['totals'].values()) > 100
return [{'json': summary}]
