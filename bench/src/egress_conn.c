// bench/egress's load tool (see bench/README.md).
//   egress_conn serve PORT           accept on 0.0.0.0:PORT, keep every connection open (until the peer closes)
//   egress_conn rate HOST PORT N     N connections one after another (connect, close); prints "conn/s ELAPSED_S"
//   egress_conn hold HOST PORT N     opens N connections, prints "held N", then sleeps until killed
//   egress_conn walk PROG_PIN R      runs the pinned iterator program R times (a link, BPF_ITER_CREATE, read to
//                                    EOF: one reaper pass); prints per run "cpu_ms lines wall_ms" (CPU: this
//                                    process's user + system time, where the program runs; lines: sockets written);
//                                    R = 0: one run, printing what the program wrote
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static void raise_nofile(void)
{
	struct rlimit r = { 1 << 20, 1 << 20 };
	setrlimit(RLIMIT_NOFILE, &r);
}

static int dial(struct sockaddr_in *a)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)a, sizeof(*a)) < 0) {
		perror("connect");
		exit(1);
	}
	return s;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	raise_nofile();
	if (!strcmp(argv[1], "serve")) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
		int l = socket(AF_INET, SOCK_STREAM, 0), one = 1, ep = epoll_create1(0);
		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4096)) {
			perror("listen");
			return 1;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = l };
		epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
		printf("ready\n");
		fflush(stdout);
		for (;;) {
			struct epoll_event evs[256];
			int n = epoll_wait(ep, evs, 256, -1);
			for (int i = 0; i < n; i++) {
				if (evs[i].data.fd == l) {
					int c = accept(l, NULL, NULL);
					if (c < 0)
						continue;
					struct epoll_event ce = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
				} else {
					char b[64];
					if (read(evs[i].data.fd, b, sizeof(b)) <= 0)
						close(evs[i].data.fd);
				}
			}
		}
	}
	if (!strcmp(argv[1], "walk")) {
		int prog = bpf_obj_get(argv[2]);
		if (prog < 0) {
			perror("bpf_obj_get");
			return 1;
		}
		int link = bpf_link_create(prog, 0, BPF_TRACE_ITER, NULL);
		if (link < 0) {
			perror("bpf_link_create");
			return 1;
		}
		static char buf[1 << 16];
		if (atoi(argv[3]) == 0) {   /* once, printing what the program wrote */
			int it = bpf_iter_create(link);
			ssize_t k;
			while (it >= 0 && (k = read(it, buf, sizeof(buf))) > 0)
				fwrite(buf, 1, k, stdout);
			return it < 0;
		}
		for (int r = 0; r < atoi(argv[3]); r++) {
			double t = now(), c = cpu();
			long lines = 0;
			int it = bpf_iter_create(link);
			if (it < 0) {
				perror("bpf_iter_create");
				return 1;
			}
			ssize_t k;
			while ((k = read(it, buf, sizeof(buf))) > 0)
				for (ssize_t i = 0; i < k; i++)
					lines += buf[i] == '\n';
			close(it);
			printf("%.3f %ld %.3f\n", (cpu() - c) * 1e3, lines, (now() - t) * 1e3);
		}
		return 0;
	}
	if (argc < 5)
		return 2;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[3])) };
	inet_pton(AF_INET, argv[2], &a.sin_addr);
	long n = atol(argv[4]);
	if (!strcmp(argv[1], "rate")) {
		struct linger lg = { 1, 0 };   /* RST on close: no TIME_WAIT pile-up between rounds */
		double t = now();
		for (long i = 0; i < n; i++) {
			int s = dial(&a);
			setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(s);
		}
		double e = now() - t;
		printf("%.1f %.3f\n", n / e, e);
		return 0;
	}
	if (!strcmp(argv[1], "hold")) {
		for (long i = 0; i < n; i++)
			dial(&a);
		printf("held %ld\n", n);
		fflush(stdout);
		pause();
	}
	return 2;
}
