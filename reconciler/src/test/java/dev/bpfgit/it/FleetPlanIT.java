package dev.bpfgit.it;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.apply.Applier;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.render.OutputSchema;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.state.MemoryKernel;
import dev.bpfgit.state.StateFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code plan --hosts} as CI runs it: the packaged tool as a process on a git repository with several
 * revisions made here, an inventory of hosts with and without state files, no kernel. Root only to become
 * user nobody for the run without capabilities.
 */
@KernelTest
class FleetPlanIT {
    private static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit");
    private static final Path GOLDEN = Path.of("src/test/resources/golden");

    private static final String EDGE_R1 = withHosts(traffic("edge-filter", "eth0", "xdp", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}", "{prefix: 198.51.100.0/24, action: pass}"), "role: edge");
    private static final String EDGE_R2 = withHosts(traffic("edge-filter", "eth0", "xdp", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}", "{prefix: 198.51.100.0/24, action: drop}",
            "{prefix: 2001:db8:bad::/48, action: drop}"), "role: edge");
    private static final String DB = withHosts(traffic("db-guard", "eth0", "tc-ingress", "source", "pass",
            "{prefix: 192.0.2.0/24, action: drop}"), "role: db");
    private static final String WEB_R1 = withHosts(traffic("web-filter", "eth0", "xdp", "destination", "pass",
            "{prefix: 198.18.0.0/15, action: drop}"), "role: web");
    private static final String WEB_R2 = withHosts(traffic("web-filter", "eth0", "xdp", "destination", "pass",
            "{prefix: 198.18.0.0/15, action: drop}", "{prefix: 100.64.0.0/10, action: drop}"), "role: web");
    private static final String BROKEN = EDGE_R2.replace("198.51.100.0/24, action: drop", "198.51.100.0/24, action: dorp");

    private static final String INVENTORY = """
            # the fleet of the test repository
            hosts:
              - names: [edge-1, edge-2]
                labels: {role: edge}
              - name: db-1
                labels: {role: db}
              - name: web-1
                labels: {role: web}
                state: states/web-1.json
            """;

    private static Path work;
    private static Path repo;
    private static Path policies;

    /** A repository with tags r1 (edge, db, web), r2 (edge and web changed) and r3 (r2 with a broken edge). */
    @BeforeAll
    static void repository() throws Exception {
        Bpfgit.warmUp();
        work = Files.createTempDirectory("bpfgit-fleet-", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwxr-xr-x")));
        repo = Files.createDirectories(work.resolve("repo"));
        policies = repo.resolve("policies");
        git("init", "-q", "-b", "main");
        commit("r1", Map.of("edge.yaml", EDGE_R1, "db.yaml", DB, "web.yaml", WEB_R1));
        // web-1 runs r1: its state export is the CI's view of it
        write(repo, "states/web-1.json", stateOf(new Snapshot("r1", Map.of("policies/edge.yaml", EDGE_R1,
                "policies/db.yaml", DB, "policies/web.yaml", WEB_R1)), "web-1", Map.of("role", "web")));
        write(repo, "hosts.yaml", INVENTORY);
        git("add", "states", "hosts.yaml");
        commit("r2", Map.of("edge.yaml", EDGE_R2, "web.yaml", WEB_R2));
        commit("r3", Map.of("edge.yaml", BROKEN));
        git("checkout", "-q", "r2");
    }

    @AfterAll
    static void cleanUp() throws IOException {
        if (work != null) {
            try (Stream<Path> s = Files.walk(work)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    @Test
    void planOfAPullRequestForEveryHostInTextMarkdownAndJson() throws Exception {
        // as CI runs it: in the checkout, with relative paths
        String[] plan = {"plan", "policies", "--against", "r1", "--hosts", "hosts.yaml"};
        Bpfgit.Cli text = Bpfgit.cliIn(repo, plan);
        assertEquals(1, text.exit(), text.toString());
        assertEquals("", text.err());
        golden("fleet-plan.txt", text.out());

        Bpfgit.Cli md = Bpfgit.cliIn(repo, with(plan, "-o", "markdown"));
        assertEquals(1, md.exit(), md.toString());
        golden("fleet-plan.md", md.out());

        Bpfgit.Cli json = Bpfgit.cliIn(repo, with(plan, "-o", "json"));
        assertEquals(1, json.exit(), json.toString());
        JsonNode fleet = OutputSchema.assertValid(json.out());
        golden("fleet-plan.json", json.out());
        assertEquals(List.of("edge-1 1 0", "edge-2 1 0", "db-1 0 1", "web-1 1 2"), rows(fleet));
        JsonNode edge = fleet.at("/groups/0/plan");
        assertEquals(List.of("edge-1", "edge-2"), names(fleet.at("/groups/0/hosts")));
        assertEquals("TrafficPolicy/edge-filter", edge.at("/units/0/policies/0").asString());
        assertEquals(2, edge.at("/summary/entriesAdded").asInt() + edge.at("/summary/entriesChanged").asInt());

        Bpfgit.Cli github = Bpfgit.cliIn(repo, with(plan, "-o", "github"));
        assertEquals(1, github.exit(), github.toString());
        assertTrue(github.out().startsWith(text.out()), github.out());
        assertEquals(List.of("::notice title=bpfgit plan edge-1%2C edge-2::Plan: 0 to create, 1 to change, 0 to remove;"
                        + " entries +1 ~1 -0.", "::notice title=bpfgit plan db-1::in sync",
                "::notice title=bpfgit plan web-1::Plan: 0 to create, 1 to change, 0 to remove; entries +1 ~0 -0."),
                github.out().substring(text.out().length()).lines().toList());

        // the same plan with no capabilities and no access to bpffs
        Bpfgit.Cli nobody = Bpfgit.asNobodyIn(work, repo, plan);
        assertEquals(1, nobody.exit(), nobody.toString());
        assertEquals(text.out(), nobody.out());
        assertEquals("", nobody.err());
    }

    @Test
    void theExitCodeIsTheWorstOverAllHosts() throws Exception {
        Path hosts = repo.resolve("hosts.yaml");
        Path inSync = write(work, "in-sync.yaml", "hosts:\n  - {name: edge-1, labels: {role: edge}}\n"
                + "  - {name: db-1, labels: {role: db}}\n  - {name: other}\n");
        Bpfgit.Cli same = Bpfgit.cli(null, "plan", policies.toString(), "--against", "r2", "--hosts", inSync.toString());
        assertEquals(0, same.exit(), same.toString());
        assertTrue(same.out().startsWith("=== edge-1, db-1, other ===\nNo changes: the host is in sync"), same.out());
        Bpfgit.Cli oneLine = Bpfgit.cli(null, "plan", policies.toString(), "--against", "r2", "--hosts",
                inSync.toString(), "-o", "markdown");
        assertEquals(0, oneLine.exit(), oneLine.toString());
        assertTrue(oneLine.out().matches("bpfgit plan for revision `(dir:[0-9a-f]{12}|[0-9a-f]{40}(\\+dirty)?)`: no changes on 3 hosts, all in"
                + " sync\\.\n"), oneLine.out());

        // web-1 runs r1 (its state file), the others are compiled from r2: only web-1 has changes
        Bpfgit.Cli web = Bpfgit.cli(null, "plan", policies.toString(), "--against", "r2", "--hosts", hosts.toString(),
                "-o", "json");
        assertEquals(1, web.exit(), web.toString());
        assertEquals(List.of("edge-1 0 0", "edge-2 0 0", "db-1 0 0", "web-1 1 1"), rows(OutputSchema.assertValid(web.out())));

        // the revision planned is invalid: nothing is planned, the error names file:line:column
        git("checkout", "-q", "r3");
        try {
            Bpfgit.Cli invalid = Bpfgit.cli(null, "plan", policies.toString(), "--against", "r1", "--hosts",
                    hosts.toString());
            assertEquals(2, invalid.exit(), invalid.toString());
            assertEquals("", invalid.out());
            assertTrue(invalid.err().startsWith(policies.resolve("edge.yaml") + ":13:41: error: /spec/rules/1/action: "),
                    invalid.err());
            Bpfgit.Cli annotated = Bpfgit.cli(null, "plan", policies.toString(), "--against", "r1", "--hosts",
                    hosts.toString(), "-o", "github");
            assertEquals(2, annotated.exit(), annotated.toString());
            assertTrue(annotated.out().startsWith("::error file=" + policies.resolve("edge.yaml") + ",line=13,col=41::"),
                    annotated.out());
        } finally {
            git("checkout", "-q", "r2");
        }

        // the revision planned against is invalid: the hosts that need it are invalid, web-1 (state) is planned
        Bpfgit.Cli base = Bpfgit.cli(null, "plan", policies.toString(), "--against", "r3", "--hosts", hosts.toString(),
                "-o", "json");
        assertEquals(2, base.exit(), base.toString());
        JsonNode b = OutputSchema.assertValid(base.out());
        assertEquals(List.of("edge-1 2 0", "edge-2 2 0", "db-1 2 0", "web-1 1 1"), rows(b));
        assertTrue(b.at("/hosts/0/error").asString().startsWith("the policies at r3 are themselves invalid:\n"
                + policies.resolve("edge.yaml") + ":13:41: error: "), b.at("/hosts/0/error").asString());

        Bpfgit.Cli unknown = Bpfgit.cli(null, "plan", policies.toString(), "--against", "no-such-rev", "--hosts",
                hosts.toString());
        assertEquals(2, unknown.exit(), unknown.toString());
        assertTrue(unknown.err().startsWith("error: git revision no-such-rev not found"), unknown.err());

        // a host whose state has a foreign XDP program where a policy attaches: exit 3 beats 2 and 1
        ObjectNode state = (ObjectNode) Bpfgit.JSON.readTree(stateOf(new Snapshot("r0", Map.of()), "edge-9",
                Map.of()));
        ArrayNode attached = state.putArray("attached");
        attached.addObject().put("type", "xdp").put("interface", "eth0").putArray("programs").addObject()
                .put("id", 4242).put("name", "someone_else");
        write(work, "states/edge-9.json", state.toPrettyString());
        write(work, "states/db-9.json", "{\"format\": \"bpfgit.dev/state/v1\", \"version\": 7}");
        Path mixed = write(work, "mixed.yaml", """
                hosts:
                  - {name: edge-9, labels: {role: edge}, state: states/edge-9.json}
                  - {name: db-9, labels: {role: db}, state: states/db-9.json}
                  - {name: db-8, labels: {role: db}, state: states/missing.json}
                  - {name: edge-1, labels: {role: edge}}
                """);
        Bpfgit.Cli worst = Bpfgit.cli(null, "plan", policies.toString(), "--against", "r1", "--hosts", mixed.toString());
        assertEquals(3, worst.exit(), worst.toString());
        assertTrue(worst.out().contains("=== edge-9 ===\nerror: eth0 xdp: program id 4242 \"someone_else\" is attached"
                + " and was not attached by bpfgit"), worst.out());
        assertTrue(worst.out().contains("=== db-9 ===\nerror: states/db-9.json: state file version 7 is not known"),
                worst.out());
        assertTrue(worst.out().contains("=== db-8 ===\nerror: read state file states/missing.json (" + mixed
                + ":4:45): no such file\n"), worst.out());
        assertTrue(worst.out().endsWith("Fleet: 4 hosts: 0 in sync, 1 with changes, 2 invalid, 1 failed; exit 3.\n"),
                worst.out());

        Path bad = write(work, "bad.yaml", "hosts:\n  - name: edge-1\n    lables: {role: edge}\n");
        Bpfgit.Cli badInventory = Bpfgit.cli(null, "plan", policies.toString(), "--hosts", bad.toString());
        assertEquals(2, badInventory.exit(), badInventory.toString());
        assertEquals(bad + ":3:13: error: /hosts/0/lables: unknown field (did you mean \"labels\"?)\n"
                + "1 error; nothing was changed.\n", badInventory.err());
        Bpfgit.Cli oneHost = Bpfgit.cli(null, "plan", policies.toString(), "--hosts", hosts.toString(), "--host", "x");
        assertEquals(2, oneHost.exit(), oneHost.toString());
    }

    @Test
    void exampleFleetPlansMatchTheirExpectedOutput() throws Exception {
        Path example = Bpfgit.REPO.resolve("examples/fleet");
        for (String output : List.of("text", "markdown")) {
            Bpfgit.Cli plan = Bpfgit.cli(null, "plan", "examples/fleet/policies", "--hosts", "examples/fleet/hosts.yaml",
                    "-o", output);
            assertEquals(1, plan.exit(), plan.toString());
            // inside this repository the revision is its commit; the example shows what a copy of it reads
            assertEquals(revisionless(Files.readString(example.resolve(output.equals("text") ? "plan.txt" : "plan.md"))),
                    revisionless(plan.out()));
        }
    }

    @Test
    void withoutAgainstAHostWithoutStateIsPlannedAgainstAnEmptyHost() throws Exception {
        Path hosts = write(work, "empty.yaml", "hosts:\n  - {name: db-1, labels: {role: db}}\n");
        Bpfgit.Cli empty = Bpfgit.cli(null, "plan", policies.toString(), "--hosts", hosts.toString());
        assertEquals(1, empty.exit(), empty.toString());
        List<String> lines = empty.out().lines().toList();
        assertEquals("=== db-1 ===", lines.getFirst());
        assertTrue(empty.out().contains("Plan: 5 to create, 0 to change, 0 to remove; entries +2 ~0 -0.\n"), empty.out());
        assertTrue(lines.getLast().startsWith("Fleet: 1 host: 0 in sync, 1 with changes"), empty.out());
        assertTrue(lines.contains("db-1  empty         5       0       0  +2 ~0 -0     1"), empty.out());
    }

    @Test
    void applyRefusesAPlanOfAnUnknownVersionAndAFleetPlanBeforeItNeedsRoot() throws Exception {
        Bpfgit.Cli single = Bpfgit.cli(null, "plan", policies.toString(), "--against", "r1", "-o", "json",
                "--host", "edge-1", "--label", "role=edge");
        assertEquals(1, single.exit(), single.toString());
        ObjectNode plan = (ObjectNode) OutputSchema.assertValid(single.out());
        plan.put("version", 2);
        Path v2 = write(work, "plan-v2.json", plan.toPrettyString());
        Bpfgit.Cli refused = Bpfgit.asNobody(work, "apply", "--plan", v2.toString(), "--yes");
        assertEquals(2, refused.exit(), refused.toString());
        assertEquals("error: " + v2 + ": plan format version 2 (bpfgit.dev/plan/v1) is not known to this bpfgit, which"
                + " reads version 1: make the plan with the same bpfgit release that applies it\n", refused.err());

        Bpfgit.Cli fleet = Bpfgit.cli(null, "plan", policies.toString(), "--against", "r1", "--hosts",
                repo.resolve("hosts.yaml").toString(), "-o", "json");
        Path many = write(work, "fleet.json", fleet.out());
        Bpfgit.Cli notOne = Bpfgit.asNobody(work, "apply", "--plan", many.toString(), "--yes");
        assertEquals(2, notOne.exit(), notOne.toString());
        assertTrue(notOne.err().contains("this is the plan of several hosts (plan --hosts)"), notOne.err());
    }

    // ---- helpers

    /** "name exitCode group" of every host row. */
    private static List<String> rows(JsonNode fleet) {
        List<String> out = new ArrayList<>();
        fleet.get("hosts").forEach(h -> out.add(h.get("name").asString() + " " + h.get("exitCode").asInt() + " "
                + h.get("group").asInt()));
        return out;
    }

    private static List<String> names(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asString()));
        return out;
    }

    private static String[] with(String[] a, String... more) {
        List<String> l = new ArrayList<>(List.of(a));
        l.addAll(List.of(more));
        return l.toArray(String[]::new);
    }

    private static String revisionless(String plan) {
        return plan.replaceAll("dir:[0-9a-f]{12}", "REVISION").replaceAll("\\b[0-9a-f]{40}(\\+dirty)?\\b", "REVISION");
    }

    /**
     * Compares with a golden file after replacing what changes from run to run: the temporary directory,
     * the digest of a directory revision (the test's commits have fixed dates, so their ids do not change) and the SHA-256 of the BPF objects (which a rebuild changes).
     */
    private void golden(String name, String actual) throws IOException {
        String normal = actual.replace(work.toString(), "$WORK")
                .replaceAll("dir:[0-9a-f]{12}", "dir:REVISION")
                .replaceAll("\\.bpf\\.o@[0-9a-f]{12}", ".bpf.o@SHA")
                .replaceAll("[0-9a-f]{64}", "SHA256");
        Path file = GOLDEN.resolve(name);
        if (Boolean.getBoolean("bpfgit.golden.update")) {
            Files.writeString(file, normal);
        }
        assertEquals(Files.readString(file), normal, "golden file " + file);
    }

    private static String withHosts(String policy, String label) {
        return policy.replace("spec:\n", "spec:\n  hosts: {labels: {" + label + "}}\n");
    }

    /** What {@code state export} prints on a host that applied this snapshot (interfaces lo and eth0). */
    private static String stateOf(Snapshot s, String host, Map<String, String> labels) {
        HostFacts facts = new HostFacts(host, labels, Map.of("lo", 1, "eth0", 2));
        MemoryKernel kernel = new MemoryKernel(facts.interfaces(), 2);
        DesiredState d = Compiler.compile(ROOT, s.revision(), Pipeline.validate(s), facts);
        Applier.apply(kernel, Differ.diff(d, Observer.observe(kernel, ROOT, Pipeline.attachPoints(d))),
                Clock.fixed(Instant.parse("2026-11-20T10:00:00Z"), ZoneOffset.UTC));
        return StateFile.write(Observer.observe(kernel, ROOT, Pipeline.attachPoints(d)), facts, 2);
    }

    private static void commit(String tag, Map<String, String> files) {
        files.forEach((name, text) -> {
            try {
                write(policies, name, text);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        git("add", "policies");
        git("commit", "-q", "-m", tag);
        git("tag", tag);
    }

    private static void git(String... args) {
        // fixed dates: the same commit ids, so the same plans (counter generations derive from revisions)
        List<String> c = new ArrayList<>(List.of("env", "GIT_AUTHOR_DATE=2026-11-20T10:00:00+0000",
                "GIT_COMMITTER_DATE=2026-11-20T10:00:00+0000", "git", "-C", repo.toString(), "-c", "user.name=bpfgit-it",
                "-c", "user.email=it@bpfgit.dev", "-c", "commit.gpgsign=false", "-c", "advice.detachedHead=false"));
        c.addAll(List.of(args));
        Commands.exec(c).orFail();
    }
}
