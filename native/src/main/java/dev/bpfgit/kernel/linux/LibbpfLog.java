package dev.bpfgit.kernel.linux;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayDeque;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Replaces libbpf's default printer (stderr) with an upcall. Warnings and infos are kept per thread so
 * that a failed open or load can carry what libbpf said in the exception; debug output goes to slf4j
 * at trace level. libbpf calls the printer on the thread that called into libbpf, so a thread-local
 * buffer sees exactly the messages of the current operation.
 */
final class LibbpfLog {
    private static final Logger LOG = LoggerFactory.getLogger("libbpf");
    private static final int LIBBPF_DEBUG = 2;
    private static final int KEEP = 20;
    private static final ThreadLocal<ArrayDeque<String>> RECENT = ThreadLocal.withInitial(ArrayDeque::new);

    // va_list is passed as a pointer on x86-64 (an array type) and on aarch64 (a >16-byte aggregate is
    // passed by reference), so libc's vsnprintf can consume the upcall's va_list argument as an address
    private static final Libbpf.Fn VSNPRINTF = Libbpf.wide(Libbpf.LINKER.defaultLookup().findOrThrow("vsnprintf"),
            JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS);
    private static final Libbpf.Fn SET_PRINT = Libbpf.wide("libbpf_set_print", ADDRESS, ADDRESS);

    private static volatile boolean installed;
    private static boolean silenced;

    private LibbpfLog() {
    }

    static synchronized void install() {
        if (installed) {
            return;
        }
        try {
            MethodHandle target = MethodHandles.lookup().findStatic(LibbpfLog.class, "print",
                    MethodType.methodType(int.class, int.class, MemorySegment.class, MemorySegment.class));
            MemorySegment stub = Libbpf.LINKER.upcallStub(target,
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), Arena.global());
            // the previous printer is libbpf's stderr one; it is replaced for the life of the process
            long stderrPrinter = Libbpf.call(SET_PRINT, Libbpf.ptr(stub));
            installed = true;
        } catch (Throwable t) {
            throw Libbpf.rethrow(t);
        }
    }

    /**
     * Until {@link #install}: libbpf prints nothing ({@code libbpf_set_print(NULL)}), so its default printer never
     * writes to stderr. Its messages only matter around an object's open and load, and {@link BpfObject#open}
     * installs the printer first; before that, the bpf(2) wrappers' rare messages reached only slf4j's debug and
     * trace levels (off unless asked for). A verb that opens no object (a plan, an apply of entries only) then
     * makes no upcall: its stub and method-handle forms were about a dozen classes spun on the main thread at
     * every kernel verb's start (bench/README.md, "native14").
     */
    static synchronized void silence() {
        if (installed || silenced) {
            return;
        }
        Libbpf.call(SET_PRINT, 0L);
        silenced = true;
    }

    /** Forgets what libbpf said earlier on this thread; call before an operation whose messages matter. */
    static void clear() {
        RECENT.get().clear();
    }

    /** The warnings and infos libbpf printed on this thread since {@link #clear()}, oldest first. */
    static List<String> recent() {
        return List.copyOf(RECENT.get());
    }

    // an exception escaping an upcall kills the JVM: everything is caught
    private static int print(int level, MemorySegment fmt, MemorySegment args) {
        try {
            if (level == LIBBPF_DEBUG && !LOG.isTraceEnabled()) {
                return 0;
            }
            String line;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(1024);
                int n = (int) Libbpf.call(VSNPRINTF, Libbpf.ptr(buf), buf.byteSize(), Libbpf.ptr(fmt),
                        Libbpf.ptr(args));
                line = n < 0 ? "" : buf.getString(0).stripTrailing();
            }
            if (level == LIBBPF_DEBUG) {
                LOG.trace("{}", line);
                return 0;
            }
            LOG.debug("{}", line);
            ArrayDeque<String> recent = RECENT.get();
            if (recent.size() == KEEP) {
                recent.removeFirst();
            }
            recent.addLast(line);
        } catch (Throwable ignored) {
            // nothing sensible to do inside a native callback
        }
        return 0;
    }
}
