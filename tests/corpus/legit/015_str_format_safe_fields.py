# description: str.format with positional, keyword, index and key fields and specs
# allow: none
# mode: all
# items: [{"json": {"name": "Ada", "age": 36, "city": "London"}}]
# expect: [{"json": {"a": "1 + 2 = 3", "b": "Ada is 36 years old", "c": "London / first", "d": "    3.14|ab    |  mid  |", "e": "1,234,567"}}]
row = _items[0]['json']
a = '{} + {} = {}'.format(1, 2, 3)
b = '{name} is {age:d} years old'.format(**row)
c = '{0[city]} / {1[0]}'.format(row, ['first', 'second'])
d = '{:>8.2f}|{:<6}|{:^7}|'.format(3.14159, 'ab', 'mid')
e = '{:,}'.format(1234567)
return [{'json': {'a': a, 'b': b, 'c': c, 'd': d, 'e': e}}]
