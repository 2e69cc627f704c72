# technique: class pattern `case str(format_map=fm)` extracts the bound str.format_map; fm({'q': exit}) with a run-time template walks __globals__ -> sys.modules -> linecache.os.environ as text
# configs: default, common
# format_map taken out by a match pattern is called by name, never as an attribute call, so the
# format rewriter has nothing to rewrite. The static check now refuses the pattern itself.
u = '_' * 2
tpl = '{q.' + u + 'init' + u + '.' + u + 'globals' + u + '[sys].modules[linecache].os.environ}'
match tpl:
    case str(format_map=fm):
        text = fm({'q': exit})
if text.startswith('environ('):
    return [{'json': {'escaped': text[:300]}}]
return [{'json': {'result': text[:300]}}]
