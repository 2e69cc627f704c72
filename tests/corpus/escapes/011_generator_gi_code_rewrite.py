# technique: gi_code.replace(co_names=...) turns `target.placeholder` into an attribute read of a computed name (__self__), swapped in through __code__
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
def template(target):
    yield target.placeholder
dunder_self = '_' * 2 + 'self' + '_' * 2
template.__code__ = template(None).gi_code.replace(co_names=(dunder_self,))
real_builtins = next(template(len))
return [{'json': {'escaped': real_builtins.eval('6 * 7')}}]
