package dev.bpfgit.cli;

import dev.bpfgit.apply.Applier;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.kind.Kinds;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.state.MemoryKernel;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The host of a plan or an answer without a kernel ({@code --against REV}, a fleet host without a state
 * file): its interfaces are not known, so every interface the policies name on either side exists, each
 * kind saying which it names; a revision is "live" by being applied to an in-memory kernel.
 */
final class InMemoryHost {
    private InMemoryHost() {
    }

    /** Every interface the policies name, with ifindexes 2, 3, ... in name order (1 is loopback's). */
    @SafeVarargs
    static Map<String, Integer> interfaces(List<Policy>... sides) {
        TreeSet<String> names = new TreeSet<>();
        for (List<Policy> ps : sides) {
            for (Policy p : ps) {
                names.addAll(Kinds.BUILT_IN.named(p.kind()).assumedInterfaces(p));
            }
        }
        Map<String, Integer> ifs = new TreeMap<>();
        int i = 2;
        for (String n : names) {
            ifs.put(n, i++);
        }
        return ifs;
    }

    /** {@code kernel} with {@code state} applied to it, as {@code apply} would have left a real one. */
    static MemoryKernel applied(MemoryKernel kernel, DesiredState state, Clock clock) {
        Path root = state.root();
        Applier.apply(kernel, Differ.diff(state, Observer.observe(kernel, root, Pipeline.attachPoints(state))), clock);
        return kernel;
    }
}
