# description: int/float conversion, round-half-even, divmod, abs, float formatting
# allow: none
# mode: all
# items: [{"json": {}}]
# expect: [{"json": {"int": 42, "float": 1000.0, "round_half_even": [0, 2, 2], "round_2": 2.67, "divmod": [3, 2], "abs": 3.5, "int_trunc": -3, "hex_parse": 255, "bool_sum": 2, "float_str": "0.30000000000000004"}}]
return [{'json': {
    'int': int('42'),
    'float': float('1e3'),
    'round_half_even': [round(0.5), round(1.5), round(2.5)],
    'round_2': round(2.675, 2),
    'divmod': list(divmod(17, 5)),
    'abs': abs(-3.5),
    'int_trunc': int(-3.9),
    'hex_parse': int('ff', 16),
    'bool_sum': sum([True, True, False]),
    'float_str': str(0.1 + 0.2),
}}]
