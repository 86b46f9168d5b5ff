package dev.bpfgit.it;

import tools.jackson.databind.JsonNode;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The packaged tool ({@code ./bpfgit} at the repository root) run as a process, inside a test namespace
 * through nsenter where it needs a kernel: exit codes, stdout and stderr of every verb of design §4.
 */
@KernelTest
class CliIT {
    private static final String POLICY = traffic("edge-filter", "eth0", "xdp", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}",
            "{prefix: 198.51.100.0/24, action: pass}",
            "{prefix: 2001:db8:bad::/48, action: drop}");
    private static final String CHANGED = POLICY.replace("{prefix: 198.51.100.0/24, action: pass}",
            "{prefix: 198.51.100.0/24, action: drop}");
    private static final String BROKEN = traffic("broken", "eth0", "xdp", "source", "pass",
            "{prefix: 198.51.100.0/24, action: dorp}");

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    @Test
    void validateExitsZeroWhenValidAndTwoNamingFileLineAndColumn(@TempDir Path dir) throws Exception {
        Path good = write(dir.resolve("good"), "edge.yaml", POLICY);
        Bpfgit.Cli ok = Bpfgit.cli(null, "validate", good.getParent().toString());
        assertEquals(0, ok.exit(), ok.toString());
        assertTrue(ok.out().startsWith("valid: 1 policy in 1 file (revision dir:"), ok.out());
        assertEquals("", ok.err());

        Path bad = write(dir.resolve("bad"), "broken.yaml", BROKEN);
        write(dir.resolve("bad"), "edge.yaml", POLICY);
        Bpfgit.Cli invalid = Bpfgit.cli(null, "validate", bad.getParent().toString());
        assertEquals(2, invalid.exit(), invalid.toString());
        assertEquals("", invalid.out());
        List<String> err = invalid.err().lines().toList();
        assertEquals(2, err.size(), invalid.err());
        assertTrue(err.get(0).startsWith(bad + ":11:41: error: /spec/rules/0/action: ") && err.get(0).contains("dorp"),
                invalid.err());
        assertEquals("1 error; nothing was changed.", err.get(1));

        Bpfgit.Cli github = Bpfgit.cli(null, "validate", "-o", "github", bad.toString());
        assertEquals(2, github.exit(), github.toString());
        assertTrue(github.out().startsWith("::error file=" + bad.toString().replace(":", "%3A")
                + ",line=11,col=41::/spec/rules/0/action: "), github.out());
    }

    @Test
    void planExitsOneWhenPendingTwoWhenInvalidThreeOnErrorAndPrintsTextJsonAndMarkdown(@TempDir Path dir)
            throws Exception {
        Path policies = write(dir.resolve("policies"), "edge.yaml", POLICY).getParent();
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());

            Bpfgit.Cli text = edge.cli("plan", policies.toString());
            assertEquals(1, text.exit(), text.toString());
            assertEquals("", text.err());
            List<String> lines = text.out().lines().toList();
            assertEquals("TrafficPolicy/edge-filter (eth0, xdp)", lines.getFirst());
            assertEquals("Plan: 5 to create, 0 to change, 0 to remove; entries +4 ~0 -0.", lines.getLast());
            assertTrue(Pattern.compile("(?m)^ {6}\\+ 203\\.0\\.113\\.0/24 +drop$").matcher(text.out()).find(),
                    text.out());
            assertTrue(text.out().contains("  + link eth0 xdp\n"), text.out());

            Bpfgit.Cli json = edge.cli("plan", policies.toString(), "-o", "json");
            assertEquals(1, json.exit(), json.toString());
            JsonNode plan = dev.bpfgit.render.OutputSchema.assertValid(json.out());
            assertEquals("bpfgit.dev/plan/v1", plan.get("format").asString());
            assertEquals(root.toString(), plan.get("root").asString());
            assertFalse(plan.get("inSync").asBoolean());
            assertEquals(6, plan.at("/summary/create").asInt());
            assertEquals(4, plan.at("/summary/entriesAdded").asInt());
            assertEquals("eth0, xdp", plan.at("/units/0/label").asString());
            assertEquals("TrafficPolicy/edge-filter", plan.at("/units/0/policies/0").asString());
            Set<String> ops = new TreeSet<>();
            Set<String> keys = new TreeSet<>();
            plan.at("/units/0/changes").forEach(c -> {
                ops.add(c.get("op").asString());
                c.path("entries").forEach(e -> keys.add(e.get("change").asString() + " " + e.get("key").asString()));
            });
            assertEquals(Set.of("CreateMap", "PutEntries", "LoadProgram", "CreateLink"), ops);
            assertEquals(Set.of("+ 203.0.113.0/24", "+ 198.51.100.0/24", "+ 2001:db8:bad::/48", "+ config"), keys);

            Bpfgit.Cli md = edge.cli("plan", policies.toString(), "-o", "markdown");
            assertEquals(1, md.exit(), md.toString());
            assertTrue(md.out().startsWith("### bpfgit plan for revision `dir:"), md.out());
            assertTrue(md.out().contains("**Plan: 5 to create, 0 to change, 0 to remove; entries +4 ~0 -0.**"),
                    md.out());
            assertTrue(Pattern.compile("(?m)^\\+ {5}\\+ 203\\.0\\.113\\.0/24 +drop$").matcher(md.out()).find(),
                    "a diff line per added entry: " + md.out());

            Path broken = write(dir.resolve("policies"), "broken.yaml", BROKEN);
            Bpfgit.Cli invalid = edge.cli("plan", policies.toString());
            assertEquals(2, invalid.exit(), invalid.toString());
            assertTrue(invalid.err().startsWith(broken + ":11:41: error: "), invalid.err());
            Files.delete(broken);

            Path notBpffs = Files.createDirectories(dir.resolve("not-bpffs"));
            Bpfgit.Cli error = Bpfgit.cli(t.ns("edge"), "plan", policies.toString(), "--root",
                    notBpffs.resolve("bpfgit").toString());
            assertEquals(3, error.exit(), error.toString());
            assertTrue(error.err().startsWith("error: ") && error.err().contains(notBpffs.toString())
                    && error.err().contains("bpffs"), error.err());
            assertEquals(List.of(), edge.pins(), "planning changed nothing");
        }
    }

    @Test
    void applyStatusStateExportAndDestroy(@TempDir Path dir) throws Exception {
        Path policies = write(dir.resolve("policies"), "edge.yaml", POLICY).getParent();
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());

            Bpfgit.Cli apply = edge.cli("apply", policies.toString(), "--yes");
            assertEquals(0, apply.exit(), apply.toString());
            assertTrue(Pattern.compile("(?m)^Applied revision dir:[0-9a-f]+: \\d+ steps, 4 entries written, 0 deleted\\.$")
                    .matcher(apply.out()).find(), apply.out());
            Bpfgit.Cli again = edge.cli("plan", policies.toString());
            assertEquals(0, again.exit(), again.toString());
            assertTrue(again.out().startsWith("No changes: the host is in sync with revision dir:"), again.out());

            assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3));
            assertEquals(3, t.ping("client", "198.51.100.7", "10.0.0.2", 3));
            Bpfgit.Cli status = edge.cli("status");
            assertEquals(0, status.exit(), status.toString());
            assertTrue(status.out().startsWith("Revision dir:"), status.out());
            assertTrue(status.out().contains("\nTrafficPolicy/edge-filter  in sync\n"), status.out());
            assertTrue(Pattern.compile("(?m)^ +203\\.0\\.113\\.0/24 +drop +3 packets +\\d+ bytes$")
                    .matcher(status.out()).find(), status.out());
            assertTrue(Pattern.compile("(?m)^ +198\\.51\\.100\\.0/24 +pass +3 packets +\\d+ bytes$")
                    .matcher(status.out()).find(), status.out());

            Bpfgit.Cli statusJson = edge.cli("status", "-o", "json");
            assertEquals(0, statusJson.exit(), statusJson.toString());
            JsonNode s = statusJson.json();
            assertEquals("TrafficPolicy/edge-filter", s.at("/policies/0/id").asString());
            assertEquals("in sync", s.at("/policies/0/state").asString());
            List<String> rules = new ArrayList<>();
            s.at("/policies/0/units/0/rules").forEach(r -> rules.add(r.get("prefix").asString() + " "
                    + r.path("action").asString("-") + " " + r.get("packets").asLong()));
            assertTrue(rules.containsAll(List.of("203.0.113.0/24 drop 3", "198.51.100.0/24 pass 3",
                    "2001:db8:bad::/48 drop 0")), rules.toString());

            Bpfgit.Cli export = edge.cli("state", "export");
            assertEquals(0, export.exit(), export.toString());
            JsonNode state = dev.bpfgit.render.OutputSchema.assertValid(export.out());
            assertEquals("bpfgit.dev/state/v1", state.get("format").asString());
            assertEquals(root.toString(), state.get("root").asString());
            Set<String> pins = new TreeSet<>();
            state.get("maps").forEach(m -> pins.add(m.get("pin").asString() + " " + m.path("entries").size()));
            assertTrue(pins.contains(root.resolve("traffic/eth0/xdp/rules_v4") + " 2"), pins.toString());
            assertTrue(pins.contains(root.resolve("traffic/eth0/xdp/rules_v6") + " 1"), pins.toString());
            assertEquals(1, state.get("links").size());

            Bpfgit.Cli destroy = edge.cli("destroy", "--yes");
            assertEquals(0, destroy.exit(), destroy.toString());
            assertTrue(destroy.out().contains("Destroyed: "), destroy.out());
            assertFalse(Files.exists(root.path()));
            Bpfgit.Cli after = edge.cli("status");
            assertEquals(0, after.exit(), after.toString());
            assertEquals("Nothing applied under this pin root.\n", after.out());
            assertEquals(3, t.ping("client", "203.0.113.7", "10.0.0.2", 3));
        }
    }

    /**
     * CI's view: the state of a live host exported to a file, and a plan against that file instead of the
     * kernel, from the host namespace and as an unprivileged user: the same plan as the live one.
     */
    @Test
    void planAgainstAStateFileEqualsTheLivePlanAndNeedsNoRoot() throws Exception {
        Path work = Files.createTempDirectory("bpfgit-cliit-", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwxr-xr-x")));
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Path policies = write(work.resolve("policies"), "edge.yaml", POLICY).getParent();
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            assertEquals(0, edge.cli("apply", policies.toString(), "--yes").exit());
            Path state = write(work, "host.json", edge.cli("state", "export").out());
            write(policies, "edge.yaml", CHANGED);

            Bpfgit.Cli live = edge.cli("plan", policies.toString());
            assertEquals(1, live.exit(), live.toString());
            assertTrue(live.out().contains("~ 198.51.100.0/24  drop (was pass)"), live.out());
            Bpfgit.Cli fromFile = Bpfgit.cli(null, "plan", policies.toString(), "--state", state.toString());
            assertEquals(1, fromFile.exit(), fromFile.toString());
            assertEquals(live.out(), fromFile.out());
            assertEquals("", fromFile.err());

            Bpfgit.Cli nobody = asNobody(work, "plan", policies.toString(), "--state", state.toString());
            assertEquals(1, nobody.exit(), nobody.toString());
            assertEquals(live.out(), nobody.out());
        } finally {
            delete(work);
        }
    }

    @Test
    void statusNamesTheGitCommitAppliedFromAWorkingTree(@TempDir Path repo) throws Exception {
        Path policies = write(repo.resolve("policies"), "edge.yaml", POLICY).getParent();
        git(repo, "init", "-q", "-b", "main");
        git(repo, "add", "policies");
        git(repo, "commit", "-q", "-m", "edge filter for the fleet");
        String head = git(repo, "rev-parse", "HEAD").strip();
        String authorTime = java.time.Instant.ofEpochSecond(Long.parseLong(
                git(repo, "log", "-1", "--format=%at").strip())).toString();
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            Bpfgit.Cli apply = edge.cli("apply", policies.toString(), "--yes");
            assertEquals(0, apply.exit(), apply.toString());
            assertTrue(apply.out().contains("Applied revision " + head + ": "), apply.out());
            Bpfgit.Cli status = edge.cli("status");
            assertEquals(0, status.exit(), status.toString());
            assertTrue(status.out().startsWith("Revision " + head + " (edge filter for the fleet, " + authorTime
                    + ") applied at "), status.out());
            JsonNode json = edge.cli("status", "-o", "json").json();
            assertEquals(head, json.at("/revision").asString());
            assertEquals(head, json.at("/commit/id").asString());
            assertEquals("edge filter for the fleet", json.at("/commit/subject").asString());
            assertEquals(authorTime, json.at("/commit/authorTime").asString());

            write(policies, "edge.yaml", CHANGED);
            Bpfgit.Cli dirty = edge.cli("apply", policies.toString(), "--yes");
            assertEquals(0, dirty.exit(), dirty.toString());
            Bpfgit.Cli after = edge.cli("status");
            assertTrue(after.out().startsWith("Revision " + head + "+dirty applied at "), after.out());
            assertTrue(edge.cli("status", "-o", "json").json().path("commit").isMissingNode());
            assertEquals(0, edge.cli("destroy", "--yes").exit());
        }
    }

    @Test
    void planAgainstAGitRevisionShowsExactlyTheChange(@TempDir Path repo) throws Exception {
        Path policies = write(repo.resolve("policies"), "edge.yaml", POLICY).getParent();
        git(repo, "init", "-q", "-b", "main");
        git(repo, "add", "policies");
        git(repo, "commit", "-q", "-m", "edge filter");
        Bpfgit.Cli same = Bpfgit.cli(null, "plan", policies.toString(), "--against", "HEAD");
        assertEquals(0, same.exit(), same.toString());
        String head = git(repo, "rev-parse", "HEAD").strip();
        assertEquals("No changes: the host is in sync with revision " + head + ".\n", same.out());

        write(policies, "edge.yaml", CHANGED);
        Bpfgit.Cli plan = Bpfgit.cli(null, "plan", policies.toString(), "--against", "HEAD");
        assertEquals(1, plan.exit(), plan.toString());
        assertEquals(List.of("TrafficPolicy/edge-filter (eth0, xdp)",
                "  ~ map rules: ~1 (3 -> 3 entries)",
                "      ~ 198.51.100.0/24  drop (was pass)",
                "Plan: 0 to create, 1 to change, 0 to remove; entries +0 ~1 -0."), plan.out().lines().toList());
        assertEquals("", plan.err());
        Bpfgit.Cli json = Bpfgit.cli(null, "plan", policies.toString(), "--against", "HEAD", "-o", "json");
        assertTrue(json.out().contains("\"revision\" : \"" + head + "+dirty\""), json.out());
    }

    @Test
    void demoRunsTheWholeStoryAndCleansUp() {
        // --root: every verb takes it (design section 4); the demo works in it and removes it at the end
        Path root = Path.of("/sys/fs/bpf/bpfgit-it-demo-" + ProcessHandle.current().pid());
        Bpfgit.Cli demo = Bpfgit.cli(null, "demo", "--root", root.toString());
        assertEquals(0, demo.exit(), demo.toString());
        assertTrue(demo.out().contains("bpfgit apply examples/edge-filter --root " + root)
                || demo.out().contains("--root " + root + " --yes"), demo.out());
        assertFalse(Files.exists(root), "pin root left behind: " + root);
        Matcher blocked = Pattern.compile("(?m)^ +203\\.0\\.113\\.7 +(\\d+) +(\\d+) +blocked").matcher(demo.out());
        assertTrue(blocked.find(), demo.out());
        assertTrue(Integer.parseInt(blocked.group(1)) > 0, blocked.group());
        assertEquals("0", blocked.group(2), "no replies for the blocked source: " + blocked.group());
        Matcher created = Pattern.compile("Creating throwaway network namespaces (\\S+), (\\S+), (\\S+)")
                .matcher(demo.out());
        assertTrue(created.find(), demo.out());
        String netns = Commands.run("ip", "netns", "list");
        for (int i = 1; i <= 3; i++) {
            assertFalse(netns.contains(created.group(i)), created.group(i) + " left behind: " + netns);
        }
        String id = created.group(1).replaceAll("^bpfgit-demo-(\\d+)-.*$", "$1");
        assertFalse(Files.exists(Path.of("/sys/fs/bpf/bpfgit-demo-" + id)), "a default pin root was made besides --root");
    }

    // ---- helpers

    private static String git(Path repo, String... args) {
        List<String> c = new ArrayList<>(List.of("git", "-C", repo.toString(), "-c", "user.name=bpfgit-it",
                "-c", "user.email=it@bpfgit.dev", "-c", "commit.gpgsign=false"));
        c.addAll(List.of(args));
        return Commands.exec(c).orFail().stdout();
    }

    /**
     * The CLI as user nobody. The launcher's classpath lives in root's Maven repository, which nobody
     * cannot read, so the same classes and jars are copied next to the inputs first.
     */
    private static Bpfgit.Cli asNobody(Path work, String... args) throws IOException {
        Path cp = Files.createDirectories(work.resolve("cp"));
        List<String> entries = new ArrayList<>();
        Path classes = Bpfgit.REPO.resolve("reconciler/target/classes");
        copyTree(classes, cp.resolve("classes"));
        entries.add(cp.resolve("classes").toString());
        String file = System.getProperty("bpfgit.classpath.file",
                Bpfgit.REPO.resolve("reconciler/target/classpath.txt").toString());
        for (String jar : Files.readString(Path.of(file)).trim().split(":")) {
            Path to = cp.resolve(Path.of(jar).getFileName());
            Files.copy(Path.of(jar), to);
            entries.add(to.toString());
        }
        Commands.run("chmod", "-R", "a+rX", work.toString());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> c = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "-cp",
                String.join(":", entries), "dev.bpfgit.cli.Main"));
        c.addAll(List.of(args));
        Commands.Result r = Commands.exec(c);
        return new Bpfgit.Cli(c, r.exitCode(), r.stdout(), r.stderr());
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }

    private static void delete(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
