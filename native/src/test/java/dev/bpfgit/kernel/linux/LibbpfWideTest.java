package dev.bpfgit.kernel.linux;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Libbpf#wide} and {@link Libbpf#call}: ints and pointers passed as longs, an int result taken from the low
 * 32 bits, every function through one seven-parameter downcall with zeros after its own parameters. Checked on
 * libc's functions, whose results follow from their arguments alone, so no privilege is needed.
 */
class LibbpfWideTest {
    private static Libbpf.Fn libc(String name, MemoryLayout ret, MemoryLayout... args) {
        return Libbpf.wide(Libbpf.LINKER.defaultLookup().findOrThrow(name), ret, args);
    }

    @Test
    void anIntParameterIsReadFromTheLow32BitsOnly() {
        Libbpf.Fn abs = libc("abs", JAVA_INT, JAVA_INT);
        assertEquals(5, (int) Libbpf.call(abs, (long) -5));
        // the bits above an int's 32 are unspecified (SysV x86-64, AAPCS64): abs sees -5 whatever they are
        assertEquals(5, (int) Libbpf.call(abs, 0xdeadbeef_fffffffbL));
        assertEquals(Integer.MAX_VALUE, (int) Libbpf.call(abs, (long) -Integer.MAX_VALUE));
    }

    @Test
    void pointersAndNegativeIntResults() {
        Libbpf.Fn atoi = libc("atoi", JAVA_INT, ADDRESS);
        Libbpf.Fn strlen = libc("strlen", JAVA_LONG, ADDRESS);
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(-42, (int) Libbpf.call(atoi, Libbpf.ptr(arena.allocateFrom("-42"))));
            assertEquals(Integer.MIN_VALUE, (int) Libbpf.call(atoi, Libbpf.ptr(arena.allocateFrom("-2147483648"))));
            assertEquals(11L, Libbpf.call(strlen, Libbpf.ptr(arena.allocateFrom("hello world"))));
        }
    }

    /** 1 * a + 2 * b + ... + 7 * g of the arguments it was declared with (the rest are 0). */
    static long weighted(long... args) {
        long sum = 0;
        for (int i = 0; i < args.length; i++) {
            sum += (i + 1) * args[i];
        }
        return sum;
    }

    /**
     * Each parameter position, the 7th (on the stack on x86-64) included, reaches the callee in its place, and a
     * callee of fewer parameters reads its own: the callee is a native function pointer to Java code (an upcall
     * stub) declared with 0 to 7 {@code long} parameters.
     */
    @Test
    void everyArityAndParameterPositionUpToSeven() throws Exception {
        long[] args = {3, -5, 7, 1L << 40, -(1L << 33), 11, 13};
        try (Arena arena = Arena.ofConfined()) {
            for (int n = 0; n <= Libbpf.MAX_ARITY; n++) {
                MemoryLayout[] params = new MemoryLayout[n];
                java.util.Arrays.fill(params, JAVA_LONG);
                java.lang.invoke.MethodHandle target = java.lang.invoke.MethodHandles.lookup()
                        .findStatic(LibbpfWideTest.class, "weighted",
                                java.lang.invoke.MethodType.methodType(long.class, long[].class))
                        .asCollector(long[].class, n);
                MemorySegment stub = Libbpf.LINKER.upcallStub(target,
                        java.lang.foreign.FunctionDescriptor.of(JAVA_LONG, params), arena);
                Libbpf.Fn f = Libbpf.wide(stub, JAVA_LONG, params);
                long[] own = java.util.Arrays.copyOf(args, n);
                long got = switch (n) {
                    case 0 -> Libbpf.call(f);
                    case 1 -> Libbpf.call(f, args[0]);
                    case 2 -> Libbpf.call(f, args[0], args[1]);
                    case 3 -> Libbpf.call(f, args[0], args[1], args[2]);
                    case 4 -> Libbpf.call(f, args[0], args[1], args[2], args[3]);
                    case 5 -> Libbpf.call(f, args[0], args[1], args[2], args[3], args[4]);
                    case 6 -> Libbpf.call(f, args[0], args[1], args[2], args[3], args[4], args[5]);
                    default -> Libbpf.call(f, args[0], args[1], args[2], args[3], args[4], args[5], args[6]);
                };
                assertEquals(weighted(own), got, "arity " + n);
            }
        }
    }

    @Test
    void libbpfThroughTheWideHandles() {
        int cpus = Libbpf.numPossibleCpus();
        assertTrue(cpus >= Runtime.getRuntime().availableProcessors(), "possible CPUs " + cpus);
    }

    @Test
    void onlyIntsLongsAndPointersAndOnlyLiveNativeSegments() {
        assertThrows(IllegalArgumentException.class, () -> libc("abs", JAVA_SHORT, JAVA_INT));
        assertThrows(IllegalArgumentException.class, () -> libc("fabs", JAVA_DOUBLE, JAVA_DOUBLE));
        assertThrows(IllegalArgumentException.class, () -> libc("abs", JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        assertThrows(IllegalArgumentException.class, () -> Libbpf.wide(MemorySegment.NULL, JAVA_INT, JAVA_INT));
        // a call with another number of arguments than the function was declared with
        Libbpf.Fn abs = libc("abs", JAVA_INT, JAVA_INT);
        assertThrows(IllegalArgumentException.class, () -> Libbpf.call(abs, 1L, 2L));
        assertThrows(IllegalArgumentException.class, () -> Libbpf.call(abs));
        // the linker refuses these for ADDRESS; a raw address of them would be wrong or dangling
        assertThrows(IllegalArgumentException.class, () -> Libbpf.ptr(MemorySegment.ofArray(new byte[8])));
        MemorySegment closed;
        try (Arena arena = Arena.ofConfined()) {
            closed = arena.allocate(8);
        }
        assertThrows(IllegalStateException.class, () -> Libbpf.ptr(closed));
        assertEquals(0L, Libbpf.ptr(MemorySegment.NULL));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(8);
            assertEquals(s.address(), Libbpf.ptr(s));
        }
    }
}
