# technique: use fd 3, the forkserver's control socket, from inside a task child (it must be closed there)
# configs: default, stdlib_all
# With nothing allowed the imports are refused; under stdlib * the child must not hold the forkserver's socket.
import os
import socket
import stat
try:
    mode = os.fstat(3).st_mode
except OSError:
    return [{'json': {'result': 'fd 3 is closed'}}]
if not stat.S_ISSOCK(mode):
    return [{'json': {'result': 'fd 3 is not a socket'}}]
sock = socket.socket(fileno=3)
kind = (int(sock.family), int(sock.type))
sock.detach()
if kind == (int(socket.AF_UNIX), int(socket.SOCK_SEQPACKET)):
    return [{'json': {'escaped': 'forkserver control socket on fd 3'}}]
return [{'json': {'result': 'fd 3 is another socket'}}]
