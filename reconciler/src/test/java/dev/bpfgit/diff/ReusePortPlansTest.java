package dev.bpfgit.diff;

import dev.bpfgit.render.OutputSchema;
import dev.bpfgit.render.PlanJson;
import dev.bpfgit.render.PlanMarkdown;
import dev.bpfgit.render.PlanText;
import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ReusePortGroup plans in every output the renderers have (issue 11: every kind renders in text, markdown
 * and json), against golden files: the first plan of a group, then a change of strategy and weights.
 */
class ReusePortPlansTest {
    private final Fixture f = new Fixture();

    private static Snapshot group(String revision, String strategy, int blueWeight, boolean migrate) {
        return Fixture.snapshot(revision, "web.yaml", """
                apiVersion: bpfgit.dev/v1
                kind: ReusePortGroup
                metadata: {name: web}
                spec:
                  port: 8080
                  address: 0.0.0.0
                  protocol: tcp
                  strategy: %s
                  migrate: %s
                  members:
                    - {name: blue, weight: %d, process: {pidFile: /run/web-blue.pid}}
                    - {name: green, weight: 10, process: {cgroup: /system.slice/web-green.service}}
                """.formatted(strategy, migrate, blueWeight));
    }

    /** The BPF objects' SHA-256 changes with every rebuild of bpf/: not what these files are about. */
    private static String masked(String json) {
        return json.replaceAll("[0-9a-f]{64}", "SHA256");
    }

    @Test
    void firstPlanAndAChangeOfWeightsInTextMarkdownAndJson() {
        Snapshot r1 = group("r1", "hot-standby", 90, true);
        Plan first = f.plan(r1);
        Fixture.golden("reuseport-first-plan.txt", PlanText.render(first));
        Fixture.golden("reuseport-first-plan.md", PlanMarkdown.render(first));
        String json = PlanJson.render(first);
        OutputSchema.assertValid(json);
        Fixture.golden("reuseport-first-plan.json", masked(json));
        assertTrue(first.units().stream().anyMatch(u -> u.kind().equals("ReusePortGroup")), first.toString());

        f.apply(first);
        assertTrue(f.plan(r1).inSync(), "re-plan after apply must be in sync");

        Plan weights = f.plan(group("r2", "weighted", 70, true));
        Fixture.golden("reuseport-weights-changed.txt", PlanText.render(weights));
        Fixture.golden("reuseport-weights-changed.md", PlanMarkdown.render(weights));
        String changed = PlanJson.render(weights);
        OutputSchema.assertValid(changed);
        Fixture.golden("reuseport-weights-changed.json", masked(changed));
        // only the config entry changes: the program (migrate) and the maps stay
        assertEquals(1, weights.summary().changed(), PlanText.render(weights));
        assertEquals(0, weights.summary().create() + weights.summary().remove(), PlanText.render(weights));
    }
}
