package dev.bpfgit.diff;

import dev.bpfgit.render.PlanText;
import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * examples/ holds one directory per use case with its policies and the expected plan (design section 2):
 * the plan of each against an empty host is its plan.txt, and applying it leaves nothing to plan.
 * (edge-filter and blocklist: DifferTest; egress-timeout: EgressKindTest, on a host with its cgroup.)
 */
class ExamplePlansTest {

    @ParameterizedTest
    @ValueSource(strings = {"reuseport-web", "stale-dns"})
    void theExamplesPlanIsItsPlanTxtAndAppliesToInSync(String name) throws Exception {
        Path dir = Path.of("../examples", name);
        Snapshot s = Fixture.snapshot("example", "examples/" + name + "/policy.yaml",
                Files.readString(dir.resolve("policy.yaml")));
        Fixture f = new Fixture();
        Plan plan = f.plan(s);
        String text = PlanText.render(plan);
        assertEquals(Fixture.expected(dir.resolve("plan.txt"), text), text);
        assertTrue(!plan.inSync(), "an example against an empty host plans something");
        f.converge(s);
    }
}
