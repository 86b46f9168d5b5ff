# bench/sockterm load: echo-free TCP listeners that accept and hold connections, and a client that opens
# TCP connections and connected UDP sockets. Usage:
#   sockterm_load.py server HOST:PORT...          listens with a deep backlog and never accepts: the
#                                                 connections wait in the accept queue, holding no fd
#   sockterm_load.py client tcp|udp HOST:PORT N   opens N sockets, prints "ready", then waits for stdin EOF
import socket, struct, sys, threading

def server(addrs):
    held = []
    for a in addrs:
        h, p = a.rsplit(':', 1)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((h, int(p)))
        s.listen(65535)
        held.append(s)
    print('ready', flush=True)
    threading.Event().wait()

def client(proto, addr, n):
    h, p = addr.rsplit(':', 1)
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM)
        if proto == 'tcp':
            # closing resets: no FIN_WAIT2 left behind to match the next run's filter
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.connect((h, int(p)))
        socks.append(s)
    print('ready', flush=True)
    sys.stdin.read()

if sys.argv[1] == 'server':
    server(sys.argv[2:])
else:
    client(sys.argv[2], sys.argv[3], int(sys.argv[4]))
