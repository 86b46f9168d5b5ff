package dev.bpfgit.apply;

import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.diff.Change;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Features;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.observe.Meta;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.DirectorySource;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.state.MemoryKernel;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bookkeeping map around a plan of entry writes only, the warm reconcile's. */
class ApplierTest {
    private static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit-applier");
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-02T03:04:05Z"), ZoneOffset.UTC);

    @Test
    void theAppliedTimeIsInstantToString() {
        java.util.Random r = new java.util.Random(12);
        int[] digits = new int[4];
        long last = Instant.parse("9999-12-31T23:59:59.999999999Z").getEpochSecond();
        for (int i = 0; i < 200_000; i++) {
            long s = i < 4 ? new long[]{0, last, 951_782_400L /* 2000-02-29 */, 4_107_542_400L /* 2100-03-01 */}[i]
                    : r.nextLong(last + 1);
            int fraction = r.nextInt(4);
            int nano = switch (fraction) {
                case 0 -> 0;
                case 1 -> (1 + r.nextInt(999)) * 1_000_000;
                case 2 -> (1 + r.nextInt(999_999)) * 1_000;
                default -> r.nextInt(1_000_000_000);
            };
            Instant t = Instant.ofEpochSecond(s, nano);
            String expected = t.toString();
            assertEquals(expected, Applier.instantText(t), s + "." + nano);
            int dot = expected.indexOf('.');
            digits[dot < 0 ? 0 : (expected.length() - dot - 2) / 3]++;
        }
        // every fraction width occurred (none, 3, 6, 9 digits); a nano of 0 or a multiple of 1000 may shorten it
        for (int d : digits) {
            assertTrue(d > 10_000, java.util.Arrays.toString(digits));
        }
        // outside the years 1970-9999: Instant.toString itself
        for (Instant t : List.of(Instant.parse("1969-12-31T23:59:59.5Z"), Instant.parse("+10000-01-01T00:00:00Z"),
                Instant.MIN, Instant.MAX, Instant.EPOCH.minusNanos(1))) {
            assertEquals(t.toString(), Applier.instantText(t));
        }
    }

    private static DesiredState edgeFilter() {
        Snapshot s = DirectorySource.read(Path.of("../examples/edge-filter"));
        List<Policy> policies = Pipeline.validate(s);
        HostFacts host = new HostFacts("web-1", Map.of("role", "edge"), Map.of("eth0", 2, "eth1", 3, "lo", 1),
                Optional.empty(), Features.ALL);
        return Compiler.compile(ROOT, "dir:1", policies, host);
    }

    /** {@code kernel}, with "method pin" of every call on it added to {@code calls}. */
    private static Kernel logging(Kernel kernel, List<String> calls) {
        return (Kernel) Proxy.newProxyInstance(Kernel.class.getClassLoader(), new Class<?>[]{Kernel.class},
                (proxy, method, args) -> {
                    calls.add(method.getName() + (args != null && args.length > 0 && args[0] instanceof Path p
                            ? " " + ROOT.relativize(p) : ""));
                    try {
                        return method.invoke(kernel, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    /** An applied edge-filter with one entry of its trie deleted behind bpfgit's back, and the plan that puts it back. */
    private record Drifted(MemoryKernel kernel, DesiredState desired, Plan plan, Path trie) {
    }

    private static Drifted drifted() {
        MemoryKernel kernel = new MemoryKernel(Map.of("eth0", 2, "eth1", 3, "lo", 1), 2);
        DesiredState desired = edgeFilter();
        Applier.apply(kernel, Differ.diff(desired, Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired))),
                CLOCK);
        LiveState live = Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired));
        Path trie = live.maps().keySet().stream().filter(p -> p.getFileName().toString().equals("rules_v4"))
                .findFirst().orElseThrow();
        Bytes gone = live.maps().get(trie).entries().orElseThrow().keySet().iterator().next();
        kernel.delete(trie, List.of(gone));
        Plan plan = Differ.diff(desired, Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired)));
        assertTrue(plan.units().stream().flatMap(u -> u.changes().stream())
                .allMatch(c -> c instanceof Change.PutEntries), plan.units().toString());
        assertFalse(plan.inSync());
        return new Drifted(kernel, desired, plan, trie);
    }

    @Test
    void aPlanOfEntryWritesOnlyWritesTheEntriesThenTheBookkeepingWithoutCheckingItFirst() {
        Drifted d = drifted();
        List<String> calls = new ArrayList<>();
        ApplyResult r = Applier.apply(logging(d.kernel(), calls), d.plan(), CLOCK);
        assertEquals(1, r.entriesWritten());
        assertEquals(List.of("update " + ROOT.relativize(d.trie()), "update " + ROOT.relativize(Meta.pin(ROOT))), calls);
        assertTrue(Differ.diff(d.desired(), Observer.observe(d.kernel(), ROOT, Pipeline.attachPoints(d.desired())))
                .inSync());
    }

    @Test
    void theBookkeepingMapGoneBeforeSuchAPlanIsMadeAgainWithWhatThePlanRecords() {
        Drifted d = drifted();
        d.kernel().unpin(Meta.pin(ROOT));
        Applier.apply(d.kernel(), d.plan(), CLOCK);
        LiveState after = Observer.observe(d.kernel(), ROOT, Pipeline.attachPoints(d.desired()));
        assertTrue(after.maps().containsKey(Meta.pin(ROOT)));
        d.plan().meta().forEach((k, v) -> assertEquals(Optional.of(v), after.meta().get(k), k));
        assertTrue(Differ.diff(d.desired(), after).inSync());
    }
}
