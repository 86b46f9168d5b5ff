package dev.bpfgit.cli;

import tools.jackson.core.JsonGenerator;
import tools.jackson.core.StreamWriteFeature;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.kind.Kinds;
import dev.bpfgit.kind.UnitReport;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.observe.Fingerprint;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.observe.Meta;
import dev.bpfgit.run.Durations;
import dev.bpfgit.run.Pipeline;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.function.Function;

final class StatusCommand implements Callable<Integer> {
    private static final String SIDECAR = Meta.SIDECAR;

    /** status's command line. */
    static CommandSpec spec() {
        StatusCommand verb = new StatusCommand();
        CommandSpec spec = verb.spec = Cli.command(verb, "status",
                "Show the applied revision, each policy's state and its counters.",
                new String[]{"A policy is 'in sync' when every unit it acts in is as bpfgit applied it,",
                        "'drifted' when something changed it since, 'failed' when the last apply of it",
                        "failed. Exit 0, 3 on error. A drifted unit says what differs; with PATH (or",
                        "source.path in --config) the entries too."},
                new String[]{"0:shown", "3:error"},
                "  bpfgit status", "  bpfgit status -o json");
        Common.options(spec);
        spec.addOption(Cli.output("text or json."));
        spec.addPositional(Cli.parameter("0", "PATH", "0..1", Path.class,
                "Policy file or directory the drift is counted", "against (default: source.path)."));
        return Cli.standardHelp(spec);
    }

    CommandSpec spec;

    // the values parsed into spec, read when called
    Common common;
    String output;
    Path path;

    /**
     * @param reason what differs when drifted ({@link DriftReason}), else empty: its text naming the tables as
     *               the plan shows them, its JSON the kernel's maps
     */
    record UnitStatus(String unit, boolean inSync, DriftReason.Reason reason, UnitReport report) {
    }

    record PolicyStatus(String id, String digest, String state, String reason, List<UnitStatus> units) {
    }

    @Override
    public Integer call() {
        common = Common.of(spec);
        output = Cli.value(spec, "--output");
        path = Cli.parameter(spec, 0);
        if (!List.of("text", "json").contains(output)) {
            throw new UsageException("-o must be text or json, not " + output);
        }
        Pipeline p = common.live();
        LiveState live = p.observe(List.<AttachPoint>of());
        Meta meta = live.meta();
        Path root = p.root();
        Map<String, List<String>> unitsOf = new TreeMap<>();
        meta.values().keySet().stream().filter(k -> k.startsWith("owner/")).forEach(k -> {
            String rest = k.substring("owner/".length());
            // owner/<unit rel>/<Kind>/<name>: the policy id is the last two segments
            int b = rest.lastIndexOf('/', rest.lastIndexOf('/') - 1);
            unitsOf.computeIfAbsent(rest.substring(b + 1), x -> new ArrayList<>()).add(rest.substring(0, b));
        });
        List<PolicyStatus> policies = new ArrayList<>();
        // one read of each unit (its counters, say), whichever policies share the unit
        Map<String, Function<String, UnitReport>> reportOf = new TreeMap<>();
        Map<String, DriftReason.Reason> reasonOf = new TreeMap<>();
        java.util.function.Supplier<Map<Path, DriftReason.Reason>> counted = countedDrift(p, meta.revision().orElse(""));
        meta.policies().forEach((id, digest) -> {
            List<UnitStatus> units = new ArrayList<>();
            boolean sync = true;
            for (String rel : unitsOf.getOrDefault(id, List.of())) {
                Path dir = root.resolve(rel);
                boolean ok = meta.get(Meta.unitKey(rel)).map(f -> Fingerprint.liveMatches(live, dir, f)).orElse(false);
                sync &= ok;
                UnitReport report = reportOf.computeIfAbsent(rel, r -> Kinds.BUILT_IN.owning(Path.of(r))
                        .map(k -> k.report(p.kernel(), live, dir))
                        .orElse(x -> UnitReport.NONE)).apply(id);
                DriftReason.Reason reason = ok ? DriftReason.Reason.both("") : reasonOf.computeIfAbsent(rel,
                        r -> counted.get().getOrDefault(dir, DriftReason.Reason.both(meta.get(Meta.unitKey(r))
                                .map(f -> DriftReason.fromKernel(live, dir, f)).orElse("not recorded"))));
                units.add(new UnitStatus(rel, ok, reason, report));
            }
            String failed = meta.get("failed/" + id).orElse("");
            String state = !failed.isEmpty() ? "failed" : sync ? "in sync" : "drifted";
            policies.add(new PolicyStatus(id, digest, state, failed, units));
        });
        // a policy whose first apply failed was never recorded as applied: its failure is all there is to show
        meta.values().forEach((k, reason) -> {
            String id = k.startsWith(Meta.FAILED) ? k.substring(Meta.FAILED.length()) : null;
            if (id != null && !meta.policies().containsKey(id)) {
                policies.add(new PolicyStatus(id, "", "failed", reason, List.of()));
            }
        });
        PrintWriter out = spec.commandLine().getOut();
        if (output.equals("json")) {
            json(meta, policies, out);
        } else {
            text(out, meta, policies);
        }
        out.flush();   // print() of an autoflush PrintWriter does not flush: the JSON was lost at exit
        return ExitCodes.OK;
    }

    /**
     * The drift of each unit counted against the policies of PATH (or source.path), read once when a unit is
     * first found drifted: the plan's changes to it. Empty when there are none, or they cannot be read or are
     * invalid (said on stderr: status still shows what the kernel tells).
     */
    private java.util.function.Supplier<Map<Path, DriftReason.Reason>> countedDrift(Pipeline p, String applied) {
        Optional<Path> from = path != null ? Optional.of(path) : common.config().sourcePath();
        Map<Path, DriftReason.Reason> counted = new TreeMap<>();
        boolean[] done = {false};
        return () -> {
            if (!done[0] && from.isPresent()) {
                done[0] = true;
                try {
                    dev.bpfgit.source.Snapshot snapshot = Sources.read(List.of(from.get()), common);
                    dev.bpfgit.compile.DesiredState desired = Common.compile(p, snapshot, () -> common.facts(p.kernel()),
                            n -> { });
                    counted.putAll(DriftReason.fromPlan(p.plan(desired)));
                    if (!snapshot.revision().equals(applied)) {
                        spec.commandLine().getErr().println("note: " + from.get() + " is revision "
                                + snapshot.revision() + ", not the applied " + applied + ": drift is counted against it");
                        spec.commandLine().getErr().flush();
                    }
                } catch (RuntimeException e) {
                    String why = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
                    spec.commandLine().getErr().println("warning: drift not counted against " + from.get() + ": "
                            + why);
                    spec.commandLine().getErr().flush();
                }
            }
            return counted;
        };
    }

    private static void text(PrintWriter out, Meta meta, List<PolicyStatus> policies) {
        if (meta.revision().isEmpty()) {
            out.println("Nothing applied under this pin root.");
            sidecar(meta).ifPresent(out::println);
            return;
        }
        String age = meta.get("applied").map(a -> " at " + a + " (" + ago(a) + ")").orElse("");
        String commit = meta.get(Meta.COMMIT_SUBJECT).map(subject -> " (" + subject
                + meta.get(Meta.COMMIT_AUTHOR_TIME).map(t -> ", " + t).orElse("") + ")").orElse("");
        out.println("Revision " + meta.revision().get() + commit + " applied" + age);
        sidecar(meta).ifPresent(out::println);
        for (PolicyStatus ps : policies) {
            out.println(ps.id() + "  " + ps.state() + (ps.reason().isEmpty() ? "" : ": " + ps.reason()));
            for (UnitStatus u : ps.units()) {
                String why = u.reason().text();
                out.println("  " + u.unit() + (u.inSync() ? "" : why.isEmpty() ? "  (drifted)"
                        : "  (drifted: " + why + ")"));
                u.report().lines().forEach(l -> out.println("    " + l));
            }
        }
    }

    /**
     * What a running (or the last) sidecar recorded about its source, e.g. {@code Source: directory /p:
     * revision dir:ab12 is invalid since 2026-... (4m ago): p.yaml:3:5: error: ...; last fetch 3s ago}.
     */
    private static Optional<String> sidecar(Meta meta) {
        Optional<String> state = meta.get(SIDECAR + "state");
        if (state.isEmpty()) {
            return Optional.empty();
        }
        StringBuilder sb = new StringBuilder("Source: ").append(meta.get(SIDECAR + "source").orElse("?"));
        String rev = meta.get(SIDECAR + "revision").filter(r -> !r.isEmpty()).orElse(null);
        String since = meta.get(SIDECAR + "since").map(t -> " since " + t + " (" + ago(t) + ")").orElse("");
        String error = meta.get(SIDECAR + "error").filter(e -> !e.isEmpty()).map(e -> ": " + e).orElse("");
        switch (state.get()) {
            case "ok" -> sb.append(rev == null ? "" : ": revision " + rev).append(" ok");
            case "unreachable" -> sb.append(" unreachable").append(since).append(error);
            default -> sb.append(": revision ").append(rev).append(" is ").append(state.get()).append(since)
                    .append(error);
        }
        meta.get(SIDECAR + "fetched").ifPresent(f -> sb.append("; last fetch ").append(ago(f)));
        return Optional.of(sb.toString());
    }

    private static String ago(String instant) {
        try {
            return Durations.human(Duration.between(Instant.parse(instant), Instant.now())) + " ago";
        } catch (java.time.format.DateTimeParseException e) {
            return instant;
        }
    }

    /** Written as it is generated: a kind's part (a TrafficPolicy's million rules) is written, not held, here. */
    private static void json(Meta meta, List<PolicyStatus> policies, PrintWriter out) {
        ObjectMapper m = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();
        ObjectNode root = m.createObjectNode();
        root.put("revision", meta.revision().orElse(null));
        root.put("applied", meta.get("applied").orElse(null));
        if (meta.get(Meta.COMMIT_SUBJECT).isPresent()) {
            ObjectNode c = root.putObject("commit").put("id", meta.revision().orElse(null))
                    .put("subject", meta.get(Meta.COMMIT_SUBJECT).get())
                    .put("authorTime", meta.get(Meta.COMMIT_AUTHOR_TIME).orElse(null));
            meta.get(Meta.COMMIT_SIGNER).ifPresent(signer -> c.put("signer", signer));
        }
        if (meta.get(SIDECAR + "state").isPresent()) {
            ObjectNode sc = root.putObject("sidecar");
            for (String k : List.of("source", "head", "revision", "state", "error", "since", "fetched")) {
                meta.get(SIDECAR + k).ifPresent(v -> sc.put(k, v));
            }
        }
        ArrayNode ps = root.putArray("policies");
        for (PolicyStatus p : policies) {
            ObjectNode pn = ps.addObject().put("id", p.id()).put("digest", p.digest()).put("state", p.state());
            if (!p.reason().isEmpty()) {
                pn.put("reason", p.reason());
            }
            ArrayNode us = pn.putArray("units");
            for (UnitStatus u : p.units()) {
                ObjectNode un = us.addObject().put("unit", u.unit()).put("inSync", u.inSync());
                if (!u.reason().json().isEmpty()) {
                    un.put("reason", u.reason().json());
                }
                u.report().json().accept(un);
            }
        }
        try (JsonGenerator g = m.writer().without(StreamWriteFeature.AUTO_CLOSE_TARGET).createGenerator(out)) {
            g.writeTree(root);
        }
        out.print("\n");
    }
}
