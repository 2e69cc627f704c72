# technique: subclass walk through type(1).__base__.__subclasses__() (type() as the class getter)
# configs: default, stdlib_all
# type is a denied builtin and __base__/__subclasses__/__globals__ are blocked attributes.
for cls in type(1).__base__.__subclasses__():
    if cls.__name__ == '_wrap_close':
        return [{'json': {'escaped': cls.__init__.__globals__['getpid']()}}]
return [{'json': {'result': 'no _wrap_close subclass'}}]
