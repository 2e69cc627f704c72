# technique: subclass walk ().__class__.__bases__[0].__subclasses__() -> os._wrap_close.__init__.__globals__ -> real os.getpid()
# configs: default, stdlib_all
# Every route here uses blocked attributes, which the static check refuses whatever the
# allowlists say, so this is an escape attempt in both configurations.
for cls in ().__class__.__bases__[0].__subclasses__():
    if cls.__name__ == '_wrap_close':
        real_os = cls.__init__.__globals__
        return [{'json': {'escaped': real_os['getpid']()}}]
return [{'json': {'result': 'no _wrap_close subclass'}}]
