package dev.bpfgit.kind;

import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.Features;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.MapInfo;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.policy.PolicySpec;
import io.prometheus.metrics.model.registry.MultiCollector;

import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Everything the generic stages need from one kind of policy. The stages (load, compile, observe, diff,
 * apply, status, metrics) hold a {@link Kinds} and never name a kind; a kind is its package, its schema
 * ({@code schema/<file>}, dispatched by {@code schema/policy.schema.json}), its BPF source and one line in
 * {@link Kinds#BUILT_IN}.
 */
public interface PolicyKind {

    /** The {@code kind} of its documents, e.g. {@code TrafficPolicy}. */
    String name();

    /**
     * The first path segment of its units under the pin root, e.g. {@code traffic}: how a unit found in the
     * kernel, and no longer desired, is attributed to its kind. Unique among the registered kinds.
     */
    String directory();

    /**
     * Its schema file in {@code schema/}: by default the kind's name in lower case, e.g.
     * {@code trafficpolicy.schema.json} for {@code TrafficPolicy}.
     */
    default String schema() {
        return name().toLowerCase(java.util.Locale.ROOT) + ".schema.json";
    }

    /**
     * The kind's spec from a spec the schema accepted, defaults filled in. Check here only what the schema
     * cannot say; report each mistake and leave the bad part out, so that {@link #check} still sees the rest.
     *
     * @param spec    may be rewritten in place to a canonical form: the policy's digest is taken after
     * @param pointer the spec's JSON pointer ({@code /spec})
     * @param error   a {@link PolicyError} at a JSON pointer of the document, with a message
     */
    PolicySpec read(ObjectNode spec, String pointer, BiFunction<String, String, PolicyError> error,
                    Consumer<PolicyError> errors);

    /**
     * A check of the items of the spec's largest array (a TrafficPolicy's rules) that is much faster than the
     * JSON Schema validator, for specs of 100,000 items. It only ever says "valid" when the schema says so
     * too; anything it is not sure of goes to the validator, which then decides and words the errors.
     */
    default Optional<ItemCheck> itemCheck() {
        return Optional.empty();
    }

    /**
     * @param array       the spec's field holding the array, e.g. {@code rules}
     * @param fingerprint what {@code PolicySchema.fingerprint(kind)} gives for the kind's schema
     *                    the check was written against: when the schema changes, the check is not used
     *                    (validation is slower, never different) until it is updated
     * @param valid       (spec, item): true only if the schema accepts the spec with that item, when it
     *                    accepts the spec without it
     */
    record ItemCheck(String array, String fingerprint,
                     java.util.function.BiPredicate<ObjectNode, tools.jackson.databind.JsonNode> valid) {
    }

    /** Checks across the documents of this kind, each valid on its own, in file order. */
    List<PolicyError> check(List<Policy> policies);

    /**
     * Whether {@link #check} finds nothing, asked of policies each of which has passed {@link #check} already
     * with the others of its run (a split parse's checks across runs, cli/SplitValidate): a kind may skip what
     * depends on one policy alone. Only the answer counts: the errors themselves come from {@link #check}.
     */
    default boolean passesAcross(List<Policy> policies) {
        return check(policies).isEmpty();
    }

    /**
     * The units the policies of this kind selected for {@code host} compile into, under {@code root}. Host
     * mistakes are added to {@code errors} (then the result is ignored). Unit directories must follow
     * {@link UnitNames}.
     */
    List<Unit> compile(Path root, List<Policy> policies, HostFacts host, List<PolicyError> errors);

    /**
     * The interfaces a plan without a kernel or state file must assume the host has, for this policy. None by
     * default: a kind that acts on sockets or cgroups names no interface.
     */
    default Set<String> assumedInterfaces(Policy policy) {
        return Set.of();
    }

    /**
     * The attach points {@code state export} records for a host with these interfaces. None by default: a
     * kind not attached to interfaces has nothing to record per interface.
     */
    default List<AttachPoint> exportedAttachPoints(Collection<String> interfaces) {
        return List.of();
    }

    /**
     * True when observe must not read the entries of this map of one of the kind's units: contents the
     * datapath writes (counters) that are never policy, and too big to read on every plan. By default the
     * per-CPU maps, where BPF programs count; a kind with other such maps adds them to this.
     */
    default boolean statistics(MapInfo map) {
        return map.type() == MapType.PERCPU_ARRAY.id || map.type() == MapType.PERCPU_HASH.id;
    }

    /**
     * The kernel features the policy cannot work without on a host whose kernel has {@code kernel}. A kind with
     * a fallback for a missing feature names the fallback's own feature instead (TrafficPolicy on tc: tcx
     * links, else legacy tc), and its compiler picks the same way from {@link HostFacts#features()}. Compile
     * refuses the policies whose features the host lacks, naming feature, minimum kernel and policies
     * ({@link dev.bpfgit.compile.NotSupportedException}), so plan shows it before apply.
     */
    default Set<Feature> features(Policy policy, Features kernel) {
        return Set.of();
    }

    /**
     * What bpfgit does when a program it did not attach runs at one of the kind's attach points. By default
     * {@link Foreign#NONE}, right for a kind without attach points (nothing foreign can run at one); a kind
     * with attach points says what sharing them means.
     */
    default Foreign foreign(AttachPoint at) {
        return Foreign.NONE;
    }

    /**
     * {@link #foreign(AttachPoint)} for a unit whose policies are {@code acting}: a kind whose policies may
     * accept a foreign program at the point (TrafficPolicy's {@code foreignPrograms: coexist}) decides here.
     */
    default Foreign foreign(AttachPoint at, List<Policy> acting) {
        return foreign(at);
    }

    /** @param refuse an error (nothing is applied) rather than a warning; {@code advice} ends either */
    record Foreign(boolean refuse, String advice) {
        /** Neither refused nor explained. */
        public static final Foreign NONE = new Foreign(false, "");
    }

    /**
     * The kind's part of {@code status} for one of its units (counters, say), read from the kernel once:
     * then asked per policy id ({@code Kind/name}) acting in the unit. {@code live} has the unit's maps.
     */
    Function<String, UnitReport> report(Kernel kernel, LiveState live, Path unitDir);

    /**
     * The kind's metrics for the units of the enforced revision, read at scrape time, if it has any (none by
     * default).
     *
     * @param enforced the desired state last applied, null before the first apply
     * @param maxSeries the most series one scrape may export ({@code metrics.maxRuleSeries})
     */
    default Optional<MultiCollector> metrics(Kernel kernel, Supplier<DesiredState> enforced, int maxSeries) {
        return Optional.empty();
    }

    /**
     * As {@link #metrics(Kernel, Supplier, int)}, reading the maps whose entries it shows through {@code maps}
     * (the sidecar with the write counter: the contents its loop kept, while the kernel counted no write to them).
     */
    default Optional<MultiCollector> metrics(Kernel kernel, dev.bpfgit.observe.MapReader maps,
                                             Supplier<DesiredState> enforced, int maxSeries) {
        return metrics(kernel, enforced, maxSeries);
    }

    /**
     * Work of the kind that a diff cannot do: state that changes without a new revision (another process's
     * sockets, say). {@code apply} runs it once after its plan; {@code run} every {@link Runtime#INTERVAL}
     * for the units of the enforced revision.
     *
     * @param enforced the desired state applied; its units of other kinds are to be ignored
     */
    default Optional<Runtime> runtime(Kernel kernel, DesiredState enforced) {
        return Optional.empty();
    }

    /**
     * The runtime of the kind's units pinned under {@code root}, from what they hold in the kernel: for a
     * bpfgit without the policies, such as {@code apply --plan FILE}. Empty when the kind has none.
     */
    default Optional<Runtime> runtime(Kernel kernel, Path root) {
        return Optional.empty();
    }

    /**
     * Undoes what the kind did to the unit outside its pins (a program attached to other processes' sockets,
     * say), just before a plan removes the unit. A failure is logged and the removal goes on.
     */
    default void release(Kernel kernel, Path unitDir) {
    }

    /** A kind's runtime for one desired state; may keep what it learnt between passes. */
    interface Runtime {
        java.time.Duration INTERVAL = java.time.Duration.ofMillis(500);

        /** One pass. A failure of one part is recorded (status, logs) and does not stop the rest. */
        void reconcile();

        /**
         * What a pass would find and do now, changing nothing: lines that {@code plan} and {@code apply} print
         * after the plan (e.g. each member of a group and its live socket).
         */
        default List<String> describe() {
            return List.of();
        }

        /**
         * {@link #describe()} for {@code plan -o json}: adds the kind's fields to the plan's root object (each kind
         * its own, declared in schema/plan.schema.json). Nothing by default.
         */
        default void describe(ObjectNode plan) {
        }
    }
}
