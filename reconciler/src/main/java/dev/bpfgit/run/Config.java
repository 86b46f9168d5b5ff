package dev.bpfgit.run;

import dev.bpfgit.source.GitSettings;
import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.policy.SettingsFile;

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
 * The daemon and CLI configuration ({@code config/bpfgit.yaml}, documented there; schema/config.schema.json).
 * Every field has a default, so an empty file means defaults; an unknown field is an error, not a default.
 */
public record Config(Path root, Optional<String> hostName, Map<String, String> labels, Optional<Path> sourcePath,
                     Optional<GitSettings> git, Duration interval, double jitter, boolean correctDrift,
                     String listen, int maxRuleSeries, Duration lockTimeout, boolean writeCounter,
                     Optional<Path> lastGood) {

    public static final Path DEFAULT_ROOT = Path.of("/sys/fs/bpf/bpfgit");
    /** How long a writing verb waits for another writer of the same pin root ({@code lock.timeout}). */
    public static final Duration DEFAULT_LOCK_TIMEOUT = Duration.ofSeconds(30);
    /** Series of per-rule counters a kind exports per scrape ({@code metrics.maxRuleSeries}). */
    public static final int DEFAULT_MAX_RULE_SERIES = 10_000;
    /**
     * Where a directory source's last applied revision is copied ({@code source.lastGood}): under the
     * systemd unit's StateDirectory, the DaemonSet's hostPath /var/lib/bpfgit.
     */
    public static final Path DEFAULT_LAST_GOOD = Path.of("/var/lib/bpfgit/lastgood");

    /** No copy of the last good revision kept ({@link #lastGood} empty). */
    public Config(Path root, Optional<String> hostName, Map<String, String> labels, Optional<Path> sourcePath,
                  Optional<GitSettings> git, Duration interval, double jitter, boolean correctDrift,
                  String listen, int maxRuleSeries, Duration lockTimeout, boolean writeCounter) {
        this(root, hostName, labels, sourcePath, git, interval, jitter, correctDrift, listen, maxRuleSeries,
                lockTimeout, writeCounter, Optional.empty());
    }

    /** Without the map write counter ({@code reconcile.writeCounter}, off by default). */
    public Config(Path root, Optional<String> hostName, Map<String, String> labels, Optional<Path> sourcePath,
                  Optional<GitSettings> git, Duration interval, double jitter, boolean correctDrift,
                  String listen, int maxRuleSeries, Duration lockTimeout) {
        this(root, hostName, labels, sourcePath, git, interval, jitter, correctDrift, listen, maxRuleSeries,
                lockTimeout, false);
    }

    /** A directory source (or none), the default lock timeout. */
    public Config(Path root, Optional<String> hostName, Map<String, String> labels, Optional<Path> sourcePath,
                  Duration interval, double jitter, boolean correctDrift, String listen) {
        this(root, hostName, labels, sourcePath, Optional.empty(), interval, jitter, correctDrift, listen,
                DEFAULT_MAX_RULE_SERIES, DEFAULT_LOCK_TIMEOUT);
    }

    public static Config defaults() {
        return new Config(DEFAULT_ROOT, Optional.empty(), Map.of(), Optional.empty(), Optional.empty(),
                Duration.ofSeconds(60), 0.1, true, "127.0.0.1:9753", DEFAULT_MAX_RULE_SERIES, DEFAULT_LOCK_TIMEOUT,
                false, Optional.of(DEFAULT_LAST_GOOD));
    }

    /**
     * @throws PolicyException          every mistake of the file against schema/config.schema.json (an unknown
     *                                  setting, a value of the wrong type), or a combination it cannot express,
     *                                  each with file:line:column and the field
     * @throws IllegalArgumentException when the file cannot be read
     */
    public static Config load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            // NoSuchFileException's message is only the path
            String why = e instanceof java.nio.file.NoSuchFileException ? "no such file"
                    : e instanceof java.nio.file.AccessDeniedException ? "permission denied" : e.getMessage();
            throw new IllegalArgumentException("read config " + file + ": " + why);
        }
        SettingsFile settings = SettingsFile.read(file.toString(), text, SettingsFile.CONFIG);
        Map<?, ?> m = settings.values();
        Config d = defaults();
        Map<?, ?> host = map(m.get("host"));
        Map<?, ?> source = map(m.get("source"));
        Map<?, ?> rec = map(m.get("reconcile"));
        Map<?, ?> metrics = map(m.get("metrics"));
        Map<?, ?> lock = map(m.get("lock"));
        Map<String, String> labels = new TreeMap<>();
        map(host.get("labels")).forEach((k, v) -> labels.put(String.valueOf(k), String.valueOf(v)));
        String drift = str(rec.get("drift"), "correct");
        if (m.get("source") != null && (source.get("path") == null) == (source.get("git") == null)) {
            throw settings.error("/source", "source needs exactly one of path (a directory) and git (a repository)");
        }
        if (source.get("lastGood") != null && source.get("path") == null) {
            throw settings.error("/source/lastGood", "source.lastGood is for a directory (source.path); a git"
                    + " source reads the last good commit again from source.git.cache");
        }
        return new Config(
                m.get("root") == null ? d.root() : Path.of(String.valueOf(m.get("root"))),
                Optional.ofNullable(host.get("name")).map(String::valueOf).filter(s -> !s.isBlank()),
                labels,
                Optional.ofNullable(source.get("path")).map(p -> relative(file, p)),
                source.get("git") == null ? Optional.empty() : Optional.of(gitSettings(map(source.get("git")), file,
                        settings)),
                rec.get("interval") == null ? d.interval() : Durations.parse(String.valueOf(rec.get("interval"))),
                rec.get("jitter") == null ? d.jitter() : ((Number) rec.get("jitter")).doubleValue(),
                drift.equals("correct"),
                str(metrics.get("listen"), d.listen()),
                metrics.get("maxRuleSeries") == null ? d.maxRuleSeries() : ((Number) metrics.get("maxRuleSeries")).intValue(),
                lock.get("timeout") == null ? d.lockTimeout() : Durations.parse(String.valueOf(lock.get("timeout"))),
                Boolean.TRUE.equals(rec.get("writeCounter")),
                source.get("lastGood") == null ? d.lastGood() : Optional.of(relative(file, source.get("lastGood"))));
    }

    private static GitSettings gitSettings(Map<?, ?> g, Path file, SettingsFile at) {
        String url = str(g.get("url"), "");
        if (url.isBlank()) {
            throw at.error("/source/git", "source.git.url is required");
        }
        if (!url.matches("(https|ssh|git|file)://.+")) {
            throw at.error("/source/git/url", "source.git.url must start with https://, ssh://, git:// or file://, not "
                    + url);
        }
        Map<?, ?> auth = map(g.get("auth"));
        GitSettings.Auth a;
        if (auth.get("tokenFile") != null) {
            if (auth.get("sshKey") != null || auth.get("knownHosts") != null) {
                throw at.error("/source/git/auth", "source.git.auth is either {sshKey, knownHosts} or {tokenFile},"
                        + " not both");
            }
            a = new GitSettings.Auth.Token(relative(file, auth.get("tokenFile")));
        } else if (auth.get("sshKey") != null || auth.get("knownHosts") != null) {
            if (auth.get("sshKey") == null || auth.get("knownHosts") == null) {
                throw at.error("/source/git/auth", "source.git.auth needs both sshKey and knownHosts (an unknown host"
                        + " key is refused)");
            }
            a = new GitSettings.Auth.SshKey(relative(file, auth.get("sshKey")), relative(file, auth.get("knownHosts")));
        } else {
            a = new GitSettings.Auth.None();
        }
        if (url.startsWith("ssh://") && !(a instanceof GitSettings.Auth.SshKey)) {
            throw at.error("/source/git/url", "source.git.url is ssh:// but source.git.auth has no {sshKey, knownHosts}");
        }
        Map<?, ?> verify = map(g.get("verify"));
        GitSettings.Verify v;
        if (verify.get("allowedSigners") != null && verify.get("openpgpKeys") != null) {
            throw at.error("/source/git/verify", "source.git.verify is either {allowedSigners} or {openpgpKeys}, not"
                    + " both");
        } else if (verify.get("allowedSigners") != null) {
            v = new GitSettings.Verify.AllowedSigners(relative(file, verify.get("allowedSigners")));
        } else if (verify.get("openpgpKeys") != null) {
            Object keys = verify.get("openpgpKeys");
            List<?> list = keys instanceof List<?> l ? l : List.of(keys);
            if (list.isEmpty()) {
                throw at.error("/source/git/verify/openpgpKeys", "source.git.verify.openpgpKeys lists no key file");
            }
            v = new GitSettings.Verify.OpenPgpKeys(list.stream().map(k -> relative(file, k)).toList());
        } else {
            v = new GitSettings.Verify.Off();
        }
        String field = "";
        try {
            field = "/source/git/interval";
            Duration interval = g.get("interval") == null ? GitSettings.DEFAULT_INTERVAL : positive(g.get("interval"));
            field = "/source/git/timeout";
            Duration timeout = g.get("timeout") == null ? GitSettings.DEFAULT_TIMEOUT : positive(g.get("timeout"));
            field = "/source/git";
            return new GitSettings(url, str(g.get("branch"), GitSettings.DEFAULT_BRANCH), str(g.get("path"), ""),
                    interval, timeout, a, v, g.get("cache") == null ? GitSettings.DEFAULT_CACHE
                    : relative(file, g.get("cache")));
        } catch (IllegalArgumentException e) {
            throw at.error(field, "source.git: " + e.getMessage());
        }
    }

    private static Duration positive(Object o) {
        Duration d = Durations.parse(String.valueOf(o));
        if (d.isZero()) {
            throw new IllegalArgumentException("'" + o + "' must be more than zero");
        }
        return d;
    }

    /** Paths in the file are relative to the file, like {@code source.path}. */
    private static Path relative(Path file, Object p) {
        return file.toAbsolutePath().getParent().resolve(String.valueOf(p)).normalize();
    }

    private static Map<?, ?> map(Object o) {
        return o instanceof Map<?, ?> m ? m : new LinkedHashMap<>();
    }

    private static String str(Object o, String dflt) {
        return o == null ? dflt : String.valueOf(o);
    }
}
