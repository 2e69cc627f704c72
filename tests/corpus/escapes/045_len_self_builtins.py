# technique: len.__self__ is the real builtins module -> real eval
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
real_builtins = len.__self__
return [{'json': {'escaped': real_builtins.eval('6 * 7')}}]
