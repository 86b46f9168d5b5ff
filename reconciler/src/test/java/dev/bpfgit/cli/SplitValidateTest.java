package dev.bpfgit.cli;

import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.DirectorySource;
import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The parse split over cores gives the serial parse's policies, or its very errors. */
class SplitValidateTest {

    /** The serial result: the policies, or the errors thrown. */
    private static Object serial(Snapshot s) {
        try {
            return Pipeline.validate(s);
        } catch (PolicyException e) {
            return e.errors();
        }
    }

    private static Object split(Snapshot s, int cores) {
        try {
            return SplitValidate.validate(s, n -> { }, cores, 0, Long.MAX_VALUE);
        } catch (PolicyException e) {
            return e.errors();
        }
    }

    /** {@link SplitValidate#validateThen} with {@code then}: its result, or the errors thrown. */
    private static Object splitThen(Snapshot s, int cores, java.util.function.Function<List<Policy>, Object> then) {
        try {
            return SplitValidate.validateThen(s, n -> { }, cores, 0, Long.MAX_VALUE, then);
        } catch (PolicyException e) {
            return e.errors();
        }
    }

    private static List<Path> dirs() throws IOException {
        List<Path> dirs = new ArrayList<>();
        for (String top : List.of("src/test/resources/policies/valid", "src/test/resources/policies/invalid",
                "../examples")) {
            try (Stream<Path> s = Files.list(Path.of(top))) {
                s.filter(Files::isDirectory).sorted().forEach(dirs::add);
            }
        }
        return dirs;
    }

    @Test
    void everyTestAndExampleDirectoryGivesTheSerialResult() throws IOException {
        int compared = 0, invalid = 0;
        for (Path dir : dirs()) {
            Snapshot s;
            try {
                s = DirectorySource.read(dir);
            } catch (RuntimeException e) {
                continue;   // refused before parsing (e.g. no policy file): not this class's business
            }
            if (s.files().isEmpty()) {
                continue;
            }
            Object want = serial(s);
            for (int cores : new int[]{2, 3, 8}) {
                assertEquals(want, split(s, cores), dir + ", " + cores + " cores");
                assertEquals(want, splitThen(s, cores, p -> p), dir + ", " + cores + " cores, checks beside");
            }
            compared++;
            invalid += want instanceof List<?> l && !l.isEmpty() && l.get(0) instanceof PolicyError ? 1 : 0;
        }
        assertTrue(compared >= 20, "directories compared: " + compared);
        assertTrue(invalid >= 10, "invalid directories compared: " + invalid);
    }

    /** A policy of {@code rules} rules on eth0, named {@code name}, its prefixes 10.{@code net}.x.y/32. */
    private static String policy(String name, int net, int rules) {
        StringBuilder sb = new StringBuilder("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: "
                + name + "}\nspec:\n  interfaces: [eth0]\n  hook: xdp\n  match: source\n  default: pass\n"
                + "  capacity: 100000\n  rules:\n");
        for (int i = 0; i < rules; i++) {
            sb.append("    - {prefix: 10.").append(net).append('.').append(i / 256).append('.').append(i % 256)
                    .append("/32, action: drop}\n");
        }
        return sb.toString();
    }

    @Test
    void mistakesAcrossFilesAreTheSerialOnes() {
        // each file valid on its own: only the checks across runs can find these
        Map<String, String> dupName = Map.of("a.yaml", policy("edge", 1, 300), "b.yaml", policy("edge", 2, 300));
        Map<String, String> dupPrefix = Map.of("a.yaml", policy("one", 1, 300), "b.yaml", policy("two", 1, 5));
        for (Map<String, String> files : List.of(dupName, dupPrefix)) {
            Snapshot s = new Snapshot("r", files);
            Object want = serial(s);
            assertTrue(want instanceof List<?> l && !l.isEmpty() && l.get(0) instanceof PolicyError, want.toString());
            assertEquals(want, split(s, 2));
            // what the compile beside the checks gave or threw is dropped: the serial path's errors come out
            assertEquals(want, splitThen(s, 2, p -> p));
            assertEquals(want, splitThen(s, 2, p -> {
                throw new IllegalStateException("a compile tripped over the duplicate");
            }));
        }
    }

    @Test
    void whatTheCompileBesideValidChecksGivesOrThrowsComesOut() {
        Map<String, String> files = Map.of("a.yaml", policy("one", 1, 300), "b.yaml", policy("two", 2, 300));
        Snapshot s = new Snapshot("r", files);
        assertEquals(List.of("one", "two"), splitThen(s, 2, p -> p.stream().map(Policy::name).toList()));
        IllegalStateException thrown = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> SplitValidate.validateThen(s, n -> { }, 2, 0, Long.MAX_VALUE, p -> {
                    throw new IllegalStateException("kernel facts failed");
                }));
        assertEquals("kernel facts failed", thrown.getMessage());
    }

    @Test
    void validFilesGiveThePoliciesInFileOrderAndCountProgressOverAllRuns() {
        Map<String, String> files = new TreeMap<>();
        for (int f = 0; f < 5; f++) {
            files.put("p" + f + ".yaml", policy("p" + f, f, 200 + 50 * f));
        }
        Snapshot s = new Snapshot("r", files);
        AtomicInteger last = new AtomicInteger();
        List<Integer> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        @SuppressWarnings("unchecked")
        List<Policy> got = SplitValidate.validate(s, n -> {
            seen.add(n);
            last.accumulateAndGet(n, Math::max);
        }, 2, 0, Long.MAX_VALUE);
        assertEquals(Pipeline.validate(s), got);
        assertEquals(List.of("p0", "p1", "p2", "p3", "p4"), got.stream().map(Policy::name).toList());
        assertEquals(5, last.get());
        assertTrue(seen.stream().allMatch(n -> n >= 1 && n <= 5), seen.toString());
    }

    @Test
    void runsAreContiguousBalancedAndFewEnough() {
        TreeMap<String, String> files = new TreeMap<>();
        for (int i = 0; i < 10; i++) {
            files.put(String.format("f%02d", i), "x".repeat(i == 0 ? 9000 : 1000));
        }
        List<Map<String, String>> two = SplitValidate.runs(files, 2, 0, Long.MAX_VALUE);
        assertEquals(List.of(List.of("f00"), List.of("f01", "f02", "f03", "f04", "f05", "f06", "f07", "f08", "f09")),
                two.stream().map(m -> List.copyOf(m.keySet())).toList());
        for (int cores = 1; cores <= 12; cores++) {
            List<Map<String, String>> runs = SplitValidate.runs(files, cores, 0, Long.MAX_VALUE);
            assertEquals(Math.min(cores, files.size()), runs.size(), cores + " cores");
            List<String> joined = runs.stream().flatMap(m -> m.keySet().stream()).toList();
            assertEquals(List.copyOf(files.keySet()), joined);
            assertTrue(runs.stream().noneMatch(Map::isEmpty));
        }
        // small input, large input, or one file: one run
        assertEquals(1, SplitValidate.runs(files, 2, 1 << 20, Long.MAX_VALUE).size());
        assertEquals(1, SplitValidate.runs(files, 2, 0, 17_999).size());
        assertEquals(2, SplitValidate.runs(files, 2, 0, 18_000).size());
        assertEquals(1, SplitValidate.runs(new TreeMap<>(Map.of("a", "x".repeat(1 << 21))), 2, 0, Long.MAX_VALUE).size());
    }
}
