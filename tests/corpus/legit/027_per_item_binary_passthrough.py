# description: per-item mode returning json plus binary
# allow: none
# mode: each
# items: [{"json": {"name": "a.txt"}}]
# expect: [{"json": {"file": "a.txt"}, "pairedItem": {"item": 0}, "binary": {"data": {"fileName": "a.txt", "mimeType": "text/plain", "data": "aGk="}}}]
return {'json': {'file': _item['json']['name']}, 'binary': {'data': {'fileName': _item['json']['name'], 'mimeType': 'text/plain', 'data': 'aGk='}}}
