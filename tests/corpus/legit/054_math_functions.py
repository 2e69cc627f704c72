# description: math module: sqrt, floor/ceil, gcd, isclose, pi, log, hypot, comb
# allow: math
# mode: all
# items: [{"json": {}}]
# expect: [{"json": {"sqrt": 4.0, "floor": -3, "ceil": 3, "gcd": 12, "isclose": true, "pi": 3.14159, "log10": 3.0, "hypot": 5.0, "comb": 120, "inf_check": true, "fsum": 1.0}}]
import math
return [{'json': {
    'sqrt': math.sqrt(16),
    'floor': math.floor(-2.5),
    'ceil': math.ceil(2.1),
    'gcd': math.gcd(84, 36),
    'isclose': math.isclose(0.1 + 0.2, 0.3),
    'pi': round(math.pi, 5),
    'log10': math.log10(1000),
    'hypot': math.hypot(3, 4),
    'comb': math.comb(10, 3),
    'inf_check': math.isinf(float('inf')),
    'fsum': math.fsum([0.1] * 10),
}}]
