# description: per-item mode with datetime: flag weekend dates
# allow: datetime
# mode: each
# items: [{"json": {"d": "2024-03-16"}}, {"json": {"d": "2024-03-18"}}]
# expect: [{"json": {"d": "2024-03-16", "weekend": true, "iso_week": 11}, "pairedItem": {"item": 0}}, {"json": {"d": "2024-03-18", "weekend": false, "iso_week": 12}, "pairedItem": {"item": 1}}]
from datetime import date
d = date.fromisoformat(_item['json']['d'])
return {'d': _item['json']['d'], 'weekend': d.weekday() >= 5, 'iso_week': d.isocalendar()[1]}
