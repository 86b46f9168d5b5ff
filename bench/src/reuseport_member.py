# A member of the benchmark's SO_REUSEPORT group: binds 127.0.0.1:PORT with SO_REUSEPORT and answers every
# connection with its name after WORK_MS of "work", one connection at a time, so that under load a queue
# builds up in the listener, as in a busy server. Prints "ready" once listening.
# SIGTERM is a graceful stop as most servers do it: finish the connection in hand, then exit without
# draining the accept queue, whose connections the kernel resets unless something migrates them.
#   reuseport_member.py NAME PORT WORK_MS
import signal, socket, sys, time

stopping = False
def stop(signum, frame):
    global stopping
    stopping = True
signal.signal(signal.SIGTERM, stop)

name, port, work = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) / 1000
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", port))
s.listen(4096)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    if work:
        time.sleep(work)
    try:
        c.sendall(name.encode())
    except OSError:
        pass
    c.close()
    if stopping:
        sys.exit(0)
