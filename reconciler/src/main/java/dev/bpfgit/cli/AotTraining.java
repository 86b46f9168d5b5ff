package dev.bpfgit.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * The training run of the release's AOT cache (src/build/aot-cache.sh): several command lines, separated by
 * {@code --}, in one JVM, so that the cache holds the classes of every stage a verb goes through, not only
 * those of the one verb a single training run can start with (validate parses and checks; a fleet plan also
 * compiles, diffs and renders; neither needs root or the kernel). Prints each line's exit code and fails
 * (an exception, exit 1) when one is neither 0, 1 nor 2 (2: the examples' deliberate conflicts).
 */
final class AotTraining {
    private AotTraining() {
    }

    /**
     * What every verb on the kernel does first and needs no root for: libbpf's downcall handles (made when
     * the kernel is opened: about 120 classes of the FFM linker and 300 method-handle forms) and jnr-ffi's
     * libc with its interface dump (the host facts). Best effort: a build machine without libbpf still
     * gets a cache, without these.
     */
    private static void nativeLayer() {
        try {
            dev.bpfgit.kernel.linux.LinuxKernel kernel = new dev.bpfgit.kernel.linux.LinuxKernel();
            System.out.println("native layer: uid " + dev.bpfgit.kernel.linux.Libc.geteuid() + ", "
                    + kernel.interfaces().size() + " interfaces, " + kernel.possibleCpus() + " cpus");
        } catch (RuntimeException | LinkageError e) {
            System.out.println("native layer not trained: " + e);
        }
    }

    public static void main(String[] args) {
        List<List<String>> lines = new ArrayList<>();
        List<String> line = new ArrayList<>();
        for (String a : args) {
            if (a.equals("--")) {
                lines.add(line);
                line = new ArrayList<>();
            } else {
                line.add(a);
            }
        }
        lines.add(line);
        int worst = 0;
        for (List<String> l : lines) {
            StringWriter out = new StringWriter();
            int rc = Main.execute(new PrintWriter(out), new PrintWriter(out), l.toArray(String[]::new));
            System.out.println("bpfgit " + String.join(" ", l) + ": exit " + rc);
            System.out.print(out);
            worst = Math.max(worst, rc);
        }
        nativeLayer();
        if (worst > 2) {
            throw new IllegalStateException("a training command line failed (exit " + worst + ")");
        }
    }

}
