# technique: subclass walk starting from the name object: object.__subclasses__()
# configs: default, stdlib_all
# object is a denied builtin and __subclasses__/__globals__ are blocked attributes.
for cls in object.__subclasses__():
    if cls.__name__ == '_wrap_close':
        return [{'json': {'escaped': cls.__init__.__globals__['getpid']()}}]
return [{'json': {'result': 'no _wrap_close subclass'}}]
