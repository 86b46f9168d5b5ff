package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.AttachedProgram;
import dev.bpfgit.kernel.LinkInfo;
import dev.bpfgit.kernel.MapInfo;
import dev.bpfgit.kernel.PinType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * tc programs on kernels without tcx: a clsact qdisc and one cls_bpf direct-action filter per (interface,
 * direction) at bpfgit's own handle and priority, through libbpf's bpf_tc_* (netlink inside libbpf).
 *
 * <p>A filter has no bpf_link to pin, so ownership is a pinned record where the link would be: a one-entry
 * array map named {@value #RECORD_NAME} holding the ifindex, direction, handle and priority. A restart finds
 * the record, asks the kernel which program the filter at that handle runs, and treats it as its link. A
 * program change is {@code bpf_tc_attach} with BPF_TC_F_REPLACE on that handle: the kernel swaps the
 * filter's program in place (cls_bpf replaces it under RCU), so no packet misses the filter.
 *
 * <p>The clsact qdisc is the interface's, shared with whoever else filters there. The record says whether
 * bpfgit created it (or joined a qdisc another bpfgit record on the interface created): the last such
 * filter to go removes the qdisc once no filter of any kind is left on it and no tcx program runs there,
 * and a qdisc someone else made is never removed.
 */
final class LegacyTc {
    /** bpfgit's filter: fixed, so that a restart and an operator running {@code tc filter show} know it. */
    static final int HANDLE = 0xb9f;
    static final int PRIORITY = 0xb9f;
    static final String RECORD_NAME = "bpfgit_tc";
    private static final int BPF_TC_INGRESS = 1;
    private static final int BPF_TC_EGRESS = 2;
    private static final int BPF_TC_F_REPLACE = 1;
    private static final int TCX_INGRESS = 46;
    private static final int TCX_EGRESS = 47;
    private static final int MAP_ARRAY = 2;
    /** Records written before qdisc ownership was recorded: nothing says who made their qdisc, so it is kept. */
    private static final int RECORD_SIZE_V1 = 24;
    private static final int RECORD_SIZE = 32;
    /** Record flag: bpfgit created the interface's clsact qdisc. */
    private static final int QDISC_OURS = 1;

    /** struct bpf_tc_hook (libbpf, 24 bytes). */
    private static final StructLayout HOOK = MemoryLayout.structLayout(
            JAVA_LONG.withName("sz"), JAVA_INT.withName("ifindex"), JAVA_INT.withName("attach_point"),
            JAVA_INT.withName("parent"), MemoryLayout.paddingLayout(4));
    /** struct bpf_tc_opts (libbpf, 32 bytes). */
    private static final StructLayout OPTS = MemoryLayout.structLayout(
            JAVA_LONG.withName("sz"), JAVA_INT.withName("prog_fd"), JAVA_INT.withName("flags"),
            JAVA_INT.withName("prog_id"), JAVA_INT.withName("handle"), JAVA_INT.withName("priority"),
            MemoryLayout.paddingLayout(4));

    private static final Libbpf.Fn HOOK_CREATE = Libbpf.wide("bpf_tc_hook_create", JAVA_INT, ADDRESS);
    private static final Libbpf.Fn TC_ATTACH = Libbpf.wide("bpf_tc_attach", JAVA_INT, ADDRESS, ADDRESS);
    private static final Libbpf.Fn TC_DETACH = Libbpf.wide("bpf_tc_detach", JAVA_INT, ADDRESS, ADDRESS);
    private static final Libbpf.Fn TC_QUERY = Libbpf.wide("bpf_tc_query", JAVA_INT, ADDRESS, ADDRESS);
    private static final Libbpf.Fn HOOK_DESTROY = Libbpf.wide("bpf_tc_hook_destroy", JAVA_INT, ADDRESS);
    private static final Libbpf.Fn MAP_NEXT_ID = Libbpf.wide("bpf_map_get_next_id", JAVA_INT, JAVA_INT, ADDRESS);
    private static final Libbpf.Fn MAP_FD_BY_ID = Libbpf.wide("bpf_map_get_fd_by_id", JAVA_INT, JAVA_INT);

    /**
     * The ownership record: where bpfgit's filter is. An ifindex means something only in its network
     * namespace (every namespace has an ifindex 1), so the record carries the namespace's inode too, and from
     * any other namespace the filter reads as out of reach and is never touched.
     */
    record Record(int ifindex, AttachPoint.Direction direction, long netns, boolean qdiscOurs) {
        boolean here() {
            return netns == currentNetns();
        }

        boolean sameInterface(Record o) {
            return ifindex == o.ifindex && netns == o.netns;
        }

        int attachType() {
            return direction == AttachPoint.Direction.INGRESS ? TCX_INGRESS : TCX_EGRESS;
        }
    }

    private LegacyTc() {
    }

    /** Whether an open map is an ownership record. */
    static boolean isRecord(int fd, Object what) {
        return isRecord(Info.map(fd, what));
    }

    /** Whether a map with this info is a record. */
    static boolean isRecord(MapInfo i) {
        return i.type() == MAP_ARRAY && RECORD_NAME.equals(i.name())
                && (i.valueSize() == RECORD_SIZE || i.valueSize() == RECORD_SIZE_V1);
    }

    /** The record pinned at {@code pin}, with its map id; empty when the pin is not a record. */
    static Optional<Record> record(Path pin) {
        int r = Pins.objGet(pin);
        if (r < 0) {
            return Optional.empty();
        }
        try (Fd fd = Fd.own(r)) {
            if (Pins.kind(fd.value()) != PinType.MAP || !isRecord(fd.value(), pin)) {
                return Optional.empty();
            }
            return Optional.of(read(fd, pin));
        }
    }

    private static Record read(Fd fd, Path pin) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment key = arena.allocate(JAVA_INT);
            MemorySegment value = arena.allocate(RECORD_SIZE, 8);
            Failures.check(Libbpf.mapLookup(fd.value(), key, value), "read tc filter record", pin);
            int type = value.get(JAVA_INT, 4);
            // a 24-byte record leaves the flags as allocated: zero
            return new Record(value.get(JAVA_INT, 0),
                    type == TCX_INGRESS ? AttachPoint.Direction.INGRESS : AttachPoint.Direction.EGRESS,
                    value.get(JAVA_LONG, 16), (value.get(JAVA_INT, 24) & QDISC_OURS) != 0);
        }
    }

    /**
     * The record as a link: the program bpfgit's filter runs now, 0 when the filter is gone, and ifindex 0
     * when the device is (the filter went with it).
     */
    static LinkInfo info(Path pin) {
        int r = Pins.objGet(pin);
        try (Fd fd = Fd.own(Failures.check(r, "open tc filter record", pin))) {
            Record rec = read(fd, pin);
            int id = Info.map(fd.value(), pin).id();
            if (!rec.here() || !deviceExists(rec.ifindex())) {
                return new LinkInfo(id, LinkInfo.TYPE_LEGACY_TC, 0, 0, rec.attachType());
            }
            return new LinkInfo(id, LinkInfo.TYPE_LEGACY_TC, query(rec.ifindex(), rec.direction()).orElse(0),
                    rec.ifindex(), rec.attachType());
        }
    }

    /** The inode of the calling thread's network namespace (setns is per thread). */
    static long currentNetns() {
        try {
            String link = java.nio.file.Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
            return Long.parseLong(link.substring(link.indexOf('[') + 1, link.indexOf(']')));
        } catch (java.io.IOException e) {
            throw Failures.io("read network namespace of", Path.of("/proc/thread-self/ns/net"), e);
        }
    }

    private static boolean deviceExists(int ifindex) {
        return Libc.interfaces().stream().anyMatch(i -> i.ifindex() == ifindex);
    }

    /** Attaches the pinned program as bpfgit's filter (creating the clsact qdisc if needed) and pins the record. */
    static void attach(Path recordPin, Path progPin, AttachPoint.LegacyTc at) {
        int ifindex = Links.ifindex(at);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment hook = hook(arena, ifindex, at.direction());
            int r = call(HOOK_CREATE, hook);
            if (r < 0 && r != -Failures.EEXIST) {
                Failures.check(r, "create clsact qdisc on", at.label());
            }
            Record rec = new Record(ifindex, at.direction(), currentNetns(), false);
            // the qdisc is ours if this attach made it, or if another of bpfgit's records here made it (the
            // other direction's filter): then whichever of the two goes last removes it
            boolean ours = r >= 0 || siblings(rec).stream().anyMatch(Record::qdiscOurs);
            rec = new Record(ifindex, at.direction(), rec.netns(), ours);
            try {
                replace(arena, hook, progPin, at.label());
            } catch (RuntimeException e) {
                if (r >= 0) {
                    removeQdiscIfEmpty(arena, ifindex);
                }
                throw e;
            }
            try {
                pinRecord(arena, recordPin, rec);
            } catch (RuntimeException e) {
                detach(arena, hook);   // unrecorded, the filter would be nobody's
                if (r >= 0) {
                    removeQdiscIfEmpty(arena, ifindex);
                }
                throw e;
            }
        }
    }

    /**
     * Makes bpfgit's filter run the pinned program (tc filter replace). With {@code expectedProgId} it fails
     * with EPERM if the filter runs another program (0: the filter is expected to be gone).
     */
    static void update(Path recordPin, Path progPin, Optional<Integer> expectedProgId) {
        Record rec = record(recordPin).orElseThrow(() -> Failures.of("update tc filter", recordPin,
                Failures.ENOENT, "no tc filter record"));
        String where = "ifindex " + rec.ifindex() + " tc-" + rec.direction().name().toLowerCase();
        if (!rec.here()) {
            throw Failures.of("update tc filter", recordPin, Failures.ENODEV,
                    "the filter is in another network namespace (inode " + rec.netns() + ")");
        }
        int now = query(rec.ifindex(), rec.direction()).orElse(0);
        if (expectedProgId.isPresent() && expectedProgId.get() != now) {
            throw Failures.of("update tc filter", recordPin, Failures.EPERM,
                    "the filter on " + where + " runs program id " + now + ", expected id " + expectedProgId.get());
        }
        try (Arena arena = Arena.ofConfined()) {
            replace(arena, hook(arena, rec.ifindex(), rec.direction()), progPin, where);
        }
    }

    /**
     * Removes bpfgit's filter named by the record (if it and its device still exist), not the record; and the
     * clsact qdisc with it when bpfgit created that and no filter of any kind is left on either direction.
     */
    static void detach(Path recordPin) {
        Optional<Record> rec = record(recordPin);
        if (rec.isEmpty() || !rec.get().here() || !deviceExists(rec.get().ifindex())) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            detach(arena, hook(arena, rec.get().ifindex(), rec.get().direction()));
            if (rec.get().qdiscOurs()) {
                removeQdiscIfEmpty(arena, rec.get().ifindex());
            }
        }
    }

    /**
     * Deletes the interface's clsact qdisc if no filter is left on it, bpfgit's or anyone's, and no tcx program
     * runs there. Deleting an ingress-side qdisc re-grafts it, and the kernel deactivates the device for that
     * moment (packets in flight are dropped: 6 of 400 pings across four switches between legacy tc and tcx):
     * a tcx program there means traffic is being enforced right now, typically by the tcx link that just
     * took over from bpfgit's filter, so the qdisc stays rather than blip the interface under it.
     */
    private static void removeQdiscIfEmpty(Arena arena, int ifindex) {
        if (!filters(ifindex, AttachPoint.Direction.INGRESS).isEmpty()
                || !filters(ifindex, AttachPoint.Direction.EGRESS).isEmpty() || tcxPrograms(ifindex)) {
            return;
        }
        MemorySegment hook = Structs.opts(arena, HOOK);
        Structs.setInt(hook, HOOK, "ifindex", ifindex);
        Structs.setInt(hook, HOOK, "attach_point", BPF_TC_INGRESS | BPF_TC_EGRESS);
        int r = call(HOOK_DESTROY, hook);
        // gone already, or another tool removed it meanwhile: nothing of bpfgit's is left to undo
        if (r < 0 && r != -Failures.ENOENT && r != -Failures.EINVAL) {
            Failures.check(r, "remove clsact qdisc of", "ifindex " + ifindex);
        }
    }

    private static boolean tcxPrograms(int ifindex) {
        if (!Probes.kernelHas(dev.bpfgit.kernel.Feature.TCX_LINK)) {
            return false;
        }
        for (int type : new int[] {TCX_INGRESS, TCX_EGRESS}) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment count = arena.allocate(JAVA_INT);   // 0 ids wanted: the kernel just counts
                int r = Libbpf.progQuery(ifindex, type, 0, arena.allocate(JAVA_INT), MemorySegment.NULL, count);
                Failures.check(r, "query tcx programs of", "ifindex " + ifindex);
                if (count.get(JAVA_INT, 0) > 0) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * bpfgit's other records for the same interface, wherever they are pinned (any pin root): found among
     * the kernel's maps by name and shape.
     */
    private static List<Record> siblings(Record of) {
        List<Record> out = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment next = arena.allocate(JAVA_INT);
            int id = 0;
            while (callInt(MAP_NEXT_ID, id, next) == 0) {
                id = next.get(JAVA_INT, 0);
                int fd = callInt(MAP_FD_BY_ID, id);
                if (fd < 0) {
                    continue;   // freed since, or not ours to open
                }
                try (Fd map = Fd.own(fd)) {
                    String what = "map id " + id;
                    if (isRecord(map.value(), what)) {
                        Record r = read(map, Path.of(what));
                        if (r.sameInterface(of)) {
                            out.add(r);
                        }
                    }
                }
            }
        }
        return out;
    }

    private static void detach(Arena arena, MemorySegment hook) {
        MemorySegment opts = Structs.opts(arena, OPTS);
        Structs.setInt(opts, OPTS, "handle", HANDLE);
        Structs.setInt(opts, OPTS, "priority", PRIORITY);
        int r = call(TC_DETACH, hook, opts);
        if (r < 0 && r != -Failures.ENOENT && r != -Failures.EINVAL) {
            Failures.check(r, "detach tc filter", "ifindex " + Structs.getInt(hook, HOOK, "ifindex"));
        }
    }

    private static void replace(Arena arena, MemorySegment hook, Path progPin, String where) {
        try (Fd prog = Pins.open(progPin, PinType.PROG, "open program")) {
            MemorySegment opts = Structs.opts(arena, OPTS);
            Structs.setInt(opts, OPTS, "prog_fd", prog.value());
            Structs.setInt(opts, OPTS, "flags", BPF_TC_F_REPLACE);
            Structs.setInt(opts, OPTS, "handle", HANDLE);
            Structs.setInt(opts, OPTS, "priority", PRIORITY);
            Failures.check(call(TC_ATTACH, hook, opts), "attach tc filter " + where + " to", progPin);
        }
    }

    /** The program bpfgit's filter runs, if there is one. */
    static Optional<Integer> query(int ifindex, AttachPoint.Direction d) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment opts = Structs.opts(arena, OPTS);
            Structs.setInt(opts, OPTS, "handle", HANDLE);
            Structs.setInt(opts, OPTS, "priority", PRIORITY);
            int r = call(TC_QUERY, hook(arena, ifindex, d), opts);
            // ENOENT: no such filter; EINVAL: no clsact qdisc at all
            if (r == -Failures.ENOENT || r == -Failures.EINVAL) {
                return Optional.empty();
            }
            Failures.check(r, "query tc filter", "ifindex " + ifindex);
            return Optional.of(Structs.getInt(opts, OPTS, "prog_id"));
        }
    }

    private static void pinRecord(Arena arena, Path pin, Record rec) {
        int r = Libbpf.mapCreate(MAP_ARRAY, arena.allocateFrom(RECORD_NAME), 4, RECORD_SIZE, 1, MemorySegment.NULL);
        try (Fd map = Fd.own(Failures.check(r, "create tc filter record", pin))) {
            MemorySegment key = arena.allocate(JAVA_INT);
            MemorySegment value = arena.allocate(RECORD_SIZE, 8);
            value.set(JAVA_INT, 0, rec.ifindex());
            value.set(JAVA_INT, 4, rec.attachType());
            value.set(JAVA_INT, 8, HANDLE);
            value.set(JAVA_INT, 12, PRIORITY);
            value.set(JAVA_LONG, 16, rec.netns());
            value.set(JAVA_INT, 24, rec.qdiscOurs() ? QDISC_OURS : 0);
            Failures.check(Libbpf.mapUpdate(map.value(), key, value, 0), "write tc filter record", pin);
            Pins.pin(map.value(), pin, "pin tc filter record");
        }
    }

    private static MemorySegment hook(Arena arena, int ifindex, AttachPoint.Direction d) {
        MemorySegment hook = Structs.opts(arena, HOOK);
        Structs.setInt(hook, HOOK, "ifindex", ifindex);
        Structs.setInt(hook, HOOK, "attach_point", d == AttachPoint.Direction.INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS);
        return hook;
    }

    private static int call(Libbpf.Fn f, MemorySegment a) {
        return (int) Libbpf.call(f, Libbpf.ptr(a));
    }

    private static int callInt(Libbpf.Fn f, int a, MemorySegment b) {
        return (int) Libbpf.call(f, (long) a, Libbpf.ptr(b));
    }

    private static int callInt(Libbpf.Fn f, int a) {
        return (int) Libbpf.call(f, (long) a);
    }

    private static int call(Libbpf.Fn f, MemorySegment a, MemorySegment b) {
        return (int) Libbpf.call(f, Libbpf.ptr(a), Libbpf.ptr(b));
    }

    // ---- every filter of a direction, bpfgit's or not: an RTM_GETTFILTER dump

    /**
     * A filter at a clsact hook: a BPF classifier ({@code kind} "bpf", with its program), or any other
     * classifier (u32, flower, matchall, ...: {@code progId} 0), which can drop, redirect or rewrite what bpfgit's
     * program sees as much as a BPF one. Those are listed once per priority and protocol (a u32 has hash tables
     * and keys, a flower many filters, all decided at that one priority).
     */
    record Filter(int handle, int priority, int progId, String name, String kind) {
        boolean ours() {
            return "bpf".equals(kind) && handle == HANDLE && priority == PRIORITY;
        }
    }

    private static final int RTM_NEWTFILTER = 44;
    private static final int RTM_GETTFILTER = 46;
    private static final int NLMSG_ERROR = 2;
    private static final int NLMSG_DONE = 3;
    private static final int NLM_F_REQUEST = 1;
    private static final int NLM_F_DUMP = 0x300;
    private static final int TCA_KIND = 1;
    private static final int TCA_OPTIONS = 2;
    private static final int TCA_BPF_NAME = 7;
    private static final int TCA_BPF_ID = 11;
    private static final int NLMSG_HDR = 16;
    private static final int TCMSG = 20;

    /** The BPF filters at the clsact hook of the direction, in the calling thread's network namespace. */
    static List<Filter> filters(int ifindex, AttachPoint.Direction d) {
        ByteBuffer req = ByteBuffer.allocate(NLMSG_HDR + TCMSG).order(ByteOrder.nativeOrder());
        req.putInt(NLMSG_HDR + TCMSG).putShort((short) RTM_GETTFILTER).putShort((short) (NLM_F_REQUEST | NLM_F_DUMP))
                .putInt(1).putInt(0);
        // tcmsg: family AF_UNSPEC, ifindex, handle 0, parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS|EGRESS)
        req.put((byte) 0).put((byte) 0).putShort((short) 0).putInt(ifindex).putInt(0)
                .putInt(d == AttachPoint.Direction.INGRESS ? 0xFFFFFFF2 : 0xFFFFFFF3).putInt(0);
        int fd = Libc.netlinkRoute();
        try (Fd sock = Fd.own(fd)) {
            Libc.send(sock.value(), req.array(), "dump tc filters");
            List<Filter> out = new ArrayList<>();
            byte[] buf = new byte[64 * 1024];
            while (true) {
                int n = Libc.recv(sock.value(), buf, "dump tc filters");
                ByteBuffer b = ByteBuffer.wrap(buf, 0, n).order(ByteOrder.nativeOrder());
                int off = 0;
                while (off + NLMSG_HDR <= n) {
                    int len = b.getInt(off);
                    int type = Short.toUnsignedInt(b.getShort(off + 4));
                    if (len < NLMSG_HDR) {
                        return out;
                    }
                    if (type == NLMSG_DONE) {
                        return out;
                    }
                    if (type == NLMSG_ERROR) {
                        int err = -b.getInt(off + NLMSG_HDR);
                        if (err == 0 || err == Failures.ENOENT || err == Failures.EINVAL) {
                            return out;   // no clsact qdisc: no filters
                        }
                        throw Failures.of("dump tc filters", "ifindex " + ifindex, err, null);
                    }
                    if (type == RTM_NEWTFILTER) {
                        filter(b, off + NLMSG_HDR, off + len).ifPresent(out::add);
                    }
                    off += align(len);
                }
            }
        }
    }

    private static Optional<Filter> filter(ByteBuffer b, int start, int end) {
        int handle = b.getInt(start + 8);
        int priority = b.getInt(start + 16) >>> 16;
        boolean classifier = handle == 0;   // the message that opens a priority: the classifier, no filter
        String kind = "";
        int progId = 0;
        String name = "";
        for (int a = start + TCMSG; a + 4 <= end; ) {
            int len = Short.toUnsignedInt(b.getShort(a));
            int type = b.getShort(a + 2) & 0x3fff;
            if (len < 4) {
                break;
            }
            if (type == TCA_KIND) {
                kind = string(b, a + 4, len - 4);
            } else if (type == TCA_OPTIONS) {
                for (int o = a + 4; o + 4 <= a + len; ) {
                    int olen = Short.toUnsignedInt(b.getShort(o));
                    int otype = b.getShort(o + 2) & 0x3fff;
                    if (olen < 4) {
                        break;
                    }
                    if (otype == TCA_BPF_ID) {
                        progId = b.getInt(o + 4);
                    } else if (otype == TCA_BPF_NAME) {
                        name = string(b, o + 4, olen - 4);
                    }
                    o += align(olen);
                }
            }
            a += align(len);
        }
        if ("bpf".equals(kind)) {
            // the first message of each priority describes the classifier, not a filter: it has no program
            return progId != 0 ? Optional.of(new Filter(handle, priority, progId, name, kind)) : Optional.empty();
        }
        // other kinds: the classifier's own message stands for all its filters
        return classifier && !kind.isEmpty() ? Optional.of(new Filter(0, priority, 0, "", kind)) : Optional.empty();
    }

    private static String string(ByteBuffer b, int at, int len) {
        int n = 0;
        while (n < len && b.get(at + n) != 0) {
            n++;
        }
        byte[] s = new byte[n];
        b.get(at, s);
        return new String(s, StandardCharsets.UTF_8);
    }

    /**
     * The program's own name (what bpftool prog shows), which tc's filter name is not ("prog:[*fsobj]" for a
     * pinned one); the filter's name when the program cannot be read (freed since the dump).
     */
    private static String programName(int id, String filterName) {
        int fd = Libbpf.progGetFdById(id);
        if (fd < 0) {
            return filterName;
        }
        try (Fd prog = Fd.own(fd)) {
            String name = Info.program(prog.value(), "program id " + id).name();
            return name.isEmpty() ? filterName : name;
        } catch (RuntimeException e) {
            return filterName;
        }
    }

    private static int align(int len) {
        return (len + 3) & ~3;
    }

    /**
     * The filters as attached programs, for foreign-program checks: a BPF filter by its program id, any
     * other classifier with id 0 and its kind ("tc matchall filter (legacy tc, pref 10)").
     */
    static List<AttachedProgram> attached(int ifindex, AttachPoint.Direction d) {
        List<AttachedProgram> out = new ArrayList<>();
        for (Filter f : filters(ifindex, d)) {
            if (!"bpf".equals(f.kind())) {
                out.add(new AttachedProgram(0, "tc " + f.kind() + " filter (legacy tc, pref " + f.priority() + ")"));
                continue;
            }
            String what = programName(f.progId(), f.name());
            out.add(new AttachedProgram(f.progId(), what + " (legacy tc filter, pref " + f.priority()
                    + " handle 0x" + Integer.toHexString(f.handle()) + ")"));
        }
        return out;
    }
}
