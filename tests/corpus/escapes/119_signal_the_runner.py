# technique: find the runner (the forkserver's parent) through /proc and check that a signal to it would be delivered (signal 0), the first step of killing the runner or the forkserver
# configs: stdlib_all
# With nothing allowed `import os` is refused, so only the stdlib-* configuration is meaningful.
# Task processes run as an unprivileged user when the runner is root, so the kernel refuses.
import os
def parent(pid):
    fd = os.open('/proc/%s/stat' % pid, os.O_RDONLY)
    try:
        return int(os.read(fd, 4096).decode().rsplit(')', 1)[1].split()[1])
    finally:
        os.close(fd)
forkserver = parent('self')
runner = parent(forkserver)
reachable = []
for pid in (forkserver, runner):
    if pid <= 0:
        continue  # outside the task's PID namespace: no pid to signal (0 would be its own group)
    try:
        os.kill(pid, 0)
        reachable.append(pid)
    except PermissionError:
        pass
if reachable:
    return [{'json': {'escaped': reachable}}]
return [{'json': {'result': 'no signal reaches the runner or the forkserver'}}]
