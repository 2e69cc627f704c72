# description: per-item mode updating the incoming json and returning the item
# allow: none
# mode: each
# items: [{"json": {"price": 2.5, "qty": 4, "internal": "x"}}, {"json": {"price": 10, "qty": 0}}]
# expect: [{"json": {"price": 2.5, "qty": 4, "total": 10.0}, "pairedItem": {"item": 0}}, {"json": {"price": 10, "qty": 0, "total": 0}, "pairedItem": {"item": 1}}]
_item['json']['total'] = _item['json']['price'] * _item['json']['qty']
_item['json'].pop('internal', None)
return _item
