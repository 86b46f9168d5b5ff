import dev.bpfgit.apply.ApplyResult;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.linux.LinuxKernel;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.DirectorySource;
import dev.bpfgit.source.Snapshot;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The stages of a cold `bpfgit apply DIR` one by one, in a fresh JVM started with the launcher's flags (and
 * its AOT cache when given): what a cold apply spends its time on. Run inside the target network namespace
 * (nsenter), as root:
 *
 *   java <launcher flags> -cp <release lib/*> bench/src/ColdStages.java ROOT DIR [HOST]
 *
 * Prints one line: ms since the process started (JVM start, class loading of java --source) and each stage.
 */
public class ColdStages {
    public static void main(String[] args) {
        long t0 = System.nanoTime();
        Instant started = ProcessHandle.current().info().startInstant().orElseThrow();
        long jvm = Duration.between(started, Instant.now()).toMillis();
        Path root = Path.of(args[0]);
        Path dir = Path.of(args[1]);
        Pipeline p = new Pipeline(new LinuxKernel(), root, Clock.systemUTC());
        long a = System.nanoTime();
        Snapshot s = DirectorySource.read(dir);
        long b = System.nanoTime();
        List<Policy> policies = Pipeline.validate(s);
        long c = System.nanoTime();
        long i0 = System.nanoTime();
        p.kernel().interfaces();
        long i1 = System.nanoTime();
        p.kernel().cgroups();
        long i2 = System.nanoTime();
        p.kernel().features();
        long i3 = System.nanoTime();
        HostFacts host = p.host(args.length > 2 ? args[2] : "bench", Map.of());
        long d = System.nanoTime();
        DesiredState desired = Compiler.compile(root, s.revision(), policies, host);
        long e = System.nanoTime();
        LiveState live = p.observe(desired);
        long f = System.nanoTime();
        Plan plan = Differ.diff(desired, live);
        long g = System.nanoTime();
        ApplyResult r = p.apply(plan);
        long h = System.nanoTime();
        System.out.printf("jvm+main %d | kernel %d | read %d | parse+validate %d | host facts %d (interfaces %d cgroups %d features %d) | compile %d | observe %d | diff %d"
                        + " | apply %d (written %d deleted %d) | total since start %d%n",
                jvm, ms(a - t0), ms(b - a), ms(c - b), ms(d - c), ms(i1 - i0), ms(i2 - i1), ms(i3 - i2), ms(e - d), ms(f - e), ms(g - f), ms(h - g),
                r.entriesWritten(), r.entriesDeleted(), Duration.between(started, Instant.now()).toMillis());
    }

    static long ms(long ns) {
        return ns / 1_000_000;
    }
}
