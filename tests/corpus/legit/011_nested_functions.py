# description: nested helper functions calling each other
# allow: none
# mode: all
# items: [{"json": {"title": "  Hello   World "}}, {"json": {"title": "n8n Python Runner"}}]
# expect: [{"json": {"slug": "hello-world"}}, {"json": {"slug": "n8n-python-runner"}}]
def normalise(text):
    return ' '.join(text.split()).strip().lower()

def slug(text):
    return normalise(text).replace(' ', '-')

return [{'json': {'slug': slug(item['json']['title'])}} for item in _items]
