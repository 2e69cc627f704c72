# technique: scan every open fd of the child for sockets (the broker WebSocket, the control socket, anything inherited)
# configs: default, stdlib_all
# With nothing allowed the imports are refused; under stdlib * a task child must hold no socket it did not open.
import os
import socket
import stat
found = []
for name in os.listdir('/proc/self/fd'):
    fd = int(name)
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        continue
    if stat.S_ISSOCK(mode):
        sock = socket.socket(fileno=fd)
        found.append([fd, int(sock.family), int(sock.type)])
        sock.detach()
if found:
    return [{'json': {'escaped': found}}]
return [{'json': {'result': 'no sockets'}}]
