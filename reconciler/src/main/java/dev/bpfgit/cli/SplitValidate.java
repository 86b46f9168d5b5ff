package dev.bpfgit.cli;

import dev.bpfgit.kind.Kinds;
import dev.bpfgit.kind.PolicyKind;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.policy.PolicyLoader;
import dev.bpfgit.run.Ahead;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.Snapshot;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.IntConsumer;

/**
 * Parse and validate of a large directory on every core: the files split into contiguous runs (in the
 * loader's file order) of about equal size, each run loaded on a thread of its own with a loader of its own,
 * the first on the caller's. A file's result depends on its name and text only (PolicyLoader), so what
 * remains are the checks across files, run again over all the policies. Half of a cold 100k-rule apply is
 * this parse under C1; two files on two cores take about half the time.
 *
 * <p>Anything wrong in any run, or across runs, and the whole snapshot is loaded again the ordinary way
 * (as {@link Pipeline#validate}), so that errors, their order and their wording are exactly the serial path's:
 * only the valid case is faster, and an invalid large directory costs one more parse.
 */
final class SplitValidate {
    /** Below this many characters the second loader (its schema) and thread cost more than they save. */
    static final long MIN_CHARS = 512 * 1024;

    /**
     * Above this many characters (about 500k rules) the parse stays serial: runs parsed at once hold more at
     * once, and at 1M rules that was 100-150 MB more peak RSS (`validate`, bench/README.md, "The cold CLI,
     * fifth session"), against issue 12's RSS limit with the default heap. The cold target is at 100k.
     */
    static final long MAX_CHARS = 24L * 1024 * 1024;

    private SplitValidate() {
    }

    /**
     * The CLI's loader: one large file is read on every core but one (policy/SplitYaml), unless
     * {@code bpfgit.parse.threads} says otherwise. A fresh JVM's compiler threads need that core: on 2
     * cores, reading a 100,000-rule file on both was no faster cold (the parse waited for compiled code) and
     * cost 80 ms more CPU (bench/README.md, "One large file on several cores"); the warm sidecar uses both.
     * The schema it validates against is compiled once per process, whichever loader asks first.
     */
    private static final ThreadLocal<PolicyLoader> LOADER = ThreadLocal.withInitial(() -> new PolicyLoader()
            .splitting(Integer.getInteger("bpfgit.parse.threads", Runtime.getRuntime().availableProcessors() - 1)));

    private static List<Policy> serial(Snapshot snapshot, IntConsumer filesDone) {
        return LOADER.get().load(snapshot, filesDone);
    }

    static List<Policy> validate(Snapshot snapshot, IntConsumer filesDone) {
        return validate(snapshot, filesDone, Runtime.getRuntime().availableProcessors(), MIN_CHARS, MAX_CHARS);
    }

    static List<Policy> validate(Snapshot snapshot, IntConsumer filesDone, int cores, long minChars, long maxChars) {
        return load(snapshot, filesDone, cores, minChars, maxChars, policies -> policies, false);
    }

    /**
     * {@link #validate} and then {@code then} (the compile) of the valid policies, while the checks across runs
     * go on beside it on a thread of their own: after a split parse they were the only work before compiling,
     * on one core while the other had nothing left to do (100,000 rules: each prefix claimed once, about 40 ms
     * of a cold apply). {@code then} must be pure: when the checks fail, what it returned or threw is dropped
     * and the snapshot is loaded the serial way, whose errors come out exactly as from {@link #validate}.
     */
    static <T> T validateThen(Snapshot snapshot, IntConsumer filesDone, Function<List<Policy>, T> then) {
        return validateThen(snapshot, filesDone, Runtime.getRuntime().availableProcessors(), MIN_CHARS, MAX_CHARS,
                then);
    }

    static <T> T validateThen(Snapshot snapshot, IntConsumer filesDone, int cores, long minChars, long maxChars,
                              Function<List<Policy>, T> then) {
        return load(snapshot, filesDone, cores, minChars, maxChars, then, true);
    }

    private static <T> T load(Snapshot snapshot, IntConsumer filesDone, int cores, long minChars, long maxChars,
                              Function<List<Policy>, T> then, boolean acrossBeside) {
        List<Map<String, String>> runs = runs(new TreeMap<>(snapshot.files()), cores, minChars, maxChars);
        if (runs.size() < 2) {
            return then.apply(serial(snapshot, filesDone));
        }
        int[] done = new int[runs.size()];
        List<Ahead<List<Policy>>> others = new ArrayList<>();
        for (int i = 1; i < runs.size(); i++) {
            Snapshot part = new Snapshot(snapshot.revision(), runs.get(i), snapshot.commit());
            IntConsumer told = told(done, i, filesDone);
            others.add(Ahead.start("bpfgit-parse-" + i, () -> {
                try {
                    return new PolicyLoader().splitting(1).load(part, told);
                } catch (PolicyException e) {
                    return null;
                }
            }));
        }
        List<Policy> all = new ArrayList<>();
        boolean valid = true;
        try {
            all.addAll(serial(new Snapshot(snapshot.revision(), runs.get(0), snapshot.commit()),
                    told(done, 0, filesDone)));
        } catch (PolicyException e) {
            valid = false;
        }
        for (Ahead<List<Policy>> other : others) {
            List<Policy> got = other.get();   // waited for also when invalid: its core is the serial path's
            if (got == null) {
                valid = false;
            } else {
                all.addAll(got);
            }
        }
        if (!valid) {
            return then.apply(serial(snapshot, n -> { }));
        }
        List<Policy> policies = List.copyOf(all);
        if (!acrossBeside) {
            return then.apply(acrossValid(policies) ? policies : serial(snapshot, n -> { }));
        }
        Ahead<Boolean> across = Ahead.start("bpfgit-across", () -> acrossValid(policies));
        T result = null;
        RuntimeException failed = null;
        try {
            result = then.apply(policies);
        } catch (RuntimeException e) {
            failed = e;   // perhaps of a mistake across files: the serial path's error then, not this
        }
        if (across.get()) {
            if (failed != null) {
                throw failed;
            }
            return result;
        }
        return then.apply(serial(snapshot, n -> { }));
    }

    /**
     * The checks across files of PolicyLoader, over every run's policies: names unique per kind, and each
     * kind's own checks (without those of one policy alone, which its run's loader made: PolicyKind.passesAcross).
     * Only whether they pass: when one does not, the serial path reports it.
     */
    static boolean acrossValid(List<Policy> policies) {
        Set<String> ids = new HashSet<>();
        for (Policy p : policies) {
            if (!ids.add(p.id())) {
                return false;
            }
        }
        for (PolicyKind kind : Kinds.BUILT_IN.all()) {
            if (!kind.passesAcross(policies.stream().filter(p -> p.kind().equals(kind.name())).toList())) {
                return false;
            }
        }
        return true;
    }

    /** The progress of all runs as one count of files. */
    private static IntConsumer told(int[] done, int run, IntConsumer filesDone) {
        return n -> {
            int sum;
            synchronized (done) {
                done[run] = n;
                sum = 0;
                for (int d : done) {
                    sum += d;
                }
            }
            filesDone.accept(sum);
        };
    }

    /**
     * At most {@code cores} contiguous runs of files of about equal total length, each run at least
     * {@code minChars / 2} long; one run when the files are fewer than two, shorter than {@code minChars} or
     * longer than {@code maxChars}.
     */
    static List<Map<String, String>> runs(TreeMap<String, String> files, int cores, long minChars, long maxChars) {
        long total = 0;
        for (String text : files.values()) {
            total += text.length();
        }
        int k = (int) Math.min(Math.min(cores, files.size()), Math.max(1, total / Math.max(1, minChars / 2)));
        List<Map<String, String>> runs = new ArrayList<>();
        if (k < 2 || total < minChars || total > maxChars) {
            runs.add(files);
            return runs;
        }
        long sum = 0;
        int left = files.size();
        Map<String, String> run = new TreeMap<>();
        for (Map.Entry<String, String> f : files.entrySet()) {
            // a run ends where the files so far reach its share of the total, or where each later run needs
            // one of the files left
            int later = k - runs.size() - 1;
            if (!run.isEmpty() && later > 0 && (sum >= total * (runs.size() + 1) / k || left <= later)) {
                runs.add(run);
                run = new TreeMap<>();
            }
            run.put(f.getKey(), f.getValue());
            sum += f.getValue().length();
            left--;
        }
        runs.add(run);
        return runs;
    }
}
