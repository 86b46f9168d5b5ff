package dev.bpfgit.kernel.linux;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Libbpf#wide}: ints and pointers passed as longs, an int result taken from the low 32 bits. Checked on
 * libc's functions, whose results follow from their arguments alone, so no privilege is needed.
 */
class LibbpfWideTest {
    private static MethodHandle libc(String name, java.lang.foreign.MemoryLayout ret,
                                     java.lang.foreign.MemoryLayout... args) {
        return Libbpf.wide(Libbpf.LINKER.defaultLookup().findOrThrow(name), ret, args);
    }

    @Test
    void anIntParameterIsReadFromTheLow32BitsOnly() throws Throwable {
        MethodHandle abs = libc("abs", JAVA_INT, JAVA_INT);
        assertEquals(5, (int) (long) abs.invokeExact((long) -5));
        // the bits above an int's 32 are unspecified (SysV x86-64, AAPCS64): abs sees -5 whatever they are
        assertEquals(5, (int) (long) abs.invokeExact(0xdeadbeef_fffffffbL));
        assertEquals(Integer.MAX_VALUE, (int) (long) abs.invokeExact((long) -Integer.MAX_VALUE));
    }

    @Test
    void pointersAndNegativeIntResults() throws Throwable {
        MethodHandle atoi = libc("atoi", JAVA_INT, ADDRESS);
        MethodHandle strlen = libc("strlen", JAVA_LONG, ADDRESS);
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(-42, (int) (long) atoi.invokeExact(Libbpf.ptr(arena.allocateFrom("-42"))));
            assertEquals(Integer.MIN_VALUE, (int) (long) atoi.invokeExact(Libbpf.ptr(arena.allocateFrom("-2147483648"))));
            assertEquals(11L, (long) strlen.invokeExact(Libbpf.ptr(arena.allocateFrom("hello world"))));
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
