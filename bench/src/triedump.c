/*
 * triedump: the C floor's dump step (BPF_MAP_LOOKUP_BATCH in chunks of 10000 entries, one syscall per chunk,
 * into arrays sized once beforehand, as mapbench's dump_batch does) run on a map that already exists, so that
 * bpfgit's observe and the C dump can be compared on the very same kernel object. Our own code for bench/run
 * (bench/README.md, "The warm ratio paired with the C floor"); mapbench (../shared/bench) stays the floor.
 *
 *   triedump PIN [REPS]      dump the pinned map REPS times (default 3) after one untimed dump
 *   triedump -f N [REPS]     create a fresh LPM trie as mapbench does (8-byte /32 keys i * 2654435761,
 *                            32-byte values, BPF_F_NO_PREALLOC, filled with update_elem for i = 0..N-1),
 *                            then dump it the same way (for the experiments on where the floor's spread
 *                            comes from)
 *
 * One line per timed dump on stdout: "dump WALL_NS CPU_NS ENTRIES" (CPU: CLOCK_PROCESS_CPUTIME_ID, the whole
 * process, which has one thread). Exit 1 with a message on stderr on any error. Creates no pins.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#define CHUNK 10000	/* mapbench's default -b: entries per LOOKUP_BATCH syscall */

static uint64_t ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fail(const char *what, int err)
{
	fprintf(stderr, "triedump: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* LOOKUP_BATCH of the whole map in chunks of CHUNK entries; returns the number of entries read */
static size_t dump(int fd, uint8_t *keys, uint8_t *vals, size_t cap, uint32_t ks, uint32_t vs)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	uint64_t in_tok = 0, out_tok = 0;
	void *in = NULL;
	size_t n = 0;

	for (;;) {
		uint32_t cnt = cap - n < CHUNK ? (uint32_t)(cap - n) : CHUNK;
		int err;

		if (!cnt) {
			fprintf(stderr, "triedump: more entries than max_entries\n");
			exit(1);
		}
		err = bpf_map_lookup_batch(fd, in, &out_tok, keys + n * ks, vals + n * vs, &cnt, &o);
		n += cnt;
		if (err == -ENOENT)
			return n;
		if (err)
			fail("LOOKUP_BATCH", err);
		in_tok = out_tok;
		in = &in_tok;
	}
}

int main(int argc, char **argv)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	int fd, reps = 3, arg = 1;
	long fresh = 0;

	if (argc > 2 && !strcmp(argv[1], "-f")) {
		fresh = strtol(argv[2], NULL, 10);
		arg = 3;
	} else if (argc > 1) {
		arg = 2;
	}
	if (argc < 2 || argc > arg + 1 || (argc > 2 && !strcmp(argv[1], "-f") && fresh < 1)) {
		fprintf(stderr, "usage: triedump PIN [REPS] | triedump -f N [REPS]\n");
		return 2;
	}
	if (argc == arg + 1)
		reps = atoi(argv[arg]);
	if (fresh) {
		LIBBPF_OPTS(bpf_map_create_opts, co, .map_flags = BPF_F_NO_PREALLOC);
		uint8_t key[8], val[32] = { 0 };

		fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "triedump", 8, 32, (uint32_t)(fresh + fresh / 100 + 1), &co);
		if (fd < 0)
			fail("map create", fd);
		for (long i = 0; i < fresh; i++) {
			uint32_t plen = 32, addr = htonl((uint32_t)i * 2654435761u);

			memcpy(key, &plen, 4);
			memcpy(key + 4, &addr, 4);
			memcpy(val, &i, sizeof(i));
			if (bpf_map_update_elem(fd, key, val, BPF_ANY))
				fail("update_elem", errno);
		}
	} else {
		fd = bpf_obj_get(argv[1]);
		if (fd < 0)
			fail(argv[1], errno);
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		fail("map info", errno);
	size_t cap = (size_t)info.max_entries + 1;
	uint8_t *keys = calloc(cap, info.key_size), *vals = calloc(cap, info.value_size);

	if (!keys || !vals)
		fail("calloc", ENOMEM);
	dump(fd, keys, vals, cap, info.key_size, info.value_size);	/* untimed: page in the arrays */
	for (int r = 0; r < reps; r++) {
		uint64_t w0 = ns(CLOCK_MONOTONIC), c0 = ns(CLOCK_PROCESS_CPUTIME_ID);
		size_t n = dump(fd, keys, vals, cap, info.key_size, info.value_size);
		uint64_t c1 = ns(CLOCK_PROCESS_CPUTIME_ID), w1 = ns(CLOCK_MONOTONIC);

		printf("dump %llu %llu %zu\n", (unsigned long long)(w1 - w0), (unsigned long long)(c1 - c0), n);
	}
	return 0;
}
