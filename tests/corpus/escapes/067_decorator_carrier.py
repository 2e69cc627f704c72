# technique: a decorator expression as the carrier: @(lambda fn: len.__self__) replaces the function with the builtins module
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
@(lambda fn: len.__self__)
def real_builtins():
    pass
return [{'json': {'escaped': real_builtins.eval('6 * 7')}}]
