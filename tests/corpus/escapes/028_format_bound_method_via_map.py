# technique: str.format used as a plain function value: map(str.format, [tpl], [exit]) never makes an attribute call the rewriter sees
# configs: default, stdlib_all
# Statically refused as extraction of 'format' as a bound method, in both configurations.
u = '_' * 2
tpl = '{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[' + u + 'builtins' + u + '][eval]}'
text = list(map(str.format, [tpl], [exit]))[0]
if 'built-in function eval' in text:
    return [{'json': {'escaped': text}}]
return [{'json': {'result': text}}]
