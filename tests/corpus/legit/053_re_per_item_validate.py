# description: per-item mode validating a field with re, dropping invalid items
# allow: re
# mode: each
# items: [{"json": {"phone": "+49 30 1234567"}}, {"json": {"phone": "call me"}}, {"json": {"phone": "0301234567"}}]
# expect: [{"json": {"phone": "+49301234567"}, "pairedItem": {"item": 0}}, {"json": {"phone": "0301234567"}, "pairedItem": {"item": 2}}]
import re
if not re.match(r'^\+?\d[\d ]{6,}$', _item['json']['phone']):
    return None
return {'phone': re.sub(r'\s+', '', _item['json']['phone'])}
