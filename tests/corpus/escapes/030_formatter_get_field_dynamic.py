# technique: string.Formatter().get_field with a run-time field name returns the resolved object itself (module globals dict) -> real eval
# configs: default, stdlib_all
# Needs `import string` with nothing allowed; under stdlib * only the runtime guard on get_field stops it.
import string
u = '_' * 2
field = '0.' + u + 'init' + u + '.' + u + 'globals' + u
g, _ = string.Formatter().get_field(field, (exit,), {})
real_eval = g[u + 'builtins' + u]['eval']
return [{'json': {'escaped': real_eval('6 * 7')}}]
