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
        loadOnly();
    }

    /**
     * The classes a cold plan or apply on the kernel reads from the jars because the training cannot run them
     * (they need root, bpffs and pinned maps: observe's reads and dumps, the probes, tc, the lock's verbs): the
     * cache keeps a class the training loaded, parsed and verified, even one it never initialised. Loaded only:
     * no static initialiser runs (none of them makes a downcall here). A name that no longer exists fails the
     * training, so the list cannot rot.
     */
    private static final String[] LOAD_ONLY = {
        "dev.bpfgit.kernel.CgroupRoot", "dev.bpfgit.kernel.Feature$1",
        "dev.bpfgit.kernel.linux.Beside", "dev.bpfgit.kernel.linux.Beside$Group",
        "dev.bpfgit.kernel.linux.Fd", "dev.bpfgit.kernel.linux.Info", "dev.bpfgit.kernel.linux.LegacyTc",
        "dev.bpfgit.kernel.linux.Links", "dev.bpfgit.kernel.linux.LinuxKernel$1",
        "dev.bpfgit.kernel.linux.LinuxKernel$DumpFirst", "dev.bpfgit.kernel.linux.LinuxKernel$Dumping",
        "dev.bpfgit.kernel.linux.LinuxKernel$Listing", "dev.bpfgit.kernel.linux.MapAccess",
        "dev.bpfgit.kernel.linux.MapAccess$Batch", "dev.bpfgit.kernel.linux.MapAccess$Packed",
        "dev.bpfgit.kernel.linux.Pins", "dev.bpfgit.kernel.linux.Probes", "dev.bpfgit.kernel.linux.Probes$Once",
        "dev.bpfgit.kernel.linux.Scratch", "dev.bpfgit.kernel.linux.SplitDump",
        "dev.bpfgit.kernel.linux.SplitDump$Key", "dev.bpfgit.kernel.linux.SplitDump$Plan",
        "dev.bpfgit.kernel.linux.Structs", "dev.bpfgit.kernel.linux.XdpQuery",
        "dev.bpfgit.cli.ApplyCommand", "dev.bpfgit.cli.Confirm", "dev.bpfgit.cli.LockOption$DurationConverter",
        "dev.bpfgit.diff.RoomOrder", "dev.bpfgit.kind.egress.EgressRuntime",
        "dev.bpfgit.kind.reuseport.ReusePortRuntime", "dev.bpfgit.kind.reuseport.ReusePortRuntime$Degraded",
        "dev.bpfgit.kind.sockterm.SocketTerminationRuntime",
        // apply's lock, and the bulk check's holder (first initialised by a policy larger than the training's)
        "dev.bpfgit.kernel.linux.PinRootLock", "dev.bpfgit.kind.traffic.TrafficRuleCheck$Holder",
    };

    private static void loadOnly() {
        ClassLoader loader = AotTraining.class.getClassLoader();
        for (String name : LOAD_ONLY) {
            try {
                Class.forName(name, false, loader);
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException("AotTraining.LOAD_ONLY names a class that is gone: " + name, e);
            }
        }
        System.out.println("loaded for the cache: " + LOAD_ONLY.length + " classes of the kernel verbs");
    }

    /**
     * The threads {@link Main#main} starts before the verb (main itself is not trained): their lambdas are then
     * in the cache, not spun at every start. Joined, so that the cache is not written while they run.
     */
    private static void aheadThreads() {
        try {
            Main.initSchemaAhead().join();
            Main.initNativeAhead().join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while training the threads started ahead", e);
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
        // apply's command line, which the training cannot run (root): its classes and model come from the cache
        lines.add(List.of("apply", "--help"));
        int worst = 0;
        for (List<String> l : lines) {
            StringWriter out = new StringWriter();
            int rc = Main.execute(new PrintWriter(out), new PrintWriter(out), l.toArray(String[]::new));
            System.out.println("bpfgit " + String.join(" ", l) + ": exit " + rc);
            System.out.print(out);
            worst = Math.max(worst, rc);
        }
        aheadThreads();
        nativeLayer();
        if (worst > 2) {
            throw new IllegalStateException("a training command line failed (exit " + worst + ")");
        }
    }

}
