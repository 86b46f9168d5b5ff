# bench/sockterm load: echo-free TCP listeners that accept and hold connections, and a client that opens
# TCP connections and connected UDP sockets. Usage:
#   sockterm_load.py server HOST:PORT...          listens, accepts, holds; prints "ready"
#   sockterm_load.py client tcp|udp HOST:PORT N   opens N sockets, prints "ready", then waits for stdin EOF
import socket, sys, selectors

def server(addrs):
    sel = selectors.DefaultSelector()
    for a in addrs:
        h, p = a.rsplit(':', 1)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((h, int(p)))
        s.listen(65535)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    print('ready', flush=True)
    held = []
    while True:
        for key, _ in sel.select():
            try:
                while True:
                    c, _ = key.fileobj.accept()
                    held.append(c)
            except BlockingIOError:
                pass

def client(proto, addr, n):
    h, p = addr.rsplit(':', 1)
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM)
        s.connect((h, int(p)))
        socks.append(s)
    print('ready', flush=True)
    sys.stdin.read()

if sys.argv[1] == 'server':
    server(sys.argv[2:])
else:
    client(sys.argv[2], sys.argv[3], int(sys.argv[4]))
