# description: f-strings with format specs, conversions and expressions
# allow: none
# mode: all
# items: [{"json": {}}]
# expect: [{"json": {"fixed": "0003.142", "thousands": "1,234,567", "percent": "25.6%", "repr": "'hé'", "hex": "0xff", "expr": "1234k", "pad": "[   ab]", "self_doc": "n=1234567"}}]
x = 3.14159
n = 1234567
p = 0.256
s = 'hé'
out = {
    'fixed': f'{x:08.3f}',
    'thousands': f'{n:,}',
    'percent': f'{p:.1%}',
    'repr': f'{s!r}',
    'hex': f'{255:#x}',
    'expr': f'{n // 1000}k',
    'pad': f'[{"ab":>5}]',
    'self_doc': f'{n=}',
}
return [{'json': out}]
