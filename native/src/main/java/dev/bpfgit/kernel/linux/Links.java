package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.AttachedProgram;
import dev.bpfgit.kernel.CgroupRoot;
import dev.bpfgit.kernel.Errno;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.LinkInfo;
import dev.bpfgit.kernel.PinType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static dev.bpfgit.kernel.linux.Structs.LINK_UPDATE_OPTS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/** Device attachments through bpf_link: create, atomic update, and what runs at an attach point. */
final class Links {
    // enum bpf_attach_type; the 6.1 headers predate tcx, so 46 and 47 have no names there
    private static final int BPF_TCX_INGRESS = 46;
    private static final int BPF_TCX_EGRESS = 47;
    private static final int BPF_F_REPLACE = 1 << 2;

    private Links() {
    }

    static int attachType(AttachPoint at) {
        return switch (at) {
            case AttachPoint.Xdp x -> Info.BPF_XDP;
            case AttachPoint.Tcx t -> t.direction() == AttachPoint.Direction.INGRESS ? BPF_TCX_INGRESS : BPF_TCX_EGRESS;
            case AttachPoint.Cgroup c -> c.hook().attachType;
            case AttachPoint.LegacyTc t -> t.direction() == AttachPoint.Direction.INGRESS ? BPF_TCX_INGRESS : BPF_TCX_EGRESS;
        };
    }

    static String ifname(AttachPoint at) {
        return at.ifname();
    }

    /** An fd of the cgroup's directory: the target of cgroup attachments and queries. */
    private static Fd cgroup(AttachPoint.Cgroup c) {
        Path dir = CgroupRoot.resolve(c.path());
        if (!java.nio.file.Files.isDirectory(dir)) {
            throw new KernelException.NotFound("open cgroup", dir.toString(), Errno.of(Failures.ENOENT),
                    "no cgroup " + c.path() + " under " + CgroupRoot.path());
        }
        return Fd.own(Libc.open(dir.toString()));
    }

    /** The ifindex in the calling thread's network namespace. */
    static int ifindex(AttachPoint at) {
        String name = ifname(at);
        int ifindex = Libc.ifNameToIndex(name);
        if (ifindex == 0) {
            throw new KernelException.NotFound("resolve interface", name, Errno.of(Failures.ENODEV),
                    "no interface " + name + " in the calling thread's network namespace");
        }
        return ifindex;
    }

    static void attach(Path linkPin, Path progPin, AttachPoint at) {
        if (at instanceof AttachPoint.LegacyTc legacy) {
            LegacyTc.attach(linkPin, progPin, legacy);
            return;
        }
        if (at instanceof AttachPoint.Cgroup c) {
            try (Fd cg = cgroup(c); Fd prog = Pins.open(progPin, PinType.PROG, "open program")) {
                int r = Libbpf.linkCreate(prog.value(), cg.value(), attachType(at), MemorySegment.NULL);
                if (r < 0) {
                    throw Failures.of("attach " + at.label() + " link", linkPin, -r, null);
                }
                try (Fd link = Fd.own(r)) {
                    Pins.pin(link.value(), linkPin, "pin link");
                }
            }
            return;
        }
        int ifindex = ifindex(at);
        try (Fd prog = Pins.open(progPin, PinType.PROG, "open program")) {
            int r = Libbpf.linkCreate(prog.value(), ifindex, attachType(at), MemorySegment.NULL);
            if (r < 0) {
                throw attachFailure(linkPin, at, -r);
            }
            try (Fd link = Fd.own(r)) {
                // until pinned the link lives only in this fd: a failed pin detaches it again on close
                Pins.pin(link.value(), linkPin, "pin link");
            }
        }
    }

    private static KernelException attachFailure(Path linkPin, AttachPoint at, int errno) {
        String op = "attach " + at.label() + " link";
        if (errno == Failures.EBUSY && at instanceof AttachPoint.Xdp) {
            String owner = attached(at).stream().map(p -> "id " + p.progId() + " '" + p.name() + "'")
                    .reduce((a, b) -> a + ", " + b).map(s -> " (" + s + ")").orElse("");
            return Failures.of(op, linkPin, errno,
                    "another program owns the XDP hook of " + ifname(at) + owner);
        }
        if (errno == Failures.EINVAL && at instanceof AttachPoint.Tcx && !Probes.features().has(Feature.TCX_LINK)) {
            return new KernelException.NotSupported(op, linkPin.toString(), Errno.of(errno), null,
                    Feature.TCX_LINK.description(), Feature.TCX_LINK.minKernel());
        }
        return Failures.of(op, linkPin, errno, null);
    }

    static void update(Path linkPin, Path progPin, Optional<Integer> expectedProgId) {
        if (LegacyTc.record(linkPin).isPresent()) {
            LegacyTc.update(linkPin, progPin, expectedProgId);
            return;
        }
        try (Fd link = Pins.open(linkPin, PinType.LINK, "open link");
             Fd prog = Pins.open(progPin, PinType.PROG, "open program");
             Arena arena = Arena.ofConfined()) {
            if (expectedProgId.isEmpty()) {
                Failures.check(Libbpf.linkUpdate(link.value(), prog.value(), MemorySegment.NULL), "update link", linkPin);
                return;
            }
            int expected = expectedProgId.get();
            int old = Libbpf.progGetFdById(expected);
            if (old == -Failures.ENOENT) {
                // the expected program is gone, so the link cannot be running it
                throw Failures.of("update link", linkPin, Failures.EPERM,
                        "expected program id " + expected + " no longer exists");
            }
            try (Fd oldProg = Fd.own(Failures.check(old, "open program id " + expected + " for", linkPin))) {
                MemorySegment opts = Structs.opts(arena, LINK_UPDATE_OPTS);
                Structs.setInt(opts, LINK_UPDATE_OPTS, "flags", BPF_F_REPLACE);
                Structs.setInt(opts, LINK_UPDATE_OPTS, "old_prog_fd", oldProg.value());
                int r = Libbpf.linkUpdate(link.value(), prog.value(), opts);
                if (r == -Failures.EPERM) {
                    LinkInfo now = Info.link(link.value(), linkPin);
                    throw Failures.of("update link", linkPin, -r,
                            "the link runs program id " + now.progId() + ", expected id " + expected);
                }
                Failures.check(r, "update link", linkPin);
            }
        }
    }

    /**
     * What runs at an attach point. At tc, both tcx programs and legacy cls_bpf filters of that direction:
     * they all see the same packets, whichever of the two bpfgit attaches through.
     */
    static List<AttachedProgram> attached(AttachPoint at) {
        Set<Integer> ids;
        if (at instanceof AttachPoint.Cgroup c) {
            if (!java.nio.file.Files.isDirectory(CgroupRoot.resolve(c.path()))) {
                return List.of();
            }
            try (Fd cg = cgroup(c)) {
                ids = tcxIds(cg.value(), at);
            }
        } else {
            int ifindex = ifindex(at);
            ids = switch (at) {
                case AttachPoint.Xdp x -> xdpIds(ifindex, at);
                // a kernel without tcx refuses the query (EINVAL), and has no tcx programs to list
                case AttachPoint.Tcx t -> Probes.kernelHas(Feature.TCX_LINK) ? tcxIds(ifindex, at) : Set.of();
                case AttachPoint.LegacyTc t -> Probes.kernelHas(Feature.TCX_LINK) ? tcxIds(ifindex, at) : Set.of();
                case AttachPoint.Cgroup c -> throw new IllegalStateException("unreachable");
            };
        }
        List<AttachedProgram> out = new ArrayList<>();
        for (int id : ids) {
            int fd = Libbpf.progGetFdById(id);
            if (fd == -Failures.ENOENT) {
                continue; // detached and freed since the query
            }
            try (Fd prog = Fd.own(Failures.check(fd, "open program id " + id + " at", at.label()))) {
                out.add(new AttachedProgram(id, Info.program(prog.value(), "program id " + id).name()));
            }
        }
        switch (at) {
            case AttachPoint.Tcx t -> out.addAll(LegacyTc.attached(ifindex(at), t.direction()));
            case AttachPoint.LegacyTc t -> out.addAll(LegacyTc.attached(ifindex(at), t.direction()));
            case AttachPoint.Xdp x -> {
            }
            case AttachPoint.Cgroup c -> {
            }
        }
        return out;
    }

    private static Set<Integer> xdpIds(int ifindex, AttachPoint at) {
        return XdpQuery.programIds(ifindex, at.label());
    }

    private static Set<Integer> tcxIds(int ifindex, AttachPoint at) {
        try (Arena arena = Arena.ofConfined()) {
            int capacity = 16;
            while (true) {
                MemorySegment ids = arena.allocate(JAVA_INT, capacity);
                MemorySegment count = arena.allocate(JAVA_INT);
                count.set(JAVA_INT, 0, capacity);
                int r = Libbpf.progQuery(ifindex, attachType(at), 0, arena.allocate(JAVA_INT), ids, count);
                if (r == -Failures.ENOSPC) {
                    capacity = Math.max(capacity * 2, count.get(JAVA_INT, 0));
                    continue;
                }
                Failures.check(r, "query", at.label());
                Set<Integer> out = new LinkedHashSet<>();
                for (int i = 0; i < count.get(JAVA_INT, 0); i++) {
                    out.add(ids.getAtIndex(JAVA_INT, i));
                }
                return out;
            }
        }
    }
}
