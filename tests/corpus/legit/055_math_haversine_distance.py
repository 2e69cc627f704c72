# description: math trigonometry: great-circle distance between two coordinates
# allow: math
# mode: all
# items: [{"json": {"lat": 52.52, "lon": 13.405}}, {"json": {"lat": 48.8566, "lon": 2.3522}}]
# expect: [{"json": {"km": 877.5}}]
from math import radians, sin, cos, asin, sqrt
def haversine(a, b):
    lat1, lon1, lat2, lon2 = map(radians, [a['lat'], a['lon'], b['lat'], b['lon']])
    h = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371 * asin(sqrt(h))
a, b = (item['json'] for item in _items)
return [{'json': {'km': round(haversine(a, b), 1)}}]
