# technique: exit.__reduce_ex__(1) hands out (copyreg._reconstructor, (Quitter, object, None), state): object without naming it -> subclass walk -> real os
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
recipe = exit.__reduce_ex__(1)
base = recipe[1][1]
for cls in base.__subclasses__():
    if cls.__name__ == '_wrap_close':
        return [{'json': {'escaped': cls.__init__.__globals__['getpid']()}}]
return [{'json': {'result': 'no _wrap_close subclass'}}]
