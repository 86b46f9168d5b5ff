package dev.bpfgit.explain;

import dev.bpfgit.apply.Applier;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.explain.Explanation.Verdict;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.policy.PolicyLoader;
import dev.bpfgit.policy.Prefix;
import dev.bpfgit.render.ExplainJson;
import dev.bpfgit.render.ExplainText;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.state.MemoryKernel;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** explain on an in-memory kernel (as for --state and --against), and how it renders. */
class TrafficExplainerTest {
    private static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit");
    private static final HostFacts HOST = new HostFacts("edge-1", Map.of(), Map.of("eth0", 2, "eth1", 3));
    private static final Map<Integer, String> IFNAMES = Map.of(2, "eth0", 3, "eth1");

    private static DesiredState desired(String rules) {
        Snapshot s = new Snapshot("r1", Map.of("p.yaml", "apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\n"
                + "metadata: {name: edge}\nspec:\n  interfaces: [eth0]\n  hook: tc-ingress\n  match: destination\n"
                + "  default: drop\n  rules:\n" + rules));
        return Compiler.compile(ROOT, s.revision(), new PolicyLoader().load(s), HOST);
    }

    private static final String RULES = "    - {prefix: 10.0.0.0/8, action: pass}\n"
            + "    - {prefix: 10.1.0.0/16, action: redirect, to: eth1}\n"
            + "    - {prefix: 10.1.2.3/32, action: mark, mark: 42}\n"
            + "    - {prefix: 2001:db8::/32, action: pass}\n";

    private static MemoryKernel applied(DesiredState d) {
        MemoryKernel k = new MemoryKernel(HOST.interfaces(), 2);
        Applier.apply(k, Differ.diff(d, Observer.observe(k, ROOT, Pipeline.attachPoints(d))), Clock.systemUTC());
        return k;
    }

    private static Verdict one(MemoryKernel k, String address, Optional<DesiredState> files) {
        List<Verdict> v = TrafficExplainer.explain(k, ROOT, Prefix.parse(address), Optional.empty(), Optional.empty(),
                IFNAMES, false, files);
        assertEquals(1, v.size(), v.toString());
        return v.getFirst();
    }

    @Test
    void eachPrefixLengthIsFoundAndDecoded() {
        DesiredState d = desired(RULES);
        MemoryKernel k = applied(d);
        Verdict mark = one(k, "10.1.2.3", Optional.empty());
        assertEquals(Optional.of("10.1.2.3/32"), mark.prefix());
        assertEquals("mark 0x2a", mark.verdict());
        assertEquals(Optional.of(42L), mark.mark());
        assertEquals("destination", mark.matchOn());
        assertEquals(List.of("TrafficPolicy/edge"), mark.policies());
        Verdict redirect = one(k, "10.1.9.9", Optional.empty());
        assertEquals(Optional.of("10.1.0.0/16"), redirect.prefix());
        assertEquals(Optional.of("eth1"), redirect.target());
        assertEquals(Optional.of("10.0.0.0/8"), one(k, "10.200.0.1", Optional.empty()).prefix());
        assertEquals(Optional.of("2001:db8::/32"), one(k, "2001:db8::1", Optional.empty()).prefix());
        Verdict miss = one(k, "192.0.2.1", Optional.empty());
        assertEquals(Optional.empty(), miss.prefix());
        assertEquals("drop", miss.verdict());
        assertEquals(Optional.empty(), miss.counts(), "no counters asked for");
    }

    @Test
    void theFilesNameTheLineAndADifferentRevisionIsADrift() {
        DesiredState d = desired(RULES);
        MemoryKernel k = applied(d);
        Verdict same = one(k, "10.1.9.9", Optional.of(d));
        assertEquals("p.yaml:11:", same.declared().orElseThrow().toString().substring(0, 10));
        assertTrue(same.files().orElseThrow().inSync(), same.toString());

        DesiredState changed = desired(RULES.replace("redirect, to: eth1", "pass"));
        Verdict drift = one(k, "10.1.9.9", Optional.of(changed));
        assertEquals("redirect eth1", drift.verdict(), "the kernel's answer");
        assertEquals("kernel 10.1.0.0/16 redirect eth1 (TrafficPolicy/edge); files 10.1.0.0/16 pass"
                + " (TrafficPolicy/edge)", drift.files().orElseThrow().detail());
        assertTrue(one(k, "10.1.2.3", Optional.of(changed)).files().orElseThrow().inSync(), "the /32 agrees");
    }

    @Test
    void aPrefixInAListIsFoundAtItsItem() {
        DesiredState d = desired(RULES + "    - prefixes:\n        - 192.0.2.0/24\n        - 198.18.0.0/15\n"
                + "      action: pass\n    - {prefixes: [203.0.113.0/24, 2001:DB8:1::/48], action: pass}\n");
        MemoryKernel k = applied(d);
        Verdict listed = one(k, "198.19.1.1", Optional.of(d));
        assertEquals(Optional.of("198.18.0.0/15"), listed.prefix());
        assertEquals("p.yaml:16:11", listed.declared().orElseThrow().toString().substring(0, 12));
        assertTrue(listed.files().orElseThrow().inSync(), listed.toString());
        Verdict flow = one(k, "2001:db8:1::5", Optional.of(d));
        assertEquals("p.yaml:18:35", flow.declared().orElseThrow().toString().substring(0, 12));
    }

    @Test
    void rendersTextAndJson() {
        MemoryKernel k = applied(desired(RULES));
        Explanation e = new Explanation("10.1.9.9", "revision HEAD~1", List.of(one(k, "10.1.9.9", Optional.empty()),
                one(k, "192.0.2.1", Optional.empty())));
        assertEquals("""
                10.1.9.9 (from the revision HEAD~1)
                TrafficPolicy eth0, tc-ingress: redirect eth1
                  match     destination address in 10.1.0.0/16
                  policy    TrafficPolicy/edge
                TrafficPolicy eth0, tc-ingress: drop
                  match     no prefix holds this destination address: the default drop
                  policies  TrafficPolicy/edge
                """, ExplainText.render(e));
        String json = ExplainJson.render(e);
        dev.bpfgit.render.OutputSchema.assertValid(json);
        Explanation withFiles = new Explanation("10.1.9.9", "kernel", List.of(one(k, "10.1.9.9",
                Optional.of(desired(RULES.replace("redirect, to: eth1", "mark, mark: 7"))))));
        dev.bpfgit.render.OutputSchema.assertValid(ExplainJson.render(withFiles));
        assertTrue(json.contains("\"format\" : \"bpfgit.dev/explain/v1\",\n  \"version\" : 1,"), json);
        assertTrue(json.contains("\"target\" : \"eth1\""), json);
        assertTrue(json.contains("\"packets\" : null"), json);
        assertTrue(json.contains("\"prefix\" : null"), json);
        assertEquals("10.1.9.9 (from the kernel)\nNo unit acts on this address's traffic here: nothing is applied"
                + " under this pin root (or the filters left nothing).\n",
                ExplainText.render(new Explanation("10.1.9.9", "kernel", List.of())));
    }
}
