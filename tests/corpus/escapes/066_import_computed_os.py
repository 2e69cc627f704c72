# technique: __import__('o' + 's') -> real os.getpid()
# configs: default
# Default only: under stdlib * importing os is allowed by design.
real_os = __import__('o' + 's')
return [{'json': {'escaped': real_os.getpid()}}]
