# description: recursive function with a dict memo
# allow: none
# mode: all
# items: [{"json": {"n": 10}}, {"json": {"n": 50}}, {"json": {"n": 90}}]
# expect: [{"json": {"n": 10, "fib": 55}}, {"json": {"n": 50, "fib": 12586269025}}, {"json": {"n": 90, "fib": 2880067194370816120}}]
memo = {0: 0, 1: 1}
def fib(n):
    if n not in memo:
        memo[n] = fib(n - 1) + fib(n - 2)
    return memo[n]
return [{'json': {'n': item['json']['n'], 'fib': fib(item['json']['n'])}} for item in _items]
