# description: large integers and exact integer arithmetic
# allow: none
# mode: all
# items: [{"json": {}}]
# expect: [{"json": {"big_text": "1267650600228229401496703205376", "big_digits": 31, "factorial_20": 2432902008176640000, "max_i64": 9223372036854775807, "min_i64": -9223372036854775808, "max_u64": 18446744073709551615, "floor_div": -4, "mod": 2, "pow_mod": 959082}}]
big = 2 ** 100
fact = 1
for k in range(1, 21):
    fact *= k
return [{'json': {
    'big_text': str(big),
    'big_digits': len(str(big)),
    'factorial_20': fact,
    'max_i64': 2 ** 63 - 1,
    'min_i64': -(2 ** 63),
    'max_u64': 2 ** 64 - 1,
    'floor_div': -7 // 2,
    'mod': -7 % 3,
    'pow_mod': pow(3, 200, 1000007),
}}]
