# technique: ''.__init_subclass__.__self__ is str (a type() replacement); __mro__[-1] is object -> subclass walk -> real os
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
root = ''.__init_subclass__.__self__.__mro__[-1]
for cls in root.__subclasses__():
    if cls.__name__ == '_wrap_close':
        return [{'json': {'escaped': cls.__init__.__globals__['getpid']()}}]
return [{'json': {'result': 'no _wrap_close subclass'}}]
