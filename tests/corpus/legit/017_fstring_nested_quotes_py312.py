# description: PEP 701 f-string reusing the outer quote inside the replacement field (Python 3.12+ only)
# allow: none
# mode: all
# items: [{"json": {"name": "Ada"}}, {"json": {"name": "Linus"}}]
# expect: [{"json": {"greeting": "Hi Ada"}}, {"json": {"greeting": "Hi Linus"}}]
# min_python: 3.12
return [{'json': {'greeting': f"Hi {item["json"]["name"]}"}} for item in _items]
