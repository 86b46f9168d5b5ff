package dev.bpfgit.run;

import dev.bpfgit.source.GitSettings;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The daemon and CLI configuration ({@code config/bpfgit.yaml}, documented there). Every field has a
 * default, so a missing file means defaults.
 */
public record Config(Path root, Optional<String> hostName, Map<String, String> labels, Optional<Path> sourcePath,
                     Optional<GitSettings> git, Duration interval, double jitter, boolean correctDrift,
                     String listen, int maxRuleSeries, Duration lockTimeout) {

    public static final Path DEFAULT_ROOT = Path.of("/sys/fs/bpf/bpfgit");
    /** How long a writing verb waits for another writer of the same pin root ({@code lock.timeout}). */
    public static final Duration DEFAULT_LOCK_TIMEOUT = Duration.ofSeconds(30);
    /** Series of per-rule counters a kind exports per scrape ({@code metrics.maxRuleSeries}). */
    public static final int DEFAULT_MAX_RULE_SERIES = 10_000;

    /** A directory source (or none), the default lock timeout. */
    public Config(Path root, Optional<String> hostName, Map<String, String> labels, Optional<Path> sourcePath,
                  Duration interval, double jitter, boolean correctDrift, String listen) {
        this(root, hostName, labels, sourcePath, Optional.empty(), interval, jitter, correctDrift, listen,
                DEFAULT_MAX_RULE_SERIES, DEFAULT_LOCK_TIMEOUT);
    }

    public static Config defaults() {
        return new Config(DEFAULT_ROOT, Optional.empty(), Map.of(), Optional.empty(), Optional.empty(),
                Duration.ofSeconds(60), 0.1, true, "127.0.0.1:9753", DEFAULT_MAX_RULE_SERIES, DEFAULT_LOCK_TIMEOUT);
    }

    public static Config load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("read config " + file + ": " + e.getMessage());
        }
        Object doc = new Load(LoadSettings.builder().setLabel(file.toString()).build()).loadFromString(text);
        Map<?, ?> m = doc instanceof Map<?, ?> mm ? mm : Map.of();
        Config d = defaults();
        Map<?, ?> host = map(m.get("host"), file, "host");
        Map<?, ?> source = map(m.get("source"), file, "source");
        Map<?, ?> rec = map(m.get("reconcile"), file, "reconcile");
        Map<?, ?> metrics = map(m.get("metrics"), file, "metrics");
        Map<?, ?> lock = map(m.get("lock"), file, "lock");
        Map<String, String> labels = new TreeMap<>();
        map(host.get("labels"), file, "host.labels").forEach((k, v) -> labels.put(String.valueOf(k), String.valueOf(v)));
        String drift = str(rec.get("drift"), "correct");
        if (!List.of("correct", "report").contains(drift)) {
            throw new IllegalArgumentException(file + ": reconcile.drift must be correct or report, not " + drift);
        }
        if (m.get("source") != null && (source.get("path") == null) == (source.get("git") == null)) {
            throw new IllegalArgumentException(file + ": source needs exactly one of path (a directory) and git"
                    + " (a repository)");
        }
        return new Config(
                m.get("root") == null ? d.root() : Path.of(String.valueOf(m.get("root"))),
                Optional.ofNullable(host.get("name")).map(String::valueOf).filter(s -> !s.isBlank()),
                labels,
                Optional.ofNullable(source.get("path")).map(p -> relative(file, p)),
                source.get("git") == null ? Optional.empty() : Optional.of(gitSettings(map(source.get("git"), file,
                        "source.git"), file)),
                rec.get("interval") == null ? d.interval() : Durations.parse(String.valueOf(rec.get("interval"))),
                rec.get("jitter") == null ? d.jitter() : Double.parseDouble(String.valueOf(rec.get("jitter"))),
                drift.equals("correct"),
                str(metrics.get("listen"), d.listen()),
                metrics.get("maxRuleSeries") == null ? d.maxRuleSeries()
                        : Integer.parseInt(String.valueOf(metrics.get("maxRuleSeries"))),
                lock.get("timeout") == null ? d.lockTimeout() : Durations.parse(String.valueOf(lock.get("timeout"))));
    }

    private static GitSettings gitSettings(Map<?, ?> g, Path file) {
        known(g, file, "source.git", "url", "branch", "path", "interval", "timeout", "auth", "verify", "cache");
        String url = str(g.get("url"), "");
        if (url.isBlank()) {
            throw new IllegalArgumentException(file + ": source.git.url is required");
        }
        if (!url.matches("(https|ssh|git|file)://.+")) {
            throw new IllegalArgumentException(file + ": source.git.url must start with https://, ssh://, git://"
                    + " or file://, not " + url);
        }
        Map<?, ?> auth = map(g.get("auth"), file, "source.git.auth");
        known(auth, file, "source.git.auth", "sshKey", "knownHosts", "tokenFile");
        GitSettings.Auth a;
        if (auth.get("tokenFile") != null) {
            if (auth.get("sshKey") != null || auth.get("knownHosts") != null) {
                throw new IllegalArgumentException(file + ": source.git.auth is either {sshKey, knownHosts} or"
                        + " {tokenFile}, not both");
            }
            a = new GitSettings.Auth.Token(relative(file, auth.get("tokenFile")));
        } else if (auth.get("sshKey") != null || auth.get("knownHosts") != null) {
            if (auth.get("sshKey") == null || auth.get("knownHosts") == null) {
                throw new IllegalArgumentException(file + ": source.git.auth needs both sshKey and knownHosts"
                        + " (an unknown host key is refused)");
            }
            a = new GitSettings.Auth.SshKey(relative(file, auth.get("sshKey")), relative(file, auth.get("knownHosts")));
        } else {
            a = new GitSettings.Auth.None();
        }
        if (url.startsWith("ssh://") && !(a instanceof GitSettings.Auth.SshKey)) {
            throw new IllegalArgumentException(file + ": source.git.url is ssh:// but source.git.auth has no"
                    + " {sshKey, knownHosts}");
        }
        Map<?, ?> verify = map(g.get("verify"), file, "source.git.verify");
        known(verify, file, "source.git.verify", "allowedSigners", "openpgpKeys");
        GitSettings.Verify v;
        if (verify.get("allowedSigners") != null && verify.get("openpgpKeys") != null) {
            throw new IllegalArgumentException(file + ": source.git.verify is either {allowedSigners} or"
                    + " {openpgpKeys}, not both");
        } else if (verify.get("allowedSigners") != null) {
            v = new GitSettings.Verify.AllowedSigners(relative(file, verify.get("allowedSigners")));
        } else if (verify.get("openpgpKeys") != null) {
            Object keys = verify.get("openpgpKeys");
            List<?> list = keys instanceof List<?> l ? l : List.of(keys);
            if (list.isEmpty()) {
                throw new IllegalArgumentException(file + ": source.git.verify.openpgpKeys lists no key file");
            }
            v = new GitSettings.Verify.OpenPgpKeys(list.stream().map(k -> relative(file, k)).toList());
        } else {
            v = new GitSettings.Verify.Off();
        }
        try {
            return new GitSettings(url, str(g.get("branch"), GitSettings.DEFAULT_BRANCH), str(g.get("path"), ""),
                    g.get("interval") == null ? GitSettings.DEFAULT_INTERVAL : positive(g.get("interval")),
                    g.get("timeout") == null ? GitSettings.DEFAULT_TIMEOUT : positive(g.get("timeout")),
                    a, v, g.get("cache") == null ? GitSettings.DEFAULT_CACHE : relative(file, g.get("cache")));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": source.git: " + e.getMessage());
        }
    }

    private static Duration positive(Object o) {
        Duration d = Durations.parse(String.valueOf(o));
        if (d.isZero()) {
            throw new IllegalArgumentException("'" + o + "' must be more than zero");
        }
        return d;
    }

    private static void known(Map<?, ?> m, Path file, String where, String... keys) {
        for (Object k : m.keySet()) {
            if (!List.of(keys).contains(String.valueOf(k))) {
                throw new IllegalArgumentException(file + ": " + where + "." + k + " is not a setting (" + String.join(
                        ", ", keys) + ")");
            }
        }
    }

    /** Paths in the file are relative to the file, like {@code source.path}. */
    private static Path relative(Path file, Object p) {
        return file.toAbsolutePath().getParent().resolve(String.valueOf(p)).normalize();
    }

    private static Map<?, ?> map(Object o, Path file, String what) {
        if (o == null) {
            return new LinkedHashMap<>();
        }
        if (o instanceof Map<?, ?> m) {
            return m;
        }
        throw new IllegalArgumentException(file + ": " + what + " must be a mapping");
    }

    private static String str(Object o, String dflt) {
        return o == null ? dflt : String.valueOf(o);
    }
}
