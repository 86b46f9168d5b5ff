package dev.bpfgit.kernel.testing;

import dev.bpfgit.kernel.linux.Libc;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks that this host can run kernel tests: root, bpffs at /sys/fs/bpf, kernel BTF. Where it cannot,
 * the test is skipped, unless the system property {@code bpfgit.kernel} is {@code required} (as in CI), in
 * which case it fails with the reason: a CI run that skipped its kernel tests must not pass.
 * Runs before {@code @BeforeAll} too when the annotation is on the class.
 */
public final class RequiresKernel implements BeforeAllCallback, BeforeEachCallback {

    @Override
    public void beforeAll(ExtensionContext context) {
        check();
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        check();
    }

    /** Why this host cannot run kernel tests; empty when it can. */
    public static List<String> missing() {
        List<String> why = new ArrayList<>();
        try {
            if (Libc.geteuid() != 0) {
                why.add("not running as root (euid " + Libc.geteuid() + ")");
            }
        } catch (LinkageError | RuntimeException e) {
            why.add("libc not callable through jnr-ffi: " + e);
        }
        Path bpffs = Path.of("/sys/fs/bpf");
        try {
            String type = Files.getFileStore(bpffs).type();
            if (!"bpf".equals(type)) {
                why.add("/sys/fs/bpf is " + type + ", not bpffs (mount -t bpf bpf /sys/fs/bpf)");
            }
        } catch (IOException e) {
            why.add("/sys/fs/bpf missing: " + e.getMessage());
        }
        if (!Files.isReadable(Path.of("/sys/kernel/btf/vmlinux"))) {
            why.add("no kernel BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)");
        }
        return why;
    }

    private static void check() {
        List<String> why = missing();
        if (why.isEmpty()) {
            return;
        }
        String reason = "kernel tests cannot run here: " + String.join("; ", why);
        if ("required".equals(System.getProperty("bpfgit.kernel"))) {
            Assertions.fail(reason + " (bpfgit.kernel=required)");
        }
        Assumptions.abort(reason);
    }
}
