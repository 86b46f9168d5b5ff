package dev.bpfgit.run;

import dev.bpfgit.apply.Applier;
import dev.bpfgit.apply.ApplyResult;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.LinkDesire;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyLoader;
import dev.bpfgit.source.Snapshot;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The data flow of design §2 in one place: source snapshot → parse+validate → compile → observe → diff →
 * apply. The CLI verbs and the sidecar are thin layers over it.
 */
public final class Pipeline {
    // the loader compiles the JSON Schemas once; it is not shared across threads
    private static final ThreadLocal<PolicyLoader> LOADER = ThreadLocal.withInitial(PolicyLoader::new);
    private final Kernel kernel;
    private final Path root;
    private final Clock clock;

    public Pipeline(Kernel kernel, Path root, Clock clock) {
        this.kernel = kernel;
        this.root = root;
        this.clock = clock;
    }

    /** Parse and validate every file; throws PolicyException with every error. */
    public static List<Policy> validate(Snapshot snapshot) {
        return LOADER.get().load(snapshot);
    }

    /** As {@link #validate(Snapshot)}, telling {@code filesDone} the files parsed so far. */
    public static List<Policy> validate(Snapshot snapshot, java.util.function.IntConsumer filesDone) {
        return LOADER.get().load(snapshot, filesDone);
    }

    /**
     * @throws dev.bpfgit.source.SourceException when the snapshot holds no policy file: an empty checkout
     *         or a mount that failed must not read as "remove everything" ({@code destroy} does that)
     */
    public DesiredState compile(Snapshot snapshot, HostFacts host) {
        return compile(snapshot, host, n -> { });
    }

    public DesiredState compile(Snapshot snapshot, HostFacts host, java.util.function.IntConsumer filesDone) {
        requireFiles(snapshot);
        return Compiler.compile(root, snapshot.revision(), validate(snapshot, filesDone), host)
                .withCommit(snapshot.commit());
    }

    /**
     * As {@link #compile(Snapshot, HostFacts, java.util.function.IntConsumer)}, asking for the host facts only
     * once the policies are parsed and valid: a caller can have them read from the kernel on another thread
     * meanwhile (cli/Common#factsAhead).
     */
    public DesiredState compile(Snapshot snapshot, java.util.function.Supplier<HostFacts> host,
                                java.util.function.IntConsumer filesDone) {
        requireFiles(snapshot);
        List<Policy> policies = validate(snapshot, filesDone);
        return Compiler.compile(root, snapshot.revision(), policies, host.get()).withCommit(snapshot.commit());
    }

    public static void requireFiles(Snapshot snapshot) {
        if (snapshot.files().isEmpty()) {
            throw new dev.bpfgit.source.SourceException("no policy files (*.yaml, *.yml) found: refusing to plan"
                    + " the removal of everything; use 'bpfgit destroy' for that");
        }
    }

    /** The host as the kernel shows it, named and labelled by configuration. */
    public HostFacts host(String name, Map<String, String> labels) {
        return host(kernel, name, labels);
    }

    public static HostFacts host(Kernel kernel, String name, Map<String, String> labels) {
        Map<String, Integer> ifs = new java.util.TreeMap<>();
        // loops, not lambdas, here and in runtimes: a live plan's or apply's path, which the AOT training cannot
        // run, so each lambda was spun at run time (bench/README.md, switch14)
        for (dev.bpfgit.kernel.Interface i : kernel.interfaces()) {
            ifs.put(i.name(), i.ifindex());
        }
        return new HostFacts(name, labels, ifs, java.util.Optional.of(kernel.cgroups()), kernel.features());
    }

    public LiveState observe(DesiredState desired) {
        return Observer.observe(kernel, root, attachPoints(desired));
    }

    /** As {@link #observe(DesiredState)}, with map contents kept in {@code cache} (null: none). */
    public LiveState observe(DesiredState desired, dev.bpfgit.observe.EntryCache cache) {
        return Observer.observe(dev.bpfgit.kind.Kinds.BUILT_IN, kernel, root, attachPoints(desired), cache);
    }

    public LiveState observe(List<AttachPoint> points) {
        return Observer.observe(kernel, root, points);
    }

    /** As {@link #observe(List)}, with map contents kept in {@code cache} (null: none). */
    public LiveState observe(List<AttachPoint> points, dev.bpfgit.observe.EntryCache cache) {
        return Observer.observe(dev.bpfgit.kind.Kinds.BUILT_IN, kernel, root, points, cache);
    }

    public Plan plan(DesiredState desired) {
        return Differ.diff(desired, observe(desired));
    }

    public ApplyResult apply(Plan plan) {
        return Applier.apply(kernel, plan, clock);
    }

    /**
     * The kinds' runtimes for {@code desired} (state that changes without a new revision, such as another
     * process's sockets); empty when no kind has one for it.
     */
    public List<dev.bpfgit.kind.PolicyKind.Runtime> runtimes(DesiredState desired) {
        List<dev.bpfgit.kind.PolicyKind.Runtime> out = new ArrayList<>();
        for (dev.bpfgit.kind.PolicyKind k : dev.bpfgit.kind.Kinds.BUILT_IN.all()) {
            java.util.Optional<dev.bpfgit.kind.PolicyKind.Runtime> r = k.runtime(kernel, desired);
            if (r.isPresent()) {
                out.add(r.get());
            }
        }
        return out;
    }

    /** The kinds' runtimes for what is pinned under the root, without policies (after {@code apply --plan}). */
    public List<dev.bpfgit.kind.PolicyKind.Runtime> pinnedRuntimes() {
        List<dev.bpfgit.kind.PolicyKind.Runtime> out = new ArrayList<>();
        for (dev.bpfgit.kind.PolicyKind k : dev.bpfgit.kind.Kinds.BUILT_IN.all()) {
            k.runtime(kernel, root).ifPresent(out::add);
        }
        return out;
    }

    /** The lines the kinds' runtimes print under a plan of {@code desired} ({@link dev.bpfgit.kind.PolicyKind.Runtime#describe}). */
    public List<String> runtimeLines(DesiredState desired) {
        List<String> out = new ArrayList<>();
        for (dev.bpfgit.kind.PolicyKind.Runtime r : runtimes(desired)) {
            out.addAll(r.describe());
        }
        return out;
    }

    public ApplyResult apply(Plan plan, Applier.Progress progress) {
        return Applier.apply(kernel, plan, clock, progress);
    }

    /** The same pipeline on another kernel (a wrapper of this one). */
    public Pipeline withKernel(Kernel other) {
        return new Pipeline(other, root, clock);
    }

    public Kernel kernel() {
        return kernel;
    }

    public Path root() {
        return root;
    }

    public static List<AttachPoint> attachPoints(DesiredState desired) {
        List<AttachPoint> points = new ArrayList<>();
        for (Unit u : desired.units()) {
            for (LinkDesire l : u.links()) {
                points.add(l.at());
            }
        }
        return points;
    }
}
