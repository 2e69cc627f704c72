# description: match statement with literal and or-patterns
# allow: none
# mode: all
# items: [{"json": {"code": 200}}, {"json": {"code": 404}}, {"json": {"code": 201}}, {"json": {"code": 418}}]
# expect: [{"json": {"code": 200, "label": "ok"}}, {"json": {"code": 404, "label": "missing"}}, {"json": {"code": 201, "label": "ok"}}, {"json": {"code": 418, "label": "other"}}]
def label(code):
    match code:
        case 200 | 201:
            return 'ok'
        case 404:
            return 'missing'
        case 500:
            return 'error'
        case _:
            return 'other'
return [{'json': {'code': item['json']['code'], 'label': label(item['json']['code'])}} for item in _items]
