# Echo server for EgressTimeoutIT: answers the first byte of every TCP connection and UDP datagram on the
# given addresses, then keeps the connections open and idle. usage: server.py PORT ADDRESS...
import socket
import sys
import threading
import time

port = int(sys.argv[1])


def tcp(addr):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    l = socket.socket(family, socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((addr, port))
    l.listen(128)
    held = []
    while True:
        c, _ = l.accept()
        held.append(c)
        c.recv(1)
        c.sendall(b"y")


def udp(addr):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        data, peer = s.recvfrom(16)
        s.sendto(b"y", peer)


for a in sys.argv[2:]:
    threading.Thread(target=tcp, args=(a,), daemon=True).start()
    threading.Thread(target=udp, args=(a,), daemon=True).start()
time.sleep(0.3)
print("ready", flush=True)
time.sleep(86400)
