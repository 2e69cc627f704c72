# description: unicode text: case mapping, length, slicing, normalisation-free comparisons, encoding
# allow: none
# mode: all
# items: [{"json": {"text": "héllo wörld ✓"}}]
# expect: [{"json": {"upper": "HÉLLO WÖRLD ✓", "length": 13, "reversed": "✓ dlröw olléh", "words": ["héllo", "wörld", "✓"], "casefold_equal": true, "utf8_bytes": 17, "emoji": "👍👍", "title": "Élan Vital"}}]
text = _items[0]['json']['text']
return [{'json': {
    'upper': text.upper(),
    'length': len(text),
    'reversed': text[::-1],
    'words': text.split(),
    'casefold_equal': 'STRASSE'.casefold() == 'straße'.casefold(),
    'utf8_bytes': len(text.encode('utf-8')),
    'emoji': '👍' * 2,
    'title': 'élan vital'.title(),
}}]
