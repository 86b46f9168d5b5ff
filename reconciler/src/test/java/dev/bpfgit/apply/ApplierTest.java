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
