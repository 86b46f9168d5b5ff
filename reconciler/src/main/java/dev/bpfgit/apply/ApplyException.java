package dev.bpfgit.apply;

import java.util.List;

/**
 * A step of a plan failed. Names the policies of the unit it belonged to; the cause (usually a
 * KernelException with operation, path and errno) says why.
 */
public final class ApplyException extends RuntimeException {
    private final List<String> policies;

    ApplyException(String label, List<String> policies, RuntimeException cause) {
        super("apply " + (policies.isEmpty() ? "" : String.join(", ", policies) + " ") + "(" + label + "): "
                + cause.getMessage(), cause);
        this.policies = List.copyOf(policies);
    }

    public List<String> policies() {
        return policies;
    }
}
