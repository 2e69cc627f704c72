# technique: class pattern `case str(format=fmt)` extracts the bound str.format without an attribute call, so the format rewriter never sees fmt(exit); a run-time template reads __init__.__globals__[sys].modules as text
# configs: default, common
# The template is built at run time. The static check now refuses a class pattern that extracts
# a format method (it let this one through before); this stays as its regression test.
u = '_' * 2
tpl = '{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[sys].modules}'
match tpl:
    case str(format=fmt):
        text = fmt(exit)
if "<module 'sys'" in text:
    return [{'json': {'escaped': text[:300]}}]
return [{'json': {'result': text[:300]}}]
