# technique: import builtins; builtins.eval (the real, undenied eval)
# configs: default
# Default only: with N8N_RUNNERS_STDLIB_ALLOW=* the builtins module is importable by design, so
# calling its eval is not an escape there.
import builtins
return [{'json': {'escaped': builtins.eval('6 * 7')}}]
