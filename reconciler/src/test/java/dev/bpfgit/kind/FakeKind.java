package dev.bpfgit.kind;

import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.Le;
import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.MapInfo;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.policy.PolicySpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A kind that exists only in tests: each policy is one unit {@code fake/<target>} holding one ARRAY map
 * {@code values} ({@code size} u64 slots). It has no program, no attach point and no schema in schema/:
 * its schema is a test resource. Nothing in the generic stages knows it.
 */
final class FakeKind implements PolicyKind {
    record Spec(String target, List<Long> values, int size) implements PolicySpec {
    }

    @Override
    public String name() {
        return "FakeKind";
    }

    @Override
    public String directory() {
        return "fake";
    }

    @Override
    public PolicySpec read(ObjectNode spec, String pointer, BiFunction<String, String, PolicyError> error,
                           Consumer<PolicyError> errors) {
        List<Long> values = new ArrayList<>();
        spec.get("values").forEach(v -> values.add(v.asLong()));
        int size = spec.get("size").asInt();
        if (values.size() > size) {
            errors.accept(error.apply(pointer + "/values", "more values than size " + size));
        }
        return new Spec(spec.get("target").asString(), values, size);
    }

    @Override
    public List<PolicyError> check(List<Policy> policies) {
        Map<String, Policy> byTarget = new HashMap<>();
        List<PolicyError> errors = new ArrayList<>();
        for (Policy p : policies) {
            Policy earlier = byTarget.putIfAbsent(((Spec) p.spec()).target(), p);
            if (earlier != null) {
                errors.add(p.error("/spec/target", "target already claimed by " + earlier.id()));
            }
        }
        return errors;
    }

    @Override
    public List<Unit> compile(Path root, List<Policy> policies, HostFacts host, List<PolicyError> errors) {
        List<Unit> units = new ArrayList<>();
        for (Policy p : policies) {
            Spec s = (Spec) p.spec();
            Path dir = root.resolve(directory()).resolve(UnitNames.segment(s.target()));
            Map<Bytes, Bytes> entries = new HashMap<>();
            for (int i = 0; i < s.size(); i++) {   // an array has every slot: unset ones are 0
                byte[] v = new byte[8];
                long value = i < s.values().size() ? s.values().get(i) : 0;
                Le.putU32(v, 0, value & 0xffffffffL);
                entries.put(Bytes.wrap(Le.u32(i)), Bytes.wrap(v));
            }
            MapSpec spec = new MapSpec("values", MapType.ARRAY, 4, 8, s.size(), 0, Optional.empty());
            units.add(new Unit(dir, name(), s.target(), List.of(p.id()),
                    List.of(new MapDesire(dir.resolve("values"), spec, Optional.of(entries), CODEC, Optional.empty())),
                    List.of(), List.of()));
        }
        return units;
    }

    static final EntryCodec CODEC = new EntryCodec() {
        public String key(Bytes key) {
            return "slot " + Le.u32(key.toArray(), 0);
        }

        public String value(Bytes value) {
            return Long.toString(Le.u64(value.toArray(), 0));
        }
    };

    @Override
    public boolean statistics(MapInfo map) {
        return false;
    }

    @Override
    public Foreign foreign(AttachPoint at) {
        return new Foreign(true, "not ours");
    }

    @Override
    public Function<String, UnitReport> report(Kernel kernel, LiveState live, Path unitDir) {
        int n = kernel.entries(unitDir.resolve("values")).size();
        return id -> new UnitReport(List.of(n + " slots"), o -> o.put("slots", n));
    }

}
