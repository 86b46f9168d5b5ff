package dev.bpfgit.policy;

import java.util.List;
import java.util.stream.Collectors;

/** Every mistake found in a set of policy files, collected rather than stopping at the first. */
public final class PolicyException extends RuntimeException {
    private final List<PolicyError> errors;

    public PolicyException(List<PolicyError> errors) {
        super(errors.stream().map(PolicyError::toString).collect(Collectors.joining("\n")));
        this.errors = List.copyOf(errors);
    }

    public List<PolicyError> errors() {
        return errors;
    }
}
