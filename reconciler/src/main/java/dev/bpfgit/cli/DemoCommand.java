package dev.bpfgit.cli;

import dev.bpfgit.kernel.linux.Libc;
import dev.bpfgit.kernel.linux.Netns;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

final class DemoCommand implements java.util.concurrent.Callable<Integer> {
    /** demo's command line. */
    static CommandSpec spec() {
        DemoCommand verb = new DemoCommand();
        CommandSpec spec = verb.spec = Cli.command(verb, "demo",
                "A guided run in throwaway network namespaces; the host is untouched.",
                new String[]{"Creates three network namespaces (client, edge, scrubber) joined by veth pairs,",
                        "applies examples/edge-filter on the edge's eth0 with its own pin root, sends",
                        "IPv4 and IPv6 UDP from allowed, blocked and redirected sources, shows status",
                        "with per-rule counters, the plan of a changed rule, then destroys everything it",
                        "created. Needs root. Exit 0, 3 on error."},
                new String[]{"0:the demo ran and cleaned up", "3:error"},
                "  sudo bpfgit demo");
        spec.addOption(Cli.option("--policies", "DIR", Path.class,
                "Policy directory to demo", "(default: examples/edge-filter)."));
        // every verb takes --root (design section 4); the demo's must be its own: destroy at its end empties it
        spec.addOption(Cli.option("--root", "DIR", Path.class,
                "Pin root for the demo; must not exist yet", "(default: /sys/fs/bpf/bpfgit-demo-PID)."));
        spec.addOption(Cli.flag(new String[]{"--keep"}, "<keep>",
                "Leave the namespaces and pins in place for", "exploring (print how to remove them)."));
        return Cli.standardHelp(spec);
    }

    CommandSpec spec;

    // the values parsed into spec, read when called
    Path policies;
    Path rootOption;
    boolean keep;

    private PrintWriter out;
    private final String id = Long.toString(ProcessHandle.current().pid() % 100000);
    private final String client = "bpfgit-demo-" + id + "-client";
    private final String edge = "bpfgit-demo-" + id + "-edge";
    private final String scrub = "bpfgit-demo-" + id + "-scrub";
    private Path root = Path.of("/sys/fs/bpf/bpfgit-demo-" + id);
    private Path workDir;

    @Override
    public Integer call() throws Exception {
        policies = Cli.value(spec, "--policies");
        rootOption = Cli.value(spec, "--root");
        keep = Cli.flag(spec, "--keep");
        out = spec.commandLine().getOut();
        if (rootOption != null) {
            if (Files.exists(rootOption)) {
                throw new IllegalStateException("the demo's pin root " + rootOption
                        + " already exists; the demo destroys its root at the end, so give one that does not exist");
            }
            root = rootOption.toAbsolutePath().normalize();
        }
        if (Libc.geteuid() != 0) {
            throw new IllegalStateException("the demo creates network namespaces and loads BPF programs: run it as root");
        }
        for (String tool : List.of("ip", "nsenter")) {
            if (!onPath(tool)) {
                throw new IllegalStateException("the demo needs '" + tool + "' (apt-get install iproute2 util-linux)");
            }
        }
        Path policyDir = policies != null ? policies : examples();
        if (!Common.isBpffs(Path.of("/sys/fs/bpf"))) {
            say("bpffs is not mounted: mounting it at /sys/fs/bpf");
            sh("mount", "-t", "bpf", "bpf", "/sys/fs/bpf");
        }
        boolean ok = false;
        try {
            try (Progress progress = Progress.start(spec.commandLine().getErr(), "creating namespaces and veth pairs")) {
                topology();
            }
            Path ns = Path.of("/run/netns", edge);
            int code = Netns.call(ns, () -> story(policyDir));
            ok = code == 0;
            return code;
        } finally {
            if (keep && ok) {
                say("Kept for exploring. Remove with: bpfgit destroy --yes --root " + root + " (inside "
                        + "nsenter --net=/run/netns/" + edge + "), then ip netns del " + client + "; ip netns del "
                        + edge + "; ip netns del " + scrub);
            } else {
                cleanup();
            }
        }
    }

    private int story(Path policyDir) throws Exception {
        step("1. Validate the policies", "bpfgit validate " + policyDir);
        check(bpfgit("validate", policyDir.toString()), 0, "validate");

        step("2. Plan against the kernel of the edge namespace (nothing applied yet)",
                "bpfgit plan " + policyDir + " --root " + root);
        check(bpfgit("plan", policyDir.toString(), "--root", root.toString()), 1, "plan");

        step("3. Apply", "bpfgit apply " + policyDir + " --root " + root + " --yes");
        check(bpfgit("apply", policyDir.toString(), "--root", root.toString(), "--yes"), 0, "apply");

        step("4. Re-plan: the kernel now matches the files", "bpfgit plan " + policyDir + " --root " + root);
        check(bpfgit("plan", policyDir.toString(), "--root", root.toString()), 0, "re-plan");

        step("5. UDP from the client namespace to an echo server on the edge (10.200.0.2, fd00:200::2)", null);
        long scrubBefore = rxPackets(scrub, "eth0");
        out.printf("  %-18s %6s %7s%n", "from", "sent", "echoed");
        try (DemoEcho echo = new DemoEcho(Path.of("/run/netns", edge))) {
            udp("10.200.0.1", "10.200.0.2", "allowed (no rule: default pass)");
            udp("203.0.113.7", "10.200.0.2", "blocked (203.0.113.0/24 drop)");
            udp("198.51.100.7", "10.200.0.2", "redirected to eth1 (198.51.100.0/24)");
            udp("fd00:200::1", "fd00:200::2", "allowed IPv6");
            udp("2001:db8:bad::7", "fd00:200::2", "blocked IPv6 (2001:db8:bad::/48)");
        }
        out.printf("  the scrubber namespace received %d packets on its eth0 (the redirected ones)%n",
                rxPackets(scrub, "eth0") - scrubBefore);

        step("6. Status: revision, drift, per-rule packet and byte counters (per-CPU, summed)",
                "bpfgit status --root " + root);
        check(bpfgit("status", "--root", root.toString()), 0, "status");

        if (onPath("bpftool")) {
            step("7. The maps carry BTF: bpftool prints typed entries",
                    "bpftool map dump pinned " + root + "/traffic/eth0/xdp/rules_v4");
            out.print(sh("bpftool", "map", "dump", "pinned", root + "/traffic/eth0/xdp/rules_v4"));
        }

        workDir = Files.createTempDirectory("bpfgit-demo-");
        Path changed = workDir.resolve(policyDir.getFileName());
        copy(policyDir, changed);
        Path file;
        try (Stream<Path> s = Files.list(changed)) {
            file = s.filter(f -> f.toString().endsWith(".yaml")).sorted().findFirst().orElseThrow();
        }
        String text = Files.readString(file);
        Files.writeString(file, text.replace("{prefix: 203.0.113.0/24, action: drop}",
                "{prefix: 203.0.113.0/24, action: pass}"));
        step("8. Change one rule (203.0.113.0/24 drop -> pass) and plan: exactly that entry", "bpfgit plan "
                + changed + " --root " + root);
        check(bpfgit("plan", changed.toString(), "--root", root.toString()), 1, "plan of the change");

        step("9. Destroy: detach and unpin everything bpfgit created", "bpfgit destroy --yes --root " + root);
        check(bpfgit("destroy", "--yes", "--root", root.toString()), 0, "destroy");
        return 0;
    }

    private int bpfgit(String... args) {
        return spec.root().commandLine().execute(args);
    }

    private void check(int code, int expected, String what) {
        out.flush();
        if (code != expected) {
            throw new IllegalStateException("demo: " + what + " exited " + code + ", expected " + expected);
        }
    }

    private void step(String title, String command) {
        out.println();
        out.println("== " + title);
        if (command != null) {
            out.println("$ " + command);
        }
        out.flush();
    }

    private void say(String s) {
        out.println(s);
        out.flush();
    }

    private void udp(String from, String to, String label) throws Exception {
        int echoed = DemoEcho.exchange(Path.of("/run/netns", client), from, to, 5);
        out.printf("  %-18s %6d %7d   %s%n", from, 5, echoed, label);
        out.flush();
    }

    private long rxPackets(String ns, String dev) throws IOException {
        String json = run(List.of("nsenter", "--net=/run/netns/" + ns, "ip", "-s", "-j", "link", "show", dev), false);
        Matcher m = Pattern.compile("\"rx\":\\{\"bytes\":\\d+,\"packets\":(\\d+)").matcher(json);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    /** client eth0 <-> edge eth0; edge eth1 <-> scrub eth0. Addresses from documentation ranges. */
    private void topology() throws IOException {
        say("Creating throwaway network namespaces " + client + ", " + edge + ", " + scrub);
        for (String ns : List.of(client, edge, scrub)) {
            sh("ip", "netns", "add", ns);
            ip(ns, "link", "set", "lo", "up");
        }
        veth("bgd" + id + "a", client, "bgd" + id + "b", edge, "eth0");
        veth("bgd" + id + "c", edge, "bgd" + id + "d", scrub, "eth1");
        ip(scrub, "link", "set", "eth1", "name", "eth0");
        ip(client, "addr", "add", "10.200.0.1/24", "dev", "eth0");
        ip(client, "addr", "add", "fd00:200::1/64", "dev", "eth0", "nodad");
        for (String a : List.of("203.0.113.7/32", "198.51.100.7/32")) {
            ip(client, "addr", "add", a, "dev", "eth0");
        }
        ip(client, "addr", "add", "2001:db8:bad::7/128", "dev", "eth0", "nodad");
        ip(edge, "addr", "add", "10.200.0.2/24", "dev", "eth0");
        ip(edge, "addr", "add", "fd00:200::2/64", "dev", "eth0", "nodad");
        ip(edge, "addr", "add", "10.201.0.1/24", "dev", "eth1");
        ip(scrub, "addr", "add", "10.201.0.2/24", "dev", "eth0");
        for (String r : List.of("203.0.113.0/24", "198.51.100.0/24")) {
            ip(edge, "route", "add", r, "via", "10.200.0.1");
        }
        ip(edge, "-6", "route", "add", "2001:db8:bad::/48", "via", "fd00:200::1");
        // frames redirected by XDP into a veth are received only when the peer runs NAPI (GRO on)
        if (onPath("ethtool")) {
            run(List.of("nsenter", "--net=/run/netns/" + scrub, "ethtool", "-K", "eth0", "gro", "on"), true);
        }
    }

    private void veth(String a, String nsA, String b, String nsB, String name) throws IOException {
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b);
        sh("ip", "link", "set", a, "netns", nsA);
        sh("ip", "link", "set", b, "netns", nsB);
        ip(nsA, "link", "set", a, "name", name);
        ip(nsB, "link", "set", b, "name", name);
        ip(nsA, "link", "set", name, "up");
        ip(nsB, "link", "set", name, "up");
    }

    private void ip(String ns, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "-n", ns));
        cmd.addAll(List.of(args));
        run(cmd, false);
    }

    private void cleanup() {
        try {
            if (Files.exists(root)) {
                // the story destroys through bpfgit; this catches a failure half-way
                Netns.call(Path.of("/run/netns", edge), () -> bpfgit("destroy", "--yes", "--root", root.toString()));
            }
        } catch (Exception e) {
            out.println("cleanup: destroy failed: " + e.getMessage());
        }
        for (String ns : List.of(client, edge, scrub)) {
            try {
                if (Files.exists(Path.of("/run/netns", ns))) {
                    sh("ip", "netns", "del", ns);
                }
            } catch (IOException | RuntimeException e) {
                out.println("cleanup: " + e.getMessage());
            }
        }
        if (workDir != null) {
            try (Stream<Path> s = Files.walk(workDir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                out.println("cleanup: " + e.getMessage());
            }
        }
        say("\nRemoved the namespaces, veth pairs and pins the demo created.");
    }

    /** examples/edge-filter next to the working directory, else the copy shipped in the jar. */
    private static Path examples() throws IOException {
        Path local = Path.of("examples/edge-filter");
        if (Files.isDirectory(local)) {
            return local;
        }
        Path tmp = Files.createTempDirectory("bpfgit-examples-").resolve("edge-filter");
        Files.createDirectories(tmp);
        try (InputStream in = DemoCommand.class.getClassLoader().getResourceAsStream("examples/edge-filter/policy.yaml")) {
            if (in == null) {
                throw new IllegalStateException("examples/edge-filter not found (run from the repository)");
            }
            Files.write(tmp.resolve("policy.yaml"), in.readAllBytes());
        }
        tmp.toFile().deleteOnExit();
        return tmp;
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin:/usr/sbin:/sbin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin", tool)) || Files.isExecutable(Path.of("/sbin", tool));
    }

    private static String sh(String... cmd) throws IOException {
        return run(List.of(cmd), false);
    }

    static String run(List<String> cmd, boolean allowFailure) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (p.exitValue() != 0 && !allowFailure) {
            throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + output.trim());
        }
        return output;
    }
}
