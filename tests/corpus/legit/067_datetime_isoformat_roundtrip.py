# description: datetime.fromisoformat / isoformat with time zones
# allow: datetime
# mode: all
# items: [{"json": {"ts": "2024-06-01T12:30:00+05:30"}}]
# expect: [{"json": {"utc": "2024-06-01T07:00:00+00:00", "plus2": "2024-06-01T09:00:00+02:00", "date": "2024-06-01", "epoch": 1717225200}}]
from datetime import datetime, timedelta, timezone
stamp = datetime.fromisoformat(_items[0]['json']['ts'])
utc = stamp.astimezone(timezone.utc)
plus2 = timezone(timedelta(hours=2))
return [{'json': {
    'utc': utc.isoformat(),
    'plus2': utc.astimezone(plus2).isoformat(),
    'date': stamp.date().isoformat(),
    'epoch': int(utc.timestamp()),
}}]
