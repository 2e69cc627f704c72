# technique: inspect.getmembers(json.dumps) lists every attribute by name, __globals__ included (names never written in the code): the module's globals hold the real __builtins__, whose __import__ reaches os
# configs: default, common
# With nothing allowed `import inspect` is refused.
import inspect
import json
u = '_' * 2
members = dict(inspect.getmembers(json.dumps))
real_globals = members[u + 'glob' + 'als' + u]
real_import = real_globals[u + 'built' + 'ins' + u][u + 'imp' + 'ort' + u]
return [{'json': {'escaped': real_import('os').getpid()}}]
