# A SocketTermination test client: connects one socket per argument (tcp:H:P or udp:H:P, UDP connected),
# prints "socket PROTO H P LOCALPORT" for each and "ready". Then, for every line "check" on stdin, tries
# each socket and prints "result PROTO H P LOCALPORT STATUS": STATUS is "ok" when an echo came back, else the
# errno name of the first failure (ECONNABORTED for a destroyed socket, seen on the next read), then "done".
import errno, socket, sys

socks = []
for arg in sys.argv[1:]:
    proto, host, port = arg.split(':')
    if proto == 'tcp':
        s = socket.create_connection((host, int(port)))
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((host, int(port)))
    local = s.getsockname()[1]   # a destroyed UDP socket is disconnected and loses its port: keep it
    socks.append((proto, host, port, local, s))
    print('socket', proto, host, port, local, flush=True)
print('ready', flush=True)

def check(s):
    s.settimeout(0.1)
    try:
        d = s.recv(100)   # nothing is pending on a live socket: a timeout; a destroyed one fails here
        return 'closed' if not d else 'unexpected-data'
    except socket.timeout:
        pass
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    s.settimeout(3)
    try:
        s.send(b'ping')
        return 'ok' if s.recv(100) == b'ping' else 'bad-echo'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

for line in sys.stdin:
    for proto, host, port, local, s in socks:
        print('result', proto, host, port, local, check(s), flush=True)
    print('done', flush=True)
