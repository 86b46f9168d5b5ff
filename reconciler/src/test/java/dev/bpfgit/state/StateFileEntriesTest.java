package dev.bpfgit.state;

import dev.bpfgit.apply.Applier;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.policy.PolicyLoader;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A state file's map entries are read while they are parsed, into packed arrays (not a JSON node per entry):
 * the same state, and the same errors, as the tree's checks give.
 */
class StateFileEntriesTest {
    private static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit");
    private static final HostFacts HOST = new HostFacts("edge-1", Map.of(), Map.of("eth0", 2, "eth1", 3));

    private static DesiredState desired(String rev, int n) {
        StringBuilder list = new StringBuilder();
        for (int i = 0; i < n; i++) {
            list.append(i == 0 ? "" : ", ").append("10.").append(i >> 8 & 255).append('.').append(i & 255).append(".0/24");
        }
        list.append(", 2001:db8::/32");
        Snapshot s = new Snapshot(rev, Map.of("p.yaml", "apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\n"
                + "metadata: {name: edge}\nspec:\n  interfaces: [eth0]\n  hook: xdp\n  rules:\n"
                + "    - {prefixes: [" + list + "], action: drop}\n"));
        return Compiler.compile(ROOT, s.revision(), new PolicyLoader().load(s), HOST);
    }

    private static String exported(int n) {
        MemoryKernel host = new MemoryKernel(HOST.interfaces(), 2);
        DesiredState d = desired("r1", n);
        Applier.apply(host, Differ.diff(d, Observer.observe(host, ROOT, Pipeline.attachPoints(d))), Clock.systemUTC());
        StringWriter out = new StringWriter();
        StateFile.write(Observer.observe(host, ROOT, Pipeline.attachPoints(d)), HOST, 2, out);
        assertEquals(StateFile.write(Observer.observe(host, ROOT, Pipeline.attachPoints(d)), HOST, 2), out.toString());
        return out.toString();
    }

    @Test
    void aLargeExportReadsBackInSyncAndWritesTheSameFile() {
        String json = exported(3000);
        StateFile.Loaded loaded = StateFile.read(json, "host.json");
        DesiredState d = desired("r1", 3000);
        assertTrue(Differ.diff(d, Observer.observe(loaded.kernel(), ROOT, Pipeline.attachPoints(d))).inSync());
        assertEquals(json, StateFile.write(Observer.observe(loaded.kernel(), ROOT, Pipeline.attachPoints(d)), HOST, 2));
        // a state read back is a kernel that can be written (its packed maps become writable)
        DesiredState fewer = desired("r2", 2000);
        Applier.apply(loaded.kernel(), Differ.diff(fewer, Observer.observe(loaded.kernel(), ROOT,
                Pipeline.attachPoints(fewer))), Clock.systemUTC());
        assertTrue(Differ.diff(fewer, Observer.observe(loaded.kernel(), ROOT, Pipeline.attachPoints(fewer))).inSync());
    }

    /** The index of the map whose first entry is the 10.0.0.0/24 rule, and that entry's text. */
    private static String[] firstRule(String json) {
        Matcher m = Pattern.compile("\\[ \"(18000000)0a000000\", \"[0-9a-f]+\" \\]").matcher(json);
        assertTrue(m.find(), "the first IPv4 rule in " + json.substring(0, Math.min(json.length(), 2000)));
        String before = json.substring(0, m.start());
        int maps = before.indexOf("\"maps\"");
        int index = -1;
        for (int at = before.indexOf("\"pin\"", maps); at >= 0; at = before.indexOf("\"pin\"", at + 1)) {
            index++;
        }
        return new String[]{String.valueOf(index), m.group()};
    }

    @Test
    void aMalformedEntryIsAnErrorNamingItsMapAndIndex() {
        String json = exported(3);
        String[] rule = firstRule(json);
        String at = "maps[" + rule[0] + "].entries[0]";
        IllegalArgumentException notHex = assertThrows(IllegalArgumentException.class, () ->
                StateFile.read(json.replace(rule[1], "[ \"180000000a000000\", \"zz\" ]"), "host.json"));
        assertEquals("host.json: " + at + "[1]: must be a string of hex digit pairs", notHex.getMessage());
        IllegalArgumentException three = assertThrows(IllegalArgumentException.class, () ->
                StateFile.read(json.replace(rule[1], "[ \"180000000a000000\", \"00\", \"00\" ]"), "host.json"));
        assertEquals("host.json: " + at + ": must be a [key, value] pair of hex strings", three.getMessage());
        IllegalArgumentException notPair = assertThrows(IllegalArgumentException.class, () ->
                StateFile.read(json.replace(rule[1], "\"180000000a000000\""), "host.json"));
        assertEquals("host.json: " + at + ": must be a [key, value] pair of hex strings", notPair.getMessage());
        IllegalArgumentException shortKey = assertThrows(IllegalArgumentException.class, () ->
                StateFile.read(json.replace(rule[1], "[ \"1800000a\", \"00\" ]"), "host.json"));
        assertEquals("host.json: " + at + "[0]: key of 4 bytes in a map whose keySize is 8", shortKey.getMessage());
    }
}
