# Echo servers for SocketTermination tests: TCP and UDP on each HOST:PORT given as tcp:H:P / udp:H:P.
import socket, sys, threading

def tcp(host, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(1024)
    while True:
        c, _ = s.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()

def echo(c):
    try:
        while True:
            d = c.recv(100)
            if not d:
                return
            c.sendall(d)
    except OSError:
        return

def udp(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    while True:
        d, a = s.recvfrom(100)
        s.sendto(d, a)

for arg in sys.argv[1:]:
    proto, host, port = arg.split(':')
    threading.Thread(target=tcp if proto == 'tcp' else udp, args=(host, int(port)), daemon=True).start()
print('ready', flush=True)
threading.Event().wait()
