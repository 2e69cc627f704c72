# description: re.findall to extract e-mail addresses
# allow: re
# mode: all
# items: [{"json": {"text": "Contact ada@example.com or bob.smith+n8n@mail.co.uk today."}}]
# expect: [{"json": {"emails": ["ada@example.com", "bob.smith+n8n@mail.co.uk"]}}]
import re
text = _items[0]['json']['text']
return [{'json': {'emails': re.findall(r'[\w.+-]+@[\w-]+\.[\w.]+', text)}}]
