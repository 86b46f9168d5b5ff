package dev.bpfgit.cli;

import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.run.Config;
import dev.bpfgit.run.Metrics;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.run.Sidecar;
import dev.bpfgit.source.PolicySource;
import dev.bpfgit.source.PolicySources;
import dev.bpfgit.state.MemoryKernel;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The training run of {@code run}'s own AOT cache (src/build/aot-cache.sh, run.aot): the sidecar loop over a
 * directory of RULES rules on an in-memory kernel, its first apply and then EDITS one-rule edits, each
 * written as an editor or a checkout does (a new file renamed over the old one), and a metrics scrape.
 * With JDK 25 the cache keeps the classes and the method profiles of this run (JEP 515), so a real sidecar
 * starts with the edit path's profiles: without them the first edit after a start was the one that warmed
 * the JIT up, 1.5-2 times the CPU of later ones (bench/README.md, "The first edit after a start"). No root,
 * no kernel: the map writes of the real kernel are not trained.
 *
 * <pre>AotRunTraining RULES EDITS</pre>
 */
final class AotRunTraining {
    private static final long TIMEOUT_MS = 300_000;

    private AotRunTraining() {
    }

    public static void main(String[] args) throws Exception {
        List<String> revisions = train(Integer.parseInt(args[0]), Integer.parseInt(args[1]));
        System.out.println("run training: revisions applied " + revisions);
    }

    /** The training; returns the revisions the sidecar applied, the first one's and one per edit. */
    static List<String> train(int rules, int edits) throws Exception {
        List<String> applied = new ArrayList<>();
        // the command line's classes (picocli's model of every verb), as the sidecar's start goes through them
        StringWriter help = new StringWriter();
        int rc = Main.execute(new PrintWriter(help), new PrintWriter(help), new String[]{"run", "--help"});
        if (rc != 0) {
            throw new IllegalStateException("bpfgit run --help: exit " + rc + "\n" + help);
        }
        Path dir = Files.createTempDirectory("bpfgit-aot-run");
        try {
            Path policies = Files.createDirectory(dir.resolve("policies"));
            write(policies, rules, 0);
            Path file = dir.resolve("bpfgit.yaml");
            Files.writeString(file, "root: /sys/fs/bpf/bpfgit-aot-training\n"
                    + "source: {path: " + policies + ", lastGood: " + dir.resolve("lastgood") + "}\n"
                    + "reconcile: {interval: 60s}\n");
            Config config = Config.load(file);
            HostFacts host = new HostFacts("aot-training", Map.of(), Map.of("eth0", 2));
            MemoryKernel kernel = new MemoryKernel(host.interfaces(), 2);
            Clock clock = Clock.systemUTC();
            Metrics metrics = new Metrics(clock);
            try (PolicySource source = PolicySources.open(config.sourcePath(), config.git(), config.interval(),
                    clock)) {
                Sidecar sidecar = new Sidecar(new Pipeline(kernel, config.root(), clock), source, () -> host, config,
                        PolicySources.checkInterval(config.git(), config.interval()), clock, metrics);
                Thread loop = Thread.ofPlatform().name("aot-training-sidecar").start(sidecar::run);
                try {
                    Optional<String> last = await(sidecar, loop, Optional.empty());
                    applied.add(last.orElseThrow());
                    for (int e = 1; e <= edits; e++) {
                        write(policies, rules, e);
                        last = await(sidecar, loop, last);
                        applied.add(last.orElseThrow());
                    }
                    PrometheusTextFormatWriter.create().write(OutputStream.nullOutputStream(),
                            metrics.registry().scrape(), EscapingScheme.ALLOW_UTF8);
                } finally {
                    sidecar.stop();
                    loop.join(TIMEOUT_MS);
                }
                if (loop.isAlive()) {
                    throw new IllegalStateException("the training sidecar did not stop");
                }
            }
            return applied;
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Waits until the sidecar has applied a revision other than {@code before}, and returns it. */
    private static Optional<String> await(Sidecar sidecar, Thread loop, Optional<String> before)
            throws InterruptedException {
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        while (sidecar.enforcedRevision().isEmpty() || sidecar.enforcedRevision().equals(before)) {
            if (!loop.isAlive() || System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("the training sidecar applied no new revision (after "
                        + before.orElse("none") + ")");
            }
            Thread.sleep(5);
        }
        return sidecar.enforcedRevision();
    }

    /** The policy of bench/sidecar: {@code rules} /32 rules, and {@code extra} more that the edits add. */
    private static void write(Path dir, int rules, int extra) {
        StringBuilder b = new StringBuilder(rules * 44 + 256)
                .append("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: training}\nspec:\n")
                .append("  interfaces: [eth0]\n  hook: xdp\n  capacity: ").append(rules + 256).append("\n  rules:\n");
        for (int i = 0; i < rules; i++) {
            b.append("    - {prefix: 10.").append(i >> 16 & 255).append('.').append(i >> 8 & 255).append('.')
                    .append(i & 255).append("/32, action: drop}\n");
        }
        for (int j = 0; j < extra; j++) {
            b.append("    - {prefix: 172.16.").append(j >> 8 & 255).append('.').append(j & 255)
                    .append("/32, action: drop}\n");
        }
        try {
            Path tmp = dir.resolve(".training.yaml.tmp");
            Files.writeString(tmp, b);
            Files.move(tmp, dir.resolve("training.yaml"), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
