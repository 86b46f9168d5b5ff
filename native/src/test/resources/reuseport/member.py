# A member of an SO_REUSEPORT group for the kernel tests: binds HOST:PORT and answers every TCP
# connection (or UDP datagram) with its name.
#   member.py NAME tcp|udp HOST[,HOST...] PORT [hold|noreuse]
# Several hosts (or one repeated): one socket each, as a server with several workers or with IPv4 and
# IPv6 listeners; each socket then answers NAME#i (i its position in the list).
# hold: listen but never accept (connections pile up in the accept queue); noreuse: no SO_REUSEPORT.
# Prints "ready PID" once bound, so the test knows the sockets exist.
import os, signal, socket, sys, threading

name, proto, hosts, port = sys.argv[1], sys.argv[2], sys.argv[3].split(","), int(sys.argv[4])
mode = sys.argv[5] if len(sys.argv) > 5 else "serve"


def bind(host):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    if mode != "noreuse":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    if proto == "tcp":
        s.listen(4096)
    return s


def serve(s, answer):
    if proto == "udp":
        while True:
            data, peer = s.recvfrom(64)
            s.sendto(answer, peer)
    while True:
        c, _ = s.accept()
        try:
            c.sendall(answer)
        except OSError:
            pass
        c.close()


socks = [bind(h) for h in hosts]
print("ready", os.getpid(), flush=True)
if mode == "hold":
    while True:
        signal.pause()
answers = [name.encode()] if len(socks) == 1 else [(name + "#" + str(i)).encode() for i in range(len(socks))]
for s, a in list(zip(socks, answers))[1:]:
    threading.Thread(target=serve, args=(s, a), daemon=True).start()
serve(socks[0], answers[0])
