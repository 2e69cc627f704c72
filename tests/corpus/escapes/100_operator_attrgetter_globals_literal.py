# technique: operator.attrgetter('__init__.__globals__')(exit) (attribute names as a string argument)
# configs: default, stdlib_all
# With nothing allowed `import operator` is refused; under stdlib * the literal '... __globals__' string is the violation.
import operator
g = operator.attrgetter('__globals__')(exit.__init__)
return [{'json': {'escaped': g['__builtins__']['eval']('6 * 7')}}]
