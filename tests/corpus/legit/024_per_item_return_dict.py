# description: per-item mode returning a new dict for each item
# allow: none
# mode: each
# items: [{"json": {"first": "Ada", "last": "Lovelace"}}, {"json": {"first": "Alan", "last": "Turing"}}]
# expect: [{"json": {"full_name": "Ada Lovelace", "initials": "AL"}, "pairedItem": {"item": 0}}, {"json": {"full_name": "Alan Turing", "initials": "AT"}, "pairedItem": {"item": 1}}]
data = _item['json']
return {'full_name': f"{data['first']} {data['last']}", 'initials': data['first'][0] + data['last'][0]}
