package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.PinType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Opening and creating bpffs pins, and telling what kind of object an fd holds. */
final class Pins {
    private Pins() {
    }

    /** bpf_obj_get: an fd, or -errno. */
    static int objGet(Path pin) {
        try (Arena arena = Arena.ofConfined()) {
            return Libbpf.objGet(arena.allocateFrom(pin.toString()));
        }
    }

    /** The object pinned at {@code pin}, which must be of kind {@code expected}; NotFound if nothing is pinned. */
    static Fd open(Path pin, PinType expected, String operation) {
        return openIfPinned(pin, expected, operation)
                .orElseThrow(() -> Failures.of(operation, pin, Failures.ENOENT, null));
    }

    /** Like {@link #open}, but empty when nothing is pinned at {@code pin}. */
    static Optional<Fd> openIfPinned(Path pin, PinType expected, String operation) {
        int r = objGet(pin);
        if (r == -Failures.ENOENT) {
            return Optional.empty();
        }
        Fd fd = Fd.own(Failures.check(r, operation, pin));
        PinType actual = kind(fd.value());
        if (actual != expected) {
            fd.close();
            throw Failures.of(operation, pin, Failures.EINVAL,
                    "pinned object is a " + label(actual) + ", not a " + label(expected));
        }
        return Optional.of(fd);
    }

    /**
     * The kind of BPF object behind an fd. bpf(2) has no call for this, but each kind is an anonymous inode
     * with its own name, which /proc shows as the fd's link target.
     */
    static PinType kind(int fd) {
        String target;
        try {
            target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        } catch (IOException e) {
            throw new IllegalStateException("readlink /proc/self/fd/" + fd, e);
        }
        return switch (target) {
            case "anon_inode:bpf-map" -> PinType.MAP;
            case "anon_inode:bpf-prog" -> PinType.PROG;
            // "bpf_link" before Linux 6.x renamed it "bpf-link"; accept both
            case "anon_inode:bpf-link", "anon_inode:bpf_link" -> PinType.LINK;
            default -> null;
        };
    }

    static void pin(int fd, Path pin, String operation) {
        try (Arena arena = Arena.ofConfined()) {
            Failures.check(Libbpf.objPin(fd, arena.allocateFrom(pin.toString())), operation, pin);
        }
    }

    private static String label(PinType t) {
        return t == null ? "non-BPF object" : switch (t) {
            case MAP -> "map";
            case PROG -> "program";
            case LINK -> "link";
        };
    }
}
