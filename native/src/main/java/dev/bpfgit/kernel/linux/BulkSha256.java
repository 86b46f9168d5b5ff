package dev.bpfgit.kernel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * SHA-256 for megabytes on the cold CLI: the directory's revision over every byte read and the policies' canonical
 * digests. The launcher runs one-shot verbs under C1 only ({@code -XX:TieredStopAtLevel=1}), and the JDK's SHA-256
 * intrinsics are C2's: under C1 the JDK's {@code SHA2.implCompress0} hashed about 80 MB/s, 14% of the parse threads'
 * samples at 100,000 rules. When the host has OpenSSL's {@code libcrypto.so.3} (or {@code .1.1}), its
 * {@code SHA256_Init/Update/Final} do it instead (the state in a Java array, the bytes passed in place:
 * {@link Linker.Option#critical}); otherwise, or if anything of that fails to link, the JDK's digest
 * ({@code MessageDigest.getInstance("SHA-256")}). The digest is the same function either way: only how fast it is computed changes.
 */
public final class BulkSha256 {
    // In native/ because it is the module that touches java.lang.foreign (design.md section 1). libcrypto is
    // optional: nothing but speed depends on it. SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of
    // EVP_Digest*, but exported by every libcrypto.so.3 and .so.1.1, and they need no context allocated in C.
    private static final MethodHandle INIT;
    private static final MethodHandle UPDATE;
    private static final MethodHandle FINAL;

    static {
        MethodHandle init = null;
        MethodHandle update = null;
        MethodHandle fin = null;
        if (!Boolean.getBoolean("bpfgit.jdkSha256")) {
            try {
                SymbolLookup lib = lookup();
                Linker linker = Linker.nativeLinker();
                // one descriptor for the three, so one downcall stub is made, not three (each distinct descriptor
                // is a class written and its method-handle forms spun at run time, about 10 ms of CPU on a cold
                // start: bench/README.md, "native14"). Init and Final take fewer parameters than it passes: they
                // are called with zeros after their own, which a non-variadic callee never reads (the ABI property
                // Libbpf.call relies on, of SysV x86-64 and AAPCS64 alike).
                FunctionDescriptor three = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG);
                Linker.Option critical = Linker.Option.critical(true);
                init = linker.downcallHandle(lib.findOrThrow("SHA256_Init"), three, critical);
                update = linker.downcallHandle(lib.findOrThrow("SHA256_Update"), three, critical);
                fin = linker.downcallHandle(lib.findOrThrow("SHA256_Final"), three, critical);
            } catch (Throwable e) {   // no libcrypto, no such symbol, native access denied: the JDK's digest
                init = null;
                update = null;
                fin = null;
            }
        }
        INIT = init;
        UPDATE = update;
        FINAL = fin;
    }

    private BulkSha256() {
    }

    private static SymbolLookup lookup() {
        try {
            return SymbolLookup.libraryLookup("libcrypto.so.3", Arena.global());
        } catch (IllegalArgumentException e) {
            return SymbolLookup.libraryLookup("libcrypto.so.1.1", Arena.global());
        }
    }

    /** Whether {@link #fresh()} hashes with libcrypto. */
    public static boolean isNative() {
        return INIT != null;
    }

    /** A new SHA-256 digest for large inputs (few, large updates: each update is a downcall). */
    public static MessageDigest fresh() {
        if (INIT != null) {
            return new Native();
        }
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** SHA256_CTX (112 bytes on every OpenSSL ABI) in a long[] (8-byte aligned), used only during each call. */
    private static final class Native extends MessageDigest {
        private final long[] ctx = new long[16];
        private final byte[] one = new byte[1];

        Native() {
            super("SHA-256");
            engineReset();
        }

        @Override
        protected void engineUpdate(byte input) {
            one[0] = input;
            engineUpdate(one, 0, 1);
        }

        @Override
        protected void engineUpdate(byte[] input, int offset, int len) {
            if (len == 0) {
                return;
            }
            try {
                check((int) UPDATE.invokeExact(MemorySegment.ofArray(ctx),
                        MemorySegment.ofArray(input).asSlice(offset, len), (long) len));
            } catch (Throwable t) {
                throw Libbpf.rethrow(t);
            }
        }

        @Override
        protected byte[] engineDigest() {
            byte[] out = new byte[32];
            try {
                check((int) FINAL.invokeExact(MemorySegment.ofArray(out), MemorySegment.ofArray(ctx), 0L));
            } catch (Throwable t) {
                throw Libbpf.rethrow(t);
            }
            engineReset();
            return out;
        }

        @Override
        protected void engineReset() {
            try {
                check((int) INIT.invokeExact(MemorySegment.ofArray(ctx), MemorySegment.NULL, 0L));
            } catch (Throwable t) {
                throw Libbpf.rethrow(t);
            }
        }

        @Override
        protected int engineGetDigestLength() {
            return 32;
        }

        private static void check(int ok) {
            if (ok != 1) {
                throw new IllegalStateException("libcrypto's SHA-256 failed");
            }
        }
    }
}
