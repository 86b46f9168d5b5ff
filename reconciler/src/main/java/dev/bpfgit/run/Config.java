package dev.bpfgit.run;

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
                     Duration interval, double jitter, boolean correctDrift, String listen, int maxRuleSeries) {

    public static final Path DEFAULT_ROOT = Path.of("/sys/fs/bpf/bpfgit");

    public static Config defaults() {
        return new Config(DEFAULT_ROOT, Optional.empty(), Map.of(), Optional.empty(), Duration.ofSeconds(60), 0.1,
                true, "127.0.0.1:9753", 10_000);
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
        Map<String, String> labels = new TreeMap<>();
        map(host.get("labels"), file, "host.labels").forEach((k, v) -> labels.put(String.valueOf(k), String.valueOf(v)));
        String drift = str(rec.get("drift"), "correct");
        if (!List.of("correct", "report").contains(drift)) {
            throw new IllegalArgumentException(file + ": reconcile.drift must be correct or report, not " + drift);
        }
        return new Config(
                m.get("root") == null ? d.root() : Path.of(String.valueOf(m.get("root"))),
                Optional.ofNullable(host.get("name")).map(String::valueOf).filter(s -> !s.isBlank()),
                labels,
                Optional.ofNullable(source.get("path")).map(p -> file.toAbsolutePath().getParent()
                        .resolve(String.valueOf(p)).normalize()),
                rec.get("interval") == null ? d.interval() : Durations.parse(String.valueOf(rec.get("interval"))),
                rec.get("jitter") == null ? d.jitter() : Double.parseDouble(String.valueOf(rec.get("jitter"))),
                drift.equals("correct"),
                str(metrics.get("listen"), d.listen()),
                metrics.get("maxRuleSeries") == null ? d.maxRuleSeries()
                        : Integer.parseInt(String.valueOf(metrics.get("maxRuleSeries"))));
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
