package dev.bpfgit.kernel.testing;

import dev.bpfgit.kernel.ObjectFile;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Compiles a BPF C source from the test classpath with clang, the way bpf/ builds its objects. */
public final class BpfCompiler {
    private BpfCompiler() {
    }

    /** Compiles classpath resource {@code resource} (e.g. {@code /bpf/it.bpf.c}) into {@code dir}. */
    public static ObjectFile compile(String resource, Path dir) {
        String file = Path.of(resource).getFileName().toString();
        Path src = dir.resolve(file);
        Path obj = dir.resolve(file.replaceFirst("\\.c$", ".o"));
        try (InputStream in = BpfCompiler.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("no resource " + resource);
            }
            Files.copy(in, src);
            // the Debian uapi headers keep asm/ under the multiarch directory
            Commands.run("clang", "-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86",
                    "-I/usr/include/x86_64-linux-gnu", "-c", src.toString(), "-o", obj.toString());
            return new ObjectFile(obj.getFileName().toString(), Files.readAllBytes(obj));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
