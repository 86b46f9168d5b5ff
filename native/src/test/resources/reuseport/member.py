# A member of an SO_REUSEPORT group for the kernel tests: binds HOST:PORT and answers every TCP
# connection (or UDP datagram) with its name.
#   member.py NAME tcp|udp HOST PORT [hold|noreuse]
# hold: listen but never accept (connections pile up in the accept queue); noreuse: no SO_REUSEPORT.
# Prints "ready PID" once bound, so the test knows the socket exists.
import os, signal, socket, sys

name, proto, host, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
mode = sys.argv[5] if len(sys.argv) > 5 else "serve"
family = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
if mode != "noreuse":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind((host, port))
if proto == "tcp":
    s.listen(4096)
print("ready", os.getpid(), flush=True)
if mode == "hold":
    while True:
        signal.pause()
if proto == "udp":
    while True:
        data, peer = s.recvfrom(64)
        s.sendto(name.encode(), peer)
while True:
    c, _ = s.accept()
    try:
        c.sendall(name.encode())
    except OSError:
        pass
    c.close()
