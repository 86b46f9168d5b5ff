# A client for EgressTimeoutIT. usage: client.py tcp:HOST:PORT | udp:HOST:PORT | syn:HOST:PORT | fin:HOST:PORT ...
# Prints "ut <target> <TCP_USER_TIMEOUT>" per TCP connection, "connected" when all are open, then
# "closed <target> <seconds since connected> <errno>" whenever one ends (0: the peer closed), and for syn:
# "syn <target> <seconds> <errno>" once the attempt failed. Sockets stay idle: nothing is ever sent after
# the first byte each way. fin: as tcp, then shutdown(SHUT_WR), printing "fin <target> <TCP_USER_TIMEOUT>".
import select
import socket
import sys
import time

socks = {}
for arg in sys.argv[1:]:
    kind, rest = arg.split(":", 1)
    host, port = rest.rsplit(":", 1)
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if kind == "syn":
        s = socket.socket(family, socket.SOCK_STREAM)
        t = time.monotonic()
        try:
            s.connect((host, int(port)))
            print("syn", arg, "%.2f" % (time.monotonic() - t), 0, flush=True)
        except OSError as e:
            print("syn", arg, "%.2f" % (time.monotonic() - t), e.errno, flush=True)
        continue
    if kind in ("tcp", "fin"):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.connect((host, int(port)))
        s.sendall(b"x")
        s.recv(1)
        print("ut", arg, s.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT), flush=True)
        if kind == "fin":
            # our FIN goes out; the server never closes its side: FIN_WAIT2 until something ends it
            s.shutdown(socket.SHUT_WR)
            time.sleep(0.2)
            print("fin", arg, s.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT), flush=True)
    else:
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.connect((host, int(port)))
        s.send(b"x")
        s.recv(1)
    socks[s] = arg
print("connected", flush=True)
start = time.monotonic()
while socks:
    ready, _, _ = select.select(list(socks), [], [], 3600)
    for s in ready:
        try:
            data = s.recv(1)
            err = 0 if data == b"" else -1
        except OSError as e:
            err = e.errno
        print("closed", socks.pop(s), "%.2f" % (time.monotonic() - start), err, flush=True)
