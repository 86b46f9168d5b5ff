package dev.bpfgit.policy;

import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** {@code spec.hosts}: names are globs; a host is selected when one glob matches and it has every label. */
public record HostSelector(List<String> names, Map<String, String> labels) {
    public static final HostSelector ALL = new HostSelector(List.of(), Map.of());

    public HostSelector {
        names = List.copyOf(names);
        labels = Map.copyOf(labels);
    }

    public boolean selects(String hostname, Map<String, String> hostLabels) {
        boolean nameOk = names.isEmpty() || names.stream().anyMatch(g ->
                FileSystems.getDefault().getPathMatcher("glob:" + g).matches(Path.of(hostname)));
        return nameOk && labels.entrySet().stream().allMatch(e -> e.getValue().equals(hostLabels.get(e.getKey())));
    }
}
