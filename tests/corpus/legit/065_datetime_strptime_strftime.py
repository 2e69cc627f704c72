# description: datetime.strptime then strftime and weekday names
# allow: datetime
# mode: all
# items: [{"json": {"date": "15/03/2024 09:30"}}, {"json": {"date": "01/01/2000 00:00"}}]
# expect: [{"json": {"iso": "2024-03-15T09:30", "weekday": "Friday", "month": "Mar"}}, {"json": {"iso": "2000-01-01T00:00", "weekday": "Saturday", "month": "Jan"}}]
from datetime import datetime
out = []
for item in _items:
    when = datetime.strptime(item['json']['date'], '%d/%m/%Y %H:%M')
    out.append({'json': {'iso': when.strftime('%Y-%m-%dT%H:%M'), 'weekday': when.strftime('%A'), 'month': when.strftime('%b')}})
return out
