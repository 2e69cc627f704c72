# The floor of a Code node, for `cargo bench --bench load`: what its code costs in a warm
# interpreter, and what forking that interpreter costs, with no runner in between.
#
# Reads {"code", "items", "preload"} on stdin: the node's code (an all-items body that uses
# `_items` and `return`s), the task's items ([{"json": ...}, ...]) and the modules to import first.
# Prints {"compute_ms", "fork_ms"} on stdout: the median wall time of one call of the code, after
# warm-up, and the CPU time (parent and reaped child) of one fork + `_exit` + `waitpid`.
import json
import os
import statistics
import sys
import time

spec = json.load(sys.stdin)
for module in spec["preload"]:
    __import__(module)

body = "".join("    " + line + "\n" for line in spec["code"].splitlines())
namespace = {}
exec("def node(_items):\n" + body, namespace)
node = namespace["node"]
items = spec["items"]

result = None
for _ in range(5):
    result = node(items)
if not isinstance(result, list) or not result:
    sys.exit(f"the node's code returned {result!r:.200}")

runs = []
for _ in range(50):
    start = time.perf_counter()
    node(items)
    runs.append(time.perf_counter() - start)

FORKS = 200
before = os.times()
for _ in range(FORKS):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
after = os.times()
cpu = (
    after.user + after.system + after.children_user + after.children_system
    - before.user - before.system - before.children_user - before.children_system
)

print(json.dumps({
    "compute_ms": statistics.median(runs) * 1000,
    "fork_ms": cpu / FORKS * 1000,
    "result_items": len(result),
}))
