# description: statistics: stdev, variance, pstdev, quantiles (rounded)
# allow: statistics
# mode: all
# items: [{"json": {"v": 2}}, {"json": {"v": 4}}, {"json": {"v": 4}}, {"json": {"v": 4}}, {"json": {"v": 5}}, {"json": {"v": 5}}, {"json": {"v": 7}}, {"json": {"v": 9}}]
# expect: [{"json": {"stdev": 2.13809, "pstdev": 2.0, "variance": 4.571429, "quartiles": [4.0, 4.5, 6.5]}}]
import statistics
values = [item['json']['v'] for item in _items]
return [{'json': {
    'stdev': round(statistics.stdev(values), 6),
    'pstdev': round(statistics.pstdev(values), 6),
    'variance': round(statistics.variance(values), 6),
    'quartiles': statistics.quantiles(values, n=4),
}}]
