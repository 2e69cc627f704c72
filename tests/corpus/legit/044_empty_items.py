# description: code that copes with no input items
# allow: none
# mode: all
# items: []
# expect: [{"json": {"message": "nothing to do"}}]
if not _items:
    return [{'json': {'message': 'nothing to do'}}]
return _items
