package dev.bpfgit.it;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import dev.bpfgit.apply.ApplyResult;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Pin;
import dev.bpfgit.kernel.linux.LinuxKernel;
import dev.bpfgit.kernel.linux.Netns;
import dev.bpfgit.kernel.testing.TestNetns;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.kind.traffic.TrafficCounters;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.DirectorySource;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * bpfgit as the tests drive it: the pipeline in this JVM on a thread moved into a test namespace, and the
 * packaged tool ({@code ./bpfgit} at the repository root) as a child process entered into one with nsenter.
 */
final class Bpfgit {
    /** The repository root; failsafe passes it, a run from the IDE in reconciler/ falls back to "..". */
    static final Path REPO = Path.of(System.getProperty("bpfgit.repo", "..")).toAbsolutePath().normalize();
    static final ObjectMapper JSON = new ObjectMapper();
    private static final long CLI_TIMEOUT_SECONDS = dev.bpfgit.kernel.testing.TimeScale.seconds(180);

    private Bpfgit() {
    }

    /** One pin root on the kernel of one namespace. */
    record Host(TestNetns ns, Path root) {

        <T> T inside(Function<Pipeline, T> body) throws Exception {
            return Netns.call(ns.path(), () -> body.apply(new Pipeline(new LinuxKernel(), root, Clock.systemUTC())));
        }

        DesiredState desired(Pipeline p, Path... policies) {
            return p.compile(DirectorySource.read(policies), p.host("it-host", Map.of()));
        }

        Plan plan(Path... policies) throws Exception {
            return inside(p -> p.plan(desired(p, policies)));
        }

        /** Plans against the kernel and applies that plan. */
        ApplyResult apply(Path... policies) throws Exception {
            return inside(p -> p.apply(p.plan(desired(p, policies))));
        }

        /** Per-rule packet counters of a unit ("traffic/eth0/xdp"), by prefix; "default" for misses. */
        Map<String, Long> packets(String unit) throws Exception {
            return inside(p -> {
                LiveState live = p.observe(List.of());
                Map<String, Long> m = new TreeMap<>();
                TrafficCounters.read(p.kernel(), live, root.resolve(unit)).forEach(c -> m.put(c.prefix(), c.packets()));
                return m;
            });
        }

        /** Entries of a map pinned under the root. */
        List<Entry> entries(String pin) throws Exception {
            return inside(p -> p.kernel().entries(root.resolve(pin)));
        }

        /** Every pin below the root, relative to it. */
        List<String> pins() throws Exception {
            return inside(p -> {
                List<String> out = new ArrayList<>();
                for (Pin pin : p.kernel().pins(root)) {
                    out.add(root.relativize(pin.path()) + " " + pin.type());
                }
                return out;
            });
        }

        /** The packaged CLI inside this host's namespace, with {@code --root} added. */
        Cli cli(String... args) {
            List<String> a = new ArrayList<>(List.of(args));
            a.add("--root");
            a.add(root.toString());
            return Bpfgit.cli(ns, a.toArray(String[]::new));
        }

        /** As {@link #cli(String...)}, with variables added to the environment (e.g. BPFGIT_TC=legacy). */
        Cli cliWith(Map<String, String> env, String... args) {
            List<String> a = new ArrayList<>(List.of(args));
            a.add("--root");
            a.add(root.toString());
            return Bpfgit.cli(env, ns, a.toArray(String[]::new));
        }
    }

    /** What a CLI process printed and returned. */
    record Cli(List<String> command, int exit, String out, String err) {
        JsonNode json() {
            try {
                return JSON.readTree(out);
            } catch (tools.jackson.core.JacksonException e) {
                throw new AssertionError("stdout of " + this + " is not JSON: " + e.getMessage());
            }
        }

        @Override
        public String toString() {
            return String.join(" ", command) + "\n  exit " + exit + "\n  stdout: " + out + "\n  stderr: " + err;
        }
    }

    /** Runs {@code ./bpfgit ARGS} from the repository root, inside {@code ns} when it is not null. */
    static Cli cli(TestNetns ns, String... args) {
        return cli(REPO, Map.of(), ns, args);
    }

    /** Runs {@code ./bpfgit ARGS} in directory {@code dir}, as CI runs it in a checkout with relative paths. */
    static Cli cliIn(Path dir, String... args) {
        return cli(dir, Map.of(), null, args);
    }

    /** As {@link #cli(TestNetns, String...)}, with variables added to the environment. */
    static Cli cli(Map<String, String> env, TestNetns ns, String... args) {
        return cli(REPO, env, ns, args);
    }

    private static Cli cli(Path dir, Map<String, String> env, TestNetns ns, String... args) {
        Process p = start(dir, env, ns, args);
        CompletableFuture<String> out = dev.bpfgit.kernel.testing.Commands.drain(p.getInputStream());
        CompletableFuture<String> err = dev.bpfgit.kernel.testing.Commands.drain(p.getErrorStream());
        try {
            if (!p.waitFor(CLI_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor();
                throw new AssertionError("bpfgit " + String.join(" ", args) + " did not finish in "
                        + CLI_TIMEOUT_SECONDS + "s");
            }
            return new Cli(command(ns, args), p.exitValue(), out.join(), err.join());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Starts {@code ./bpfgit ARGS} in the background; the caller owns the process. */
    static Process start(TestNetns ns, String... args) {
        return start(REPO, Map.of(), ns, args);
    }

    static Process start(Map<String, String> env, TestNetns ns, String... args) {
        return start(REPO, env, ns, args);
    }

    private static Process start(Path dir, Map<String, String> env, TestNetns ns, String... args) {
        try {
            ProcessBuilder b = new ProcessBuilder(command(ns, args)).directory(dir.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            b.environment().putAll(env);
            return b.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> command(TestNetns ns, String... args) {
        List<String> c = new ArrayList<>();
        if (ns != null) {
            c.add("nsenter");
            c.add("--net=" + ns.path());
        }
        c.add(REPO.resolve("bpfgit").toString());
        c.addAll(List.of(args));
        return c;
    }

    /**
     * Makes sure the launcher's build is current before the tests time anything: {@code ./bpfgit} rebuilds
     * with Maven when sources are newer than its last build.
     */
    static void warmUp() {
        Cli v = cli(null, "--version");
        if (v.exit() != 0) {
            throw new AssertionError("the launcher does not run: " + v);
        }
    }

    // ---- policies

    /** Writes a policy file and returns its path. */
    static Path write(Path dir, String file, String yaml) throws IOException {
        Path f = dir.resolve(file);
        Files.createDirectories(f.getParent());
        Files.writeString(f, yaml);
        return f;
    }

    /**
     * A BPF program written as {@code name.c} in {@code dir} and compiled with clang to {@code name.o}: what
     * another tool would load, for the tests of foreign programs. Returns the object.
     */
    static Path bpfObject(Path dir, String name, String source) throws IOException {
        Path src = write(dir, name + ".c", source);
        Path object = dir.resolve(name + ".o");
        dev.bpfgit.kernel.testing.Commands.run("clang", "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c",
                src.toString(), "-o", object.toString());
        return object;
    }

    /** A TrafficPolicy on one interface; each rule is a YAML flow mapping. */
    static String traffic(String name, String iface, String hook, String match, String dflt, String... rules) {
        StringBuilder sb = new StringBuilder();
        sb.append("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata:\n  name: ").append(name).append('\n');
        sb.append("spec:\n  interfaces: [").append(iface).append("]\n  hook: ").append(hook)
                .append("\n  match: ").append(match).append("\n  default: ").append(dflt).append("\n  rules:\n");
        for (String r : rules) {
            sb.append("    - ").append(r).append('\n');
        }
        return sb.toString();
    }

    /**
     * A JSON value with object fields and array elements sorted: equal for two documents that hold the
     * same things in another order.
     */
    static String canonical(JsonNode n) {
        if (n.isObject()) {
            Map<String, String> fields = new TreeMap<>();
            n.properties().forEach(e -> fields.put(e.getKey(), canonical(e.getValue())));
            return fields.toString();
        }
        if (n.isArray()) {
            List<String> items = new ArrayList<>();
            n.forEach(i -> items.add(canonical(i)));
            items.sort(null);
            return items.toString();
        }
        return n.toString();
    }

    /**
     * The CLI as user nobody (no capabilities, no access to bpffs). The launcher's classpath lives in root's
     * Maven repository, which nobody cannot read, so the same classes and jars are copied into {@code work}
     * (which nobody must be able to read) first.
     */
    static Cli asNobody(Path work, String... args) throws IOException {
        return asNobodyIn(work, null, args);
    }

    /** As {@link #asNobody}, in directory {@code dir} (which nobody must be able to enter). */
    static Cli asNobodyIn(Path work, Path dir, String... args) throws IOException {
        Path cp = work.resolve("nobody-cp");
        List<String> entries = new ArrayList<>();
        entries.add(cp.resolve("classes").toString());
        String file = System.getProperty("bpfgit.classpath.file", REPO.resolve("reconciler/target/classpath.txt").toString());
        List<String> jars = List.of(Files.readString(Path.of(file)).trim().split(":"));
        jars.forEach(j -> entries.add(cp.resolve(Path.of(j).getFileName()).toString()));
        if (!Files.exists(cp)) {
            Files.createDirectories(cp);
            dev.bpfgit.kernel.testing.Commands.run("cp", "-a", REPO.resolve("reconciler/target/classes").toString(),
                    cp.resolve("classes").toString());
            for (String jar : jars) {
                Files.copy(Path.of(jar), cp.resolve(Path.of(jar).getFileName()));
            }
        }
        dev.bpfgit.kernel.testing.Commands.run("chmod", "-R", "a+rX", work.toString());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> c = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
        if (dir != null) {
            c.addAll(List.of("env", "-C", dir.toString()));
        }
        c.addAll(List.of(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
                "-cp", String.join(":", entries), "dev.bpfgit.cli.Main"));
        c.addAll(List.of(args));
        dev.bpfgit.kernel.testing.Commands.Result r = dev.bpfgit.kernel.testing.Commands.exec(c);
        return new Cli(c, r.exitCode(), r.stdout(), r.stderr());
    }

    static <T> T unchecked(Callable<T> c) {
        try {
            return c.call();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
