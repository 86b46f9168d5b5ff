package dev.bpfgit.policy;

/** The {@code spec} of one kind. A new kind adds a record here, a schema and a compiler. */
public sealed interface PolicySpec permits TrafficPolicySpec {
}
