# technique: match class pattern with a keyword sub-pattern: case types.BuiltinFunctionType(__self__=m) on len -> builtins module
# configs: default, stdlib_all
# With nothing allowed `import types` is refused; the __self__ keyword pattern is refused statically in both.
import types
match len:
    case types.BuiltinFunctionType(__self__=real_builtins):
        return [{'json': {'escaped': real_builtins.eval('6 * 7')}}]
return [{'json': {'result': 'no match'}}]
