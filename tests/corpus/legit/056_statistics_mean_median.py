# description: statistics: mean, median, mode, median_low/high
# allow: statistics
# mode: all
# items: [{"json": {"v": 1}}, {"json": {"v": 3}}, {"json": {"v": 3}}, {"json": {"v": 6}}, {"json": {"v": 7}}, {"json": {"v": 10}}]
# expect: [{"json": {"mean": 5, "median": 4.5, "mode": 3, "median_low": 3, "median_high": 6, "fmean": 5.0}}]
import statistics
values = [item['json']['v'] for item in _items]
return [{'json': {
    'mean': statistics.mean(values),
    'median': statistics.median(values),
    'mode': statistics.mode(values),
    'median_low': statistics.median_low(values),
    'median_high': statistics.median_high(values),
    'fmean': statistics.fmean(values),
}}]
