package dev.bpfgit.it;

import dev.bpfgit.apply.Applier;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.render.PlanText;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.DirectorySource;
import dev.bpfgit.state.MemoryKernel;
import dev.bpfgit.state.StateFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The release tarball as an operator gets it: unpacked into an empty directory (no source checkout, no
 * Maven, no ~/.m2 next to it) and run there as user {@code nobody}, from another directory, through
 * symlinks, and on a system whose every mount is read-only. The install tree must come out of every run
 * exactly as it went in.
 */
class ReleaseIT {
    private static final Path REPO = Bpfgit.REPO;
    private static final String VERSION = System.getProperty("bpfgit.version", "0.1.0-SNAPSHOT");
    private static final Path TARBALL = Path.of(System.getProperty("bpfgit.release.tarball",
            REPO.resolve("reconciler/target/bpfgit-" + VERSION + ".tar.gz").toString()));
    private static final String NOBODY = "65534";
    private static final Path STATE_ROOT = Path.of("/sys/fs/bpf/bpfgit");
    private static final long TIMEOUT_SECONDS = 120;

    private static Path work;
    private static Path home;
    private static Map<String, String> tree;

    @BeforeAll
    static void unpack() throws IOException {
        if (!"0".equals(Commands.run("id", "-u").trim())) {
            String why = "the release test switches to user nobody and needs root";
            if ("required".equals(System.getProperty("bpfgit.kernel"))) {
                Assertions.fail(why + " (bpfgit.kernel=required)");
            }
            Assumptions.abort(why);
        }
        assertTrue(Files.isRegularFile(TARBALL), "mvn package builds " + TARBALL);
        work = Files.createTempDirectory("bpfgit-release-", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwxr-xr-x")));
        Path unpacked = Files.createDirectories(work.resolve("opt"));
        Commands.run("tar", "-xzf", TARBALL.toString(), "-C", unpacked.toString());
        home = unpacked.resolve("bpfgit-" + VERSION);
        Files.createDirectories(work.resolve("elsewhere"));
        Commands.run("chmod", "-R", "a+rX", work.toString());
        tree = snapshot(home);
    }

    @AfterEach
    void installTreeUnchanged() throws IOException {
        assertEquals(tree, snapshot(home), "a run wrote into the install tree");
    }

    @AfterAll
    static void cleanUp() throws IOException {
        if (work != null) {
            Commands.run("rm", "-rf", "--one-file-system", work.toString());
        }
    }

    @Test
    void versionComesFromTheJarManifest() {
        Run v = nobody("--version");
        assertEquals(0, v.exit(), v.toString());
        assertEquals("bpfgit " + VERSION + "\n", v.out());
        assertEquals("", v.err());
    }

    @Test
    void validateAsNobodyExitsZeroForTheExampleAndTwoForAnInvalidFile() throws IOException {
        Path policies = copy(home.resolve("examples/edge-filter"), work.resolve("validate/edge-filter"));
        Run ok = nobody("validate", policies.toString());
        assertEquals(0, ok.exit(), ok.toString());
        assertTrue(ok.out().startsWith("valid: 1 policy in 1 file (revision dir:"), ok.out());
        assertEquals("", ok.err());

        Path broken = write(work.resolve("validate/broken/broken.yaml"),
                Files.readString(policies.resolve("policy.yaml")).replace("action: drop}", "action: dorp}"));
        Run invalid = nobody("validate", broken.toString());
        assertEquals(2, invalid.exit(), invalid.toString());
        assertEquals("", invalid.out());
        List<String> err = invalid.err().lines().toList();
        assertTrue(err.getFirst().startsWith(broken + ":13:") && err.getFirst().contains("/spec/rules/0/action: ")
                && err.getFirst().contains("dorp"), invalid.err());
        assertEquals("2 errors; nothing was changed.", err.getLast(), invalid.err());
    }

    @Test
    void planAgainstAGitRevisionAsNobodyInARepositoryOwnedByNobody() throws IOException {
        Path repo = Files.createDirectories(work.resolve("repo"));
        Path policies = copy(home.resolve("examples/edge-filter"), repo.resolve("policies"));
        git(repo, "init", "-q", "-b", "main");
        git(repo, "add", "policies");
        git(repo, "commit", "-q", "-m", "edge filter");
        write(policies.resolve("policy.yaml"), Files.readString(policies.resolve("policy.yaml"))
                .replace("{prefix: 203.0.113.0/24, action: drop}", "{prefix: 203.0.113.0/24, action: pass}"));
        git(repo, "commit", "-q", "-a", "-m", "let 203.0.113.0/24 through");
        Commands.run("chown", "-R", NOBODY + ":" + NOBODY, repo.toString());

        Run plan = nobody("plan", policies.toString(), "--against", "HEAD~1");
        assertEquals(1, plan.exit(), plan.toString());
        assertEquals(List.of("TrafficPolicy/edge-filter (eth0, xdp)",
                "  ~ map rules: ~1 (3 -> 3 entries)",
                "      ~ 203.0.113.0/24  pass (was drop)",
                "Plan: 0 to create, 1 to change, 0 to remove; entries +0 ~1 -0."), plan.out().lines().toList());
        assertEquals("", plan.err());

        Run same = nobody("plan", policies.toString(), "--against", "HEAD");
        assertEquals(0, same.exit(), same.toString());
        assertTrue(same.out().startsWith("No changes: the host is in sync with revision "), same.out());
        assertEquals("", same.err());
    }

    @Test
    void planAgainstAStateFileAsNobodyEqualsThePlanAgainstTheHostItCameFrom() throws IOException {
        Path policies = copy(home.resolve("examples/edge-filter"), work.resolve("state/policies"));
        HostFacts host = new HostFacts("edge-1", Map.of(), Map.of("eth0", 2, "eth1", 3));
        MemoryKernel kernel = new MemoryKernel(host.interfaces(), 2);
        DesiredState applied = desired(policies, host);
        Applier.apply(kernel, Differ.diff(applied, Observer.observe(kernel, STATE_ROOT,
                Pipeline.attachPoints(applied))), Clock.systemUTC());
        Path state = write(work.resolve("state/host.json"), StateFile.write(Observer.observe(kernel, STATE_ROOT,
                List.of(new AttachPoint.Xdp("eth0"), new AttachPoint.Xdp("eth1"))), host, kernel.possibleCpus()));

        Run inSync = nobody("plan", policies.toString(), "--state", state.toString());
        assertEquals(0, inSync.exit(), inSync.toString());
        assertEquals("", inSync.err());

        write(policies.resolve("policy.yaml"), Files.readString(policies.resolve("policy.yaml"))
                .replace("{prefix: 203.0.113.0/24, action: drop}", "{prefix: 203.0.113.0/24, action: pass}"));
        Run plan = nobody("plan", policies.toString(), "--state", state.toString());
        assertEquals(1, plan.exit(), plan.toString());
        assertTrue(plan.out().contains("\n      ~ 203.0.113.0/24  pass (was drop)\n"), plan.out());
        DesiredState changed = desired(policies, host);
        assertEquals(PlanText.render(Differ.diff(changed, Observer.observe(kernel, STATE_ROOT,
                Pipeline.attachPoints(changed)))), plan.out());
        assertEquals("", plan.err());
    }

    /** bpfgit writes nothing at start: not its tree, not /tmp (jffi's stub, hsperfdata), not a home. */
    @Test
    void runsWithEveryMountReadOnly() throws IOException {
        Path policies = copy(home.resolve("examples/edge-filter"), work.resolve("readonly/policies"));
        Run validate = readOnly("validate", policies.toString());
        assertEquals(0, validate.exit(), validate.toString());
        assertTrue(validate.out().startsWith("valid: 1 policy in 1 file"), validate.out());
        assertEquals("", validate.err());

        // the live plan refuses without root; getting there loads jnr-ffi's native stub
        Run live = readOnly("plan", policies.toString());
        assertEquals(3, live.exit(), live.toString());
        assertEquals("", live.out());
        assertTrue(live.err().startsWith("error: reading and changing the kernel needs root"), live.err());
        assertFalse(live.err().contains("Exception"), live.err());
    }

    /** As /usr/local/bin/bpfgit: a chain of symlinks, relative and absolute, run from another directory. */
    @Test
    void runsThroughSymlinksFromAnotherDirectory() throws IOException {
        Path links = Files.createDirectories(work.resolve("links"));
        Path relative = Files.createSymbolicLink(links.resolve("bpfgit"),
                links.relativize(home.resolve("bin/bpfgit")));
        Path chained = Files.createSymbolicLink(links.resolve("bpfgit-again"), relative);
        Path policies = copy(home.resolve("examples/edge-filter"), work.resolve("links-policies"));
        Commands.run("chmod", "-R", "a+rX", work.toString());
        for (Path launcher : List.of(relative, chained)) {
            Run v = run(true, env(), launcher.toString(), "validate", policies.toString());
            assertEquals(0, v.exit(), v.toString());
            assertTrue(v.out().startsWith("valid: 1 policy in 1 file"), v.out());
            assertEquals("", v.err());
        }
    }

    /**
     * The JVM flags of ./bpfgit in the repository: native access, C1 for one-shot verbs and C2 for the
     * long-lived sidecar (whose heap shrinks back), the classpath from lib/ only, and jffi's stub from lib/jni;
     * and the release's own: its AOT cache, with the jars in the order it was trained with. A stand-in java
     * prints what it was given; JAVA_HOME_25 is taken when BPFGIT_JAVA_HOME is unset.
     */
    @Test
    void launcherRunsJavaWithTheFlagsOfTheRepositoryLauncher() throws IOException {
        Path jdk = work.resolve("fake-jdk");
        write(jdk.resolve("bin/java"), "#!/bin/sh\nprintf '%s\\n' \"$@\"\n");
        Commands.run("chmod", "a+rx", jdk.resolve("bin/java").toString());
        Map<String, String> env = env();
        env.remove("BPFGIT_JAVA_HOME");
        env.put("JAVA_HOME_25", jdk.toString());
        List<String> common = List.of("--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-XX:+UseSerialGC");
        String arch = Commands.run("uname", "-m").trim();
        // the jars of lib/ by name in the C locale's order, the order the AOT cache was trained with
        List<String> jars = new ArrayList<>();
        try (Stream<Path> s = Files.list(home.resolve("lib"))) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".jar")).sorted()
                    .forEach(n -> jars.add(home + "/lib/" + n));
        }
        assertTrue(Files.isRegularFile(home.resolve("lib/bpfgit.aot")), "the release has its AOT cache");
        List<String> tail = List.of("-XX:AOTCache=" + home + "/lib/bpfgit.aot", "-Xlog:aot*=off,cds*=off",
                "-Djffi.boot.library.path=" + home + "/lib/jni/" + arch + "-Linux",
                "-cp", String.join(File.pathSeparator, jars), "dev.bpfgit.cli.Main");

        Run validate = run(true, env, home.resolve("bin/bpfgit").toString(), "validate", "x.yaml");
        assertEquals(0, validate.exit(), validate.toString());
        List<String> expected = new ArrayList<>(common);
        expected.add("-XX:TieredStopAtLevel=1");
        expected.add("-XX:Tier3BackEdgeThreshold=2000");   // a loop run once per verb compiled early (OSR)
        expected.add("-XX:InitialRAMPercentage=100");   // the young generation at its largest from the start
        expected.add("-Xmx768m");   // the default heap (README, "Memory: the default heap")
        expected.addAll(tail);
        expected.addAll(List.of("validate", "x.yaml"));
        assertEquals(expected, validate.out().lines().toList());

        // BPFGIT_JAVA_OPTS last before the classpath: its -Xmx wins over the default
        Map<String, String> withOpts = new java.util.HashMap<>(env);
        withOpts.put("BPFGIT_JAVA_OPTS", "-Xmx2g -Dbpfgit.x=1");
        Run opts = run(true, withOpts, home.resolve("bin/bpfgit").toString(), "validate", "x.yaml");
        List<String> flags = opts.out().lines().toList();
        assertEquals(List.of("-Xmx2g", "-Dbpfgit.x=1", "-cp"), flags.subList(flags.indexOf("-cp") - 2, flags.indexOf("-cp") + 1),
                opts.toString());
        assertTrue(flags.indexOf("-Xmx768m") < flags.indexOf("-Xmx2g"), opts.toString());

        Run sidecar = run(true, env, home.resolve("bin/bpfgit").toString(), "run", "--config", "c.yaml");
        expected = new ArrayList<>(common);
        expected.add("-XX:+TieredCompilation");
        expected.addAll(List.of("-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=30", "-Xms16m",
                "-XX:-ShrinkHeapInSteps", "-Xmx768m"));
        // run's own AOT cache, trained on the sidecar with edits
        expected.add("-XX:AOTCache=" + home + "/lib/run.aot");
        expected.addAll(tail.subList(1, tail.size()));
        expected.addAll(List.of("run", "--config", "c.yaml"));
        assertEquals(expected, sidecar.out().lines().toList());
    }

    /**
     * The release's AOT cache is accepted by the JVM with the flags bin/bpfgit gives (a flag of the training
     * run missing at run time, e.g. native access, makes the JVM refuse it quietly), and its training covered
     * every stage of a verb on the kernel: parse and validate, compile, diff, render, and the native layer
     * (libbpf's downcalls, jnr-ffi's libc). -XX:+PrintSharedArchiveAndExit lists the cache's classes and
     * fails when the cache cannot be used.
     */
    @Test
    void theAotCacheIsUsedAndCoversEveryStage() {
        Map<String, String> env = env();
        env.put("BPFGIT_JAVA_OPTS", "-XX:+PrintSharedArchiveAndExit");
        Run r = run(true, env, home.resolve("bin/bpfgit").toString(), "validate", "x.yaml");
        assertEquals(0, r.exit(), r.toString().substring(0, Math.min(4000, r.toString().length())));
        Set<String> classes = new TreeSet<>();
        r.out().lines().map(String::trim).filter(l -> l.contains(" app_loader"))
                .forEach(l -> classes.add(l.substring(l.indexOf(':') + 1).trim().split(" ")[0]));
        for (String c : List.of("dev.bpfgit.policy.PolicyLoader", "dev.bpfgit.compile.Compiler", "dev.bpfgit.diff.Differ",
                "dev.bpfgit.render.PlanText", "dev.bpfgit.kernel.linux.Libbpf", "dev.bpfgit.kernel.linux.Libc",
                // picocli's Java 5 class files, upgraded at package time (src/build/CacheableJar.java)
                "picocli.CommandLine", "picocli.CommandLine$Model$CommandSpec", "dev.bpfgit.cli.Main$Version",
                // jnr-ffi's reflection loader, which makes libc's view (the training opens libc)
                "jnr.ffi.provider.jffi.ReflectionLibraryLoader", "jnr.ffi.provider.jffi.ReflectionLibraryLoader$LazyLoader",
                // JGit's signed jar, unsigned at package time, and a directory's revision read in the training
                "dev.bpfgit.source.GitRevisionSource", "org.eclipse.jgit.lib.Repository",
                "org.eclipse.jgit.revwalk.RevWalk")) {
            assertTrue(classes.contains(c), c + " is in the AOT cache (" + classes.size() + " application classes)");
        }
    }

    /**
     * run's own cache (lib/run.aot) is accepted with the flags bin/bpfgit gives run (the full tiered compiler
     * and the shrinking heap: a cache trained with other heap flags can be refused, and then the JVM does not
     * start at all), and its training went through the sidecar loop and its edits.
     */
    @Test
    void runHasItsOwnAotCacheTrainedOnTheSidecar() {
        assertTrue(Files.isRegularFile(home.resolve("lib/run.aot")), "the release has run's AOT cache");
        Map<String, String> env = env();
        env.put("BPFGIT_JAVA_OPTS", "-XX:+PrintSharedArchiveAndExit");
        Run r = run(true, env, home.resolve("bin/bpfgit").toString(), "run", "--config", "c.yaml");
        assertEquals(0, r.exit(), r.toString().substring(0, Math.min(4000, r.toString().length())));
        assertTrue(r.out().contains("/lib/run.aot"), "run maps lib/run.aot");
        Set<String> classes = new TreeSet<>();
        r.out().lines().map(String::trim).filter(l -> l.contains(" app_loader"))
                .forEach(l -> classes.add(l.substring(l.indexOf(':') + 1).trim().split(" ")[0]));
        for (String c : List.of("dev.bpfgit.run.Sidecar", "dev.bpfgit.source.DirectoryPolicySource",
                "dev.bpfgit.policy.PolicyLoader", "dev.bpfgit.diff.Differ", "picocli.CommandLine")) {
            assertTrue(classes.contains(c), c + " is in run's AOT cache (" + classes.size() + " application classes)");
        }
    }

    @Test
    void launcherNamesTheMissingJava() {
        Map<String, String> env = env();
        env.put("BPFGIT_JAVA_HOME", "/nonexistent/jdk");
        Run r = run(true, env, home.resolve("bin/bpfgit").toString(), "--version");
        assertEquals(3, r.exit(), r.toString());
        assertEquals("", r.out());
        assertEquals("bpfgit: Java 25 not found at /nonexistent/jdk (set BPFGIT_JAVA_HOME)\n", r.err());
    }

    /**
     * Self-contained: every runtime jar, the BPF objects and schemas inside, owned by root, readable by all,
     * writable by none but the owner, and no path of the machine that built it.
     */
    @Test
    void tarballIsSelfContainedAndNamesNoPathOfTheBuilder() throws IOException {
        String prefix = "bpfgit-" + VERSION + "/";
        for (String line : Commands.run("tar", "--numeric-owner", "-tvzf", TARBALL.toString()).lines().toList()) {
            String[] f = line.trim().split("\\s+", 6);
            String mode = f[0];
            String name = f[5];
            assertEquals("0/0", f[1], line);
            assertTrue(name.startsWith(prefix) && !name.contains("..") && !name.contains("//"), line);
            assertEquals('r', mode.charAt(7), "readable by all: " + line);
            assertEquals('-', mode.charAt(5), "not group-writable: " + line);
            assertEquals('-', mode.charAt(8), "not world-writable: " + line);
        }
        assertTrue(Files.isExecutable(home.resolve("bin/bpfgit")));
        String launcher = Files.readString(home.resolve("bin/bpfgit"));
        assertFalse(launcher.contains("mvn") || launcher.contains(".m2") || launcher.contains("classpath.txt"),
                "the installed launcher never builds and never reads a Maven repository");
        for (String dir : List.of("config", "examples/edge-filter", "schema")) {
            assertTrue(Files.isDirectory(home.resolve(dir)), dir);
        }
        for (String file : List.of("README.md", "config/bpfgit.yaml", "config/bpfgit.service", "config/daemonset.yaml",
                "config/Containerfile", "examples/edge-filter/policy.yaml")) {
            assertTrue(Files.isRegularFile(home.resolve(file)), file);
        }
        // completion and man pages (cli/Docs), where README "Install" copies them from
        for (String file : List.of("share/bash-completion/completions/bpfgit", "share/zsh/site-functions/_bpfgit",
                "share/man/man1/bpfgit.1", "share/man/man1/bpfgit-explain.1", "share/man/man1/bpfgit-plan.1")) {
            assertTrue(Files.isRegularFile(home.resolve(file)), file);
        }
        assertEquals("complete -o default -F _complete_bpfgit bpfgit", Commands.run("bash", "-c",
                "source " + home.resolve("share/bash-completion/completions/bpfgit") + " && complete -p bpfgit").strip());

        Set<String> jars = new TreeSet<>();
        try (Stream<Path> s = Files.list(home.resolve("lib"))) {
            s.filter(p -> p.toString().endsWith(".jar")).forEach(p -> jars.add(p.getFileName().toString()));
        }
        Set<String> runtime = new TreeSet<>(List.of("bpfgit-reconciler-" + VERSION + ".jar"));
        String cpFile = System.getProperty("bpfgit.classpath.file", REPO.resolve("reconciler/target/classpath.txt").toString());
        for (String jar : Files.readString(Path.of(cpFile)).trim().split(File.pathSeparator)) {
            runtime.add(Path.of(jar).getFileName().toString());
        }
        assertEquals(runtime, jars, "lib/ holds exactly the runtime classpath");
        assertTrue(Files.isRegularFile(home.resolve("lib/jni/x86_64-Linux/libjffi-1.2.so")));

        try (JarFile jar = new JarFile(home.resolve("lib/bpfgit-reconciler-" + VERSION + ".jar").toFile())) {
            assertEquals(VERSION, jar.getManifest().getMainAttributes().getValue("Implementation-Version"));
            for (String dir : List.of("bpf", "schema")) {
                try (Stream<Path> s = Files.list(REPO.resolve(dir))) {
                    for (Path p : s.filter(p -> p.toString().endsWith(".bpf.o") || p.toString().endsWith(".json")).toList()) {
                        assertTrue(jar.getEntry(dir + "/" + p.getFileName()) != null, dir + "/" + p.getFileName());
                    }
                }
            }
        }
        try (JarFile jar = new JarFile(home.resolve("lib/bpfgit-native-" + VERSION + ".jar").toFile())) {
            assertEquals(VERSION, jar.getManifest().getMainAttributes().getValue("Implementation-Version"));
        }
        try (Stream<Path> s = Files.list(REPO.resolve("schema"))) {
            for (Path p : s.filter(p -> p.toString().endsWith(".json")).toList()) {
                assertEquals(Files.readString(p), Files.readString(home.resolve("schema").resolve(p.getFileName())));
            }
        }

        List<String> builderPaths = List.of(System.getProperty("user.home") + "/.m2", "/.m2/repository", REPO.toString());
        try (Stream<Path> s = Files.walk(home)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                String text = new String(Files.readAllBytes(p), java.nio.charset.StandardCharsets.ISO_8859_1);
                for (String bad : builderPaths) {
                    assertFalse(text.contains(bad), home.relativize(p) + " names " + bad);
                }
            }
        }
    }

    // ---- running the installed tool

    record Run(List<String> command, int exit, String out, String err) {
        @Override
        public String toString() {
            return String.join(" ", command) + "\n  exit " + exit + "\n  stdout: " + out + "\n  stderr: " + err;
        }
    }

    /** {@code bin/bpfgit ARGS} as nobody, from a directory that is neither the install tree nor the inputs. */
    private static Run nobody(String... args) {
        List<String> c = new ArrayList<>(List.of(home.resolve("bin/bpfgit").toString()));
        c.addAll(List.of(args));
        return run(true, env(), c.toArray(String[]::new));
    }

    /**
     * {@code bin/bpfgit ARGS} as nobody in a private mount namespace where every mount is read-only (remounted
     * with {@code bind}: only this namespace's view changes).
     */
    private static Run readOnly(String... args) {
        String script = "findmnt -rno TARGET | while read -r t; do mount -o remount,bind,ro \"$t\" 2>/dev/null || true; done;"
                + " if touch /tmp/.bpfgit-release-probe 2>/dev/null || touch \"$W/.probe\" 2>/dev/null; then"
                + " echo 'mounts still writable' >&2; exit 99; fi;"
                + " exec setpriv --reuid=" + NOBODY + " --regid=" + NOBODY + " --clear-groups \"$@\"";
        List<String> c = new ArrayList<>(List.of("unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                "sh", home.resolve("bin/bpfgit").toString()));
        c.addAll(List.of(args));
        Map<String, String> env = env();
        env.put("W", work.toString());
        return run(false, env, c.toArray(String[]::new));
    }

    /** The environment of a login of nobody: no JAVA_HOME, no Maven, a home that does not exist. */
    private static Map<String, String> env() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
        env.put("HOME", "/nonexistent");
        env.put("LANG", "C.UTF-8");
        // the JDK running this test is the Java 25 to use, wherever this machine keeps it
        env.put("BPFGIT_JAVA_HOME", System.getProperty("java.home"));
        return env;
    }

    private static Run run(boolean asNobody, Map<String, String> env, String... args) {
        List<String> c = new ArrayList<>();
        if (asNobody) {
            c.addAll(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups"));
        }
        c.addAll(List.of(args));
        try {
            ProcessBuilder pb = new ProcessBuilder(c).directory(work.resolve("elsewhere").toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().clear();
            pb.environment().putAll(env);
            Process p = pb.start();
            CompletableFuture<String> out = Commands.drain(p.getInputStream());
            CompletableFuture<String> err = Commands.drain(p.getErrorStream());
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor();
                throw new AssertionError(String.join(" ", c) + " did not finish in " + TIMEOUT_SECONDS + "s");
            }
            return new Run(c, p.exitValue(), out.join(), err.join());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    // ---- inputs

    private static DesiredState desired(Path policies, HostFacts host) {
        var snapshot = DirectorySource.read(policies);
        return Compiler.compile(STATE_ROOT, snapshot.revision(), Pipeline.validate(snapshot), host);
    }

    private static void git(Path repo, String... args) {
        List<String> c = new ArrayList<>(List.of("git", "-C", repo.toString(), "-c", "user.name=bpfgit-it",
                "-c", "user.email=it@bpfgit.dev", "-c", "commit.gpgsign=false"));
        c.addAll(List.of(args));
        Commands.exec(c).orFail();
    }

    /** Copies a directory of files and makes the copy readable by everyone. */
    private static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
        Commands.run("chmod", "-R", "a+rX", work.toString());
        return to;
    }

    private static Path write(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
        Commands.run("chmod", "-R", "a+rX", work.toString());
        return file;
    }

    /** Every path under the tree with its type, size, mode and modification time. */
    private static Map<String, String> snapshot(Path dir) throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.naturalOrder()).toList()) {
                PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                m.put(dir.relativize(p).toString(), (a.isDirectory() ? "d " : "f ") + a.size() + " "
                        + PosixFilePermissions.toString(a.permissions()) + " " + a.lastModifiedTime().toMillis());
            }
        }
        return m;
    }
}
