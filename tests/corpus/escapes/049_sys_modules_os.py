# technique: import sys; sys.modules['os'] (or posix) to reach os without importing it
# configs: default
# Default only: under stdlib * both sys and os are allowed by design.
import sys
real_os = sys.modules.get('os') or sys.modules.get('posix')
return [{'json': {'escaped': real_os.getpid()}}]
