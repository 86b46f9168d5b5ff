// SPDX-License-Identifier: GPL-2.0
/*
 * Map write counter of `bpfgit run`: counts, per watched map id, the elements
 * written or deleted through bpf(2), so that a drift tick can keep the map
 * contents it read last time when nothing wrote to the map since, instead of
 * dumping 100,000 entries again (run/, observe/EntryCache).
 *
 * One raw tracepoint program on sys_exit (no tracefs needed, unlike the
 * syscalls/sys_exit_bpf event, which is not mounted on every host): it returns
 * at once unless the syscall was bpf(2); for a successful MAP_UPDATE_ELEM,
 * MAP_DELETE_ELEM or MAP_LOOKUP_AND_DELETE_ELEM it counts 1, for the batch
 * commands attr.batch.count, which the kernel writes back with the elements it
 * processed. The count is taken at the exit, after the write is in the map:
 * user space reads the count before it dumps a map, so a write it does not see
 * in the dump always shows as a changed count next time.
 *
 * The map is found from the fd in attr through the caller's file table. When
 * that fails (the fd was closed by another thread before the exit), the write
 * goes to mw_unresolved, and user space then trusts no count until it dumped
 * every map again. Writes made by BPF programs are not syscalls and are not
 * counted: bpfgit's programs write only their statistics maps, which observe
 * does not read; user space also re-reads everything at a longer period.
 *
 * No vmlinux.h: the kernel types below carry preserve_access_index and are
 * relocated against the running kernel's BTF (CO-RE). x86_64 registers.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define PAI __attribute__((preserve_access_index))
#define NR_BPF 321 /* x86_64 */

struct pt_regs {
	unsigned long di;
	unsigned long si;
	unsigned long orig_ax;
} PAI;

struct bpf_map {
	__u32 id;
} PAI;

struct file {
	void *private_data;
} PAI;

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
} PAI;

struct files_struct {
	struct fdtable *fdt;
} PAI;

struct task_struct {
	struct files_struct *files;
} PAI;

/* watched map id -> elements written or deleted through bpf(2) since user space added it */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} mw_counts SEC(".maps");

/* [0]: writes whose map could not be resolved */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} mw_unresolved SEC(".maps");

static __always_inline __u32 map_id(__u32 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = NULL;
	struct bpf_map *map;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f)
		return 0;
	map = BPF_CORE_READ(f, private_data);
	return map ? BPF_CORE_READ(map, id) : 0;
}

SEC("raw_tracepoint/sys_exit")
int mw_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long ret = (long)ctx->args[1];

	if (BPF_CORE_READ(regs, orig_ax) != NR_BPF)
		return 0;
	__u64 cmd = BPF_CORE_READ(regs, di);
	union bpf_attr *uattr = (union bpf_attr *)BPF_CORE_READ(regs, si);
	__u32 fd = 0, n = 0;

	if (cmd == BPF_MAP_UPDATE_ELEM || cmd == BPF_MAP_DELETE_ELEM || cmd == BPF_MAP_LOOKUP_AND_DELETE_ELEM) {
		if (ret != 0)
			return 0;
		bpf_probe_read_user(&fd, sizeof(fd), &uattr->map_fd);
		n = 1;
	} else if (cmd == BPF_MAP_UPDATE_BATCH || cmd == BPF_MAP_DELETE_BATCH
		   || cmd == BPF_MAP_LOOKUP_AND_DELETE_BATCH) {
		/* written back also when the call fails part-way */
		bpf_probe_read_user(&fd, sizeof(fd), &uattr->batch.map_fd);
		bpf_probe_read_user(&n, sizeof(n), &uattr->batch.count);
	} else {
		return 0;
	}
	if (n == 0)
		return 0;
	__u32 id = map_id(fd);
	if (!id) {
		__u32 zero = 0;
		__u64 *u = bpf_map_lookup_elem(&mw_unresolved, &zero);

		if (u)
			__sync_fetch_and_add(u, n);
		return 0;
	}
	__u64 *c = bpf_map_lookup_elem(&mw_counts, &id);

	if (c)
		__sync_fetch_and_add(c, n);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
