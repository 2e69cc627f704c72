# description: math and statistics together: z-scores
# allow: math,statistics
# mode: all
# items: [{"json": {"v": 10}}, {"json": {"v": 20}}, {"json": {"v": 30}}]
# expect: [{"json": {"z": [-1.225, 0.0, 1.225], "floor_mu": 20}}]
import math
import statistics
values = [item['json']['v'] for item in _items]
mu = statistics.mean(values)
sigma = statistics.pstdev(values)
return [{'json': {'z': [round((v - mu) / sigma, 3) for v in values], 'floor_mu': math.floor(mu)}}]
