package dev.bpfgit.policy;

/** The {@code spec} of one kind. Each kind (see dev.bpfgit.kind.PolicyKind) has its own record. */
public interface PolicySpec {
}
