# technique: len.__self__ -> real builtins -> eval, in per-item mode (the static check must run for _item code too)
# configs: default, stdlib_all
# mode: each
# items: [{"json": {"n": 1}}, {"json": {"n": 2}}]
# Blocked attribute (__self__), refused statically in both configurations.
real_builtins = len.__self__
return {'escaped': real_builtins.eval('6 * 7') + _item['json']['n']}
