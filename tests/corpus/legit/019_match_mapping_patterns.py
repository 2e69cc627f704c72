# description: match statement with mapping patterns, captures and **rest
# allow: none
# mode: all
# items: [{"json": {"type": "user", "name": "Ada"}}, {"json": {"type": "order", "id": 7, "qty": 1, "note": "x"}}, {"json": {"type": "other"}}]
# expect: [{"json": {"seen": ["user Ada", "order 7 +2", "unknown"]}}]
out = []
for item in _items:
    match item['json']:
        case {'type': 'user', 'name': name}:
            out.append(f'user {name}')
        case {'type': 'order', 'id': order_id, **rest}:
            out.append(f'order {order_id} +{len(rest)}')
        case {}:
            out.append('unknown')
return [{'json': {'seen': out}}]
