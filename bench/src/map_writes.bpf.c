// Counts the map writes bpf(2) made, per map id, so that bench/run can check bpfgit's own count
// (ApplyResult) against the kernel's. Built by bench/run with a vmlinux.h dumped from the running kernel,
// loaded and attached by map_writes.c.
//
// Tracepoints on the bpf syscall, not fentry on trie_update_elem/trie_delete_elem: on the test VM's 6.18
// (lockdown=integrity) loading any fentry program fails with EPERM, and kprobes are not configured.
// At the exit of a successful call the kernel's own figure is read back: 1 for MAP_UPDATE_ELEM and
// MAP_DELETE_ELEM, and for the batch commands attr.batch.count, which the kernel overwrites with the
// number of elements it processed (also when it stops early with an error). The map comes from the fd in
// attr, resolved through the calling task's file table (task->files->fdt->fd[fd]->private_data).
// A BPF program's own writes (the XDP counters) do not pass through bpf(2) and are not counted.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct writes {
	__u64 updates;
	__u64 deletes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);           /* map id */
	__type(value, struct writes);
} map_writes SEC(".maps");

struct call {
	__u64 cmd;
	__u64 uattr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);           /* pid_tgid of a thread inside bpf(2) */
	__type(value, struct call);
} calls SEC(".maps");

struct sys_enter_bpf_args {
	__u64 common;
	int nr;
	__u64 cmd;
	__u64 uattr;
	__u64 size;
};

struct sys_exit_bpf_args {
	__u64 common;
	int nr;
	long ret;
};

SEC("tracepoint/syscalls/sys_enter_bpf")
int bpf_enter(struct sys_enter_bpf_args *ctx)
{
	__u64 cmd = ctx->cmd;

	if (cmd != BPF_MAP_UPDATE_ELEM && cmd != BPF_MAP_DELETE_ELEM && cmd != BPF_MAP_LOOKUP_AND_DELETE_ELEM
	    && cmd != BPF_MAP_UPDATE_BATCH && cmd != BPF_MAP_DELETE_BATCH && cmd != BPF_MAP_LOOKUP_AND_DELETE_BATCH)
		return 0;
	struct call c = { .cmd = cmd, .uattr = ctx->uattr };
	__u64 id = bpf_get_current_pid_tgid();
	bpf_map_update_elem(&calls, &id, &c, BPF_ANY);
	return 0;
}

static __always_inline __u32 map_id(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
	struct file *f = NULL;
	struct bpf_map *map;

	if (fd < 0 || fd >= BPF_CORE_READ(task, files, fdt, max_fds))
		return 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f)
		return 0;
	map = BPF_CORE_READ(f, private_data);
	return map ? BPF_CORE_READ(map, id) : 0;
}

SEC("tracepoint/syscalls/sys_exit_bpf")
int bpf_exit(struct sys_exit_bpf_args *ctx)
{
	__u64 tid = bpf_get_current_pid_tgid();
	struct call *c = bpf_map_lookup_elem(&calls, &tid);

	if (!c)
		return 0;
	__u64 cmd = c->cmd;
	union bpf_attr *uattr = (union bpf_attr *)c->uattr;
	bpf_map_delete_elem(&calls, &tid);

	__u32 fd = 0, n = 0;
	if (cmd == BPF_MAP_UPDATE_ELEM || cmd == BPF_MAP_DELETE_ELEM || cmd == BPF_MAP_LOOKUP_AND_DELETE_ELEM) {
		if (ctx->ret != 0)
			return 0;
		bpf_probe_read_user(&fd, sizeof(fd), &uattr->map_fd);
		n = 1;
	} else {
		/* the batch commands write the processed count back, also on an error part-way */
		bpf_probe_read_user(&fd, sizeof(fd), &uattr->batch.map_fd);
		bpf_probe_read_user(&n, sizeof(n), &uattr->batch.count);
	}
	if (n == 0)
		return 0;
	__u32 id = map_id(fd);
	if (!id)
		return 0;
	struct writes *w = bpf_map_lookup_elem(&map_writes, &id);
	if (!w) {
		struct writes zero = {};
		bpf_map_update_elem(&map_writes, &id, &zero, BPF_NOEXIST);
		w = bpf_map_lookup_elem(&map_writes, &id);
		if (!w)
			return 0;
	}
	if (cmd == BPF_MAP_UPDATE_ELEM || cmd == BPF_MAP_UPDATE_BATCH)
		__sync_fetch_and_add(&w->updates, n);
	else
		__sync_fetch_and_add(&w->deletes, n);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
