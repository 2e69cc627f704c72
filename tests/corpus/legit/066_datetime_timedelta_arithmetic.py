# description: datetime/timedelta arithmetic: due dates, differences, total_seconds
# allow: datetime
# mode: all
# items: [{"json": {}}]
# expect: [{"json": {"due": "2024-03-02T01:00:00", "days": 38, "hours": 912.0, "leap_day": 29, "weeks_later": "2024-02-14"}}]
from datetime import date, datetime, timedelta
start = datetime(2024, 2, 27, 22, 0)
due = start + timedelta(days=3, hours=3)
diff = datetime(2024, 3, 10) - datetime(2024, 2, 1)
return [{'json': {
    'due': due.isoformat(),
    'days': diff.days,
    'hours': diff.total_seconds() / 3600,
    'leap_day': (date(2024, 3, 1) - timedelta(days=1)).day,
    'weeks_later': str(date(2024, 1, 31) + timedelta(weeks=2)),
}}]
