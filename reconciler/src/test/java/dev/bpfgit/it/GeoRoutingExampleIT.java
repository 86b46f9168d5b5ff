package dev.bpfgit.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * examples/geo-routing: its generator, run on the database excerpt committed beside it, writes exactly the
 * committed policies, and their plan for an empty router is the committed plan.txt. No root, no kernel.
 */
class GeoRoutingExampleIT {
    static final Path EXAMPLE = Bpfgit.REPO.resolve("examples/geo-routing");

    /** Runs the example's generator with the JDK running this test, as its README says. */
    static String generate(Path out, String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--source", "25",
                EXAMPLE.resolve("GeoPolicies.java").toString()));
        cmd.addAll(List.of(args));
        cmd.add(out.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), output);
        return output;
    }

    @Test
    void theGeneratorWritesTheCommittedPoliciesFromTheSampleDatabase(@TempDir Path work) throws Exception {
        String out = generate(work, "--geoip", EXAMPLE.resolve("sample/geoip").toString(),
                "--geoip6", EXAMPLE.resolve("sample/geoip6").toString());
        assertEquals("6 policies, 53 prefixes, capacity 65536", out.lines().toList().getLast(), out);
        List<String> committed = names(EXAMPLE.resolve("policies"));
        assertEquals(committed, names(work));
        for (String f : committed) {
            assertEquals(Files.readString(EXAMPLE.resolve("policies").resolve(f)), Files.readString(work.resolve(f)), f);
        }
    }

    @Test
    void theExamplePlanIsTheCommittedOne() {
        Bpfgit.Cli plan = Bpfgit.cli(null, "plan", "examples/geo-routing/policies", "--hosts",
                "examples/geo-routing/hosts.yaml");
        assertEquals(1, plan.exit(), plan.toString());
        assertEquals(Files.exists(EXAMPLE.resolve("plan.txt")) ? read(EXAMPLE.resolve("plan.txt")) : "", plan.out());
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
