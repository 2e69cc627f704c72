# description: sort items by a parsed ISO date and compute the age in days
# allow: datetime
# mode: all
# items: [{"json": {"d": "2024-05-01"}}, {"json": {"d": "2023-12-31"}}, {"json": {"d": "2024-12-25"}}]
# expect: [{"json": {"d": "2023-12-31", "age": 366}}, {"json": {"d": "2024-05-01", "age": 244}}, {"json": {"d": "2024-12-25", "age": 6}}]
from datetime import date
rows = sorted(_items, key=lambda item: date.fromisoformat(item['json']['d']))
ref = date(2024, 12, 31)
return [{'json': {'d': r['json']['d'], 'age': (ref - date.fromisoformat(r['json']['d'])).days}} for r in rows]
