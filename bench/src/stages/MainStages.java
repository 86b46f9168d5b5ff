// Not a source-launcher file: it is in bpfgit's package (it calls package-private code), compiled into a jar that is
// appended to a release's classpath, so that the release's AOT cache stays in use (a class directory on the
// classpath turns it off). bench/README.md, "The cold CLI: the main thread's stages ... (wip/main17)":
//   R=<unpacked release>; cp=$(printf '%s:' $R/lib/*.jar)
//   javac -d /tmp/st -cp "${cp%:}" bench/src/stages/*.java && jar cf /tmp/st.jar -C /tmp/st .
//   nsenter --net=/run/netns/NS java <the launcher's flags> -XX:AOTCache=$R/lib/bpfgit.aot -cp "${cp%:}:/tmp/st.jar" \
//     dev.bpfgit.cli.MainStages ROOT DIR          (one cold apply of DIR, stage by stage: "STAGES name=cpu_ms/KB/wall_ms/gcs")
//     dev.bpfgit.cli.MainStages cli apply DIR ...  (the real Main; main's CPU and bytes at exit)
//     dev.bpfgit.policy.ParseStages FILE twice     (one file's parse piece by piece, three times)
package dev.bpfgit.cli;

import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.linux.PinRootLock;
import dev.bpfgit.render.PlanText;
import dev.bpfgit.run.Pipeline;

import java.io.PrintWriter;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * main17's harness (not product code): the stages of ApplyCommand.locked one by one on the main thread,
 * with this thread's CPU and allocated bytes around each. "cli ARGS": the real Main, and main's CPU/bytes at exit.
 */
public final class MainStages {
    static final com.sun.management.ThreadMXBean MX = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    static final List<GarbageCollectorMXBean> GCS = ManagementFactory.getGarbageCollectorMXBeans();
    static final StringBuilder OUT = new StringBuilder();
    static long cpu, bytes, wall, gcs, gcms;
    static final long T0 = System.nanoTime();

    static void start() {
        cpu = MX.getCurrentThreadCpuTime();
        bytes = MX.getCurrentThreadAllocatedBytes();
        wall = System.nanoTime();
        long[] g = gc();
        gcs = g[0];
        gcms = g[1];
    }

    static long[] gc() {
        long n = 0, t = 0;
        for (GarbageCollectorMXBean b : GCS) {
            n += b.getCollectionCount();
            t += b.getCollectionTime();
        }
        return new long[]{n, t};
    }

    static void mark(String name) {
        long c = MX.getCurrentThreadCpuTime(), b = MX.getCurrentThreadAllocatedBytes(), w = System.nanoTime();
        long[] g = gc();
        OUT.append(name).append('=').append((c - cpu) / 10_000 / 100.0).append('/').append((b - bytes) / 1024)
                .append('/').append((w - wall) / 10_000 / 100.0).append('/').append(g[0] - gcs).append(' ');
        start();
    }

    public static void main(String[] args) throws Exception {
        if (args[0].equals("cli")) {
            long atMain = MX.getCurrentThreadCpuTime(), atMainKb = MX.getCurrentThreadAllocatedBytes();
            System.err.println("ATMAIN " + atMain / 1_000_000.0 + " ms, alloc " + atMainKb / 1024 + " KB");
            long tid = Thread.currentThread().threadId();
            Thread main = Thread.currentThread();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                long[] g = gc();
                System.err.println("MAINCPU " + MX.getThreadCpuTime(tid) / 1_000_000.0 + " ms, alloc "
                        + MX.getThreadAllocatedBytes(tid) / 1024 + " KB, gc " + g[0] + " " + g[1] + " ms, since T0 "
                        + (System.nanoTime() - T0) / 1_000_000);
            }));
            Main.main(java.util.Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        Path root = Path.of(args[0]);
        Path dir = Path.of(args[1]);
        long cpu0 = MX.getCurrentThreadCpuTime(), b0 = MX.getCurrentThreadAllocatedBytes();
        start();
        Main.initNativeAhead();
        Main.initSchemaAhead();
        Common common = new Common();
        common.root = root;
        common.host = "bench";
        mark("start");
        Pipeline p = common.live();
        mark("live");
        PrintWriter out = new PrintWriter(System.out);
        PrintWriter err = new PrintWriter(System.err);
        Plan plan;
        DesiredState desired;
        try (PinRootLock lock = common.lock(p, null)) {
            mark("lock");
            try (Progress progress = Progress.start(err, "reading the kernel")) {
                var live = Common.observeAhead(p);
                mark("observeAhead");
                Sources.Ahead files = Sources.readAhead(List.of(dir), common);
                mark("read");
                var facts = common.factsAhead(p.kernel());
                var filesDone = progress.files(files.files().files().size());
                mark("factsAhead");
                Pipeline.requireFiles(files.files());
                desired = SplitValidate.validateThen(files.files(), filesDone, policies -> {
                    mark("parse");
                    var named = files.named().get();
                    mark("namedWait");
                    var host = facts.get();
                    mark("factsWait");
                    var d = dev.bpfgit.compile.Compiler.compile(p.root(), named.revision(), policies, host)
                            .withCommit(named.commit());
                    mark("compile");
                    return d;
                });
                mark("acrossWait");
                progress.show("reading the kernel and planning");
                var l = live.apply(desired);
                mark("observeJoin");
                plan = dev.bpfgit.diff.Differ.diff(desired, l);
                mark("diff");
            }
            PlanText.print(plan, out);
            mark("planText");
            for (String line : p.runtimeLines(desired)) {
                out.println(line);
            }
            mark("runtimeLines");
            out.flush();
            mark("flush");
            if (Boolean.getBoolean("main17.again")) {
                PlanText.print(plan, new PrintWriter(new java.io.StringWriter()));
                mark("planText2");
            }
            dev.bpfgit.apply.ApplyResult r;
            try (Progress progress = Progress.start(err, "applying")) {
                r = p.apply(plan, progress.applying(plan));
            }
            out.printf("Applied revision %s: %d steps, %d entries written, %d deleted.%n", plan.revision(), r.steps(),
                    r.entriesWritten(), r.entriesDeleted());
            out.flush();
            mark("apply");
            for (dev.bpfgit.kind.PolicyKind.Runtime rt : p.runtimes(desired)) {
                rt.reconcile();
            }
            mark("runtimes");
        }
        mark("unlock");
        System.err.println("STAGES " + OUT + "TOTAL=" + (MX.getCurrentThreadCpuTime() - cpu0) / 10_000 / 100.0 + "/"
                + (MX.getCurrentThreadAllocatedBytes() - b0) / 1024);
        System.exit(0);
    }
}
