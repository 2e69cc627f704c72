# description: remove duplicates by email while keeping the first occurrence
# allow: none
# mode: all
# items: [{"json": {"email": "A@x.io"}}, {"json": {"email": "b@x.io"}}, {"json": {"email": " a@X.io "}}, {"json": {"email": "c@x.io"}}]
# expect: [{"json": {"email": "a@x.io"}}, {"json": {"email": "b@x.io"}}, {"json": {"email": "c@x.io"}}]
seen = set()
out = []
for item in _items:
    email = item['json']['email'].strip().lower()
    if email in seen:
        continue
    seen.add(email)
    out.append({'json': {'email': email}})
return out
