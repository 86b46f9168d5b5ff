// The loader of map_writes.bpf.o (bpftool 7.1 cannot attach fentry programs): loads the object, attaches
// its programs and pins the links and the counter map under DIR, then exits; the pins keep them alive.
// `rm -r DIR` detaches and frees everything.
//
//   map_writes OBJ DIR      -> DIR/map_writes (the counters: u32 map id -> u64 updates, u64 deletes),
//                              DIR/link_<program> for each program
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s OBJ DIR\n", argv[0]);
		return 2;
	}
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "map_writes: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	int err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "map_writes: load: %s\n", strerror(-err));
		return 1;
	}
	if (mkdir(argv[2], 0700) && errno != EEXIST) {
		fprintf(stderr, "map_writes: mkdir %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	char path[4096];
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "map_writes");
	snprintf(path, sizeof(path), "%s/map_writes", argv[2]);
	if (!map || (err = bpf_map__pin(map, path))) {
		fprintf(stderr, "map_writes: pin %s: %s\n", path, strerror(map ? -err : ENOENT));
		return 1;
	}
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		struct bpf_link *link = bpf_program__attach(prog);
		if (!link) {
			fprintf(stderr, "map_writes: attach %s: %s\n", bpf_program__name(prog), strerror(errno));
			return 1;
		}
		snprintf(path, sizeof(path), "%s/link_%s", argv[2], bpf_program__name(prog));
		if ((err = bpf_link__pin(link, path))) {
			fprintf(stderr, "map_writes: pin %s: %s\n", path, strerror(-err));
			return 1;
		}
	}
	return 0;
}
