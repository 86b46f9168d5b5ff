package dev.bpfgit.compile;

import dev.bpfgit.kernel.Feature;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The host's kernel lacks a feature that selected policies need and that nothing stands in for: raised by
 * compile, so {@code plan} (live, or against a {@code state export} of that host) reports it before
 * {@code apply} could fail half-way. One line per missing feature: the feature, the first upstream kernel
 * with it, and every policy it stops.
 */
public final class NotSupportedException extends RuntimeException {
    private final List<Missing> missing;

    /**
     * @param policies ids ({@code Kind/name}) with where each is declared ({@code file:line})
     */
    public record Missing(Feature feature, List<String> policies) {
        public Missing {
            policies = List.copyOf(policies);
        }

        /** {@code NotSupported(tcx links, Linux 6.6): ...}. */
        public String line(String kernel) {
            return "NotSupported(" + feature.description() + ", Linux " + feature.minKernel() + "): kernel "
                    + kernel + " does not have it; needed by " + String.join(", ", policies);
        }
    }

    public NotSupportedException(String kernel, List<Missing> missing) {
        super(missing.stream().map(m -> m.line(kernel)).collect(Collectors.joining("\n")));
        this.missing = List.copyOf(missing);
    }

    public List<Missing> missing() {
        return missing;
    }
}
