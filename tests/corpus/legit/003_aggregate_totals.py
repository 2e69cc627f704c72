# description: aggregation: total, count and average of order amounts
# allow: none
# mode: all
# items: [{"json": {"amount": 10.5}}, {"json": {"amount": 20}}, {"json": {"amount": 4.25}}]
# expect: [{"json": {"total": 34.75, "count": 3, "average": 11.58}}]
amounts = [item['json']['amount'] for item in _items]
total = sum(amounts)
return [{'json': {'total': total, 'count': len(amounts), 'average': round(total / len(amounts), 2)}}]
