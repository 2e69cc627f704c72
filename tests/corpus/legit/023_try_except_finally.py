# description: try/except/else/finally with several exception types
# allow: none
# mode: all
# items: [{"json": {"raw": "4"}}, {"json": {"raw": "x"}}, {"json": {}}]
# expect: [{"json": {"values": [40, null, null], "log": ["done", "bad 'x'", "done", "missing", "done"]}}]
log = []
def parse(raw):
    try:
        value = int(raw)
    except ValueError:
        log.append(f'bad {raw!r}')
        return None
    except TypeError:
        log.append('missing')
        return None
    else:
        return value * 10
    finally:
        log.append('done')
values = [parse(item['json'].get('raw')) for item in _items]
return [{'json': {'values': values, 'log': log}}]
