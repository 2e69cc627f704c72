# technique: a lambda default argument as the carrier: lambda b=len.__self__: b.eval(...)
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
grab = lambda b=len.__self__: b.eval('6 * 7')
return [{'json': {'escaped': grab()}}]
