package dev.bpfgit.policy;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostSelectorTest {
    @Test
    void differentValuesOfOneLabelNeverOverlap() {
        assertFalse(labels("region", "eu").mayOverlap(labels("region", "us")));
        assertTrue(labels("region", "eu").mayOverlap(labels("role", "edge")));
        assertTrue(labels("region", "eu").mayOverlap(HostSelector.ALL));
    }

    @Test
    void namesOverlapUnlessProvablyDisjoint() {
        assertFalse(names("edge-1").mayOverlap(names("edge-2")));
        assertTrue(names("edge-1").mayOverlap(names("edge-*")));
        assertFalse(names("core-1").mayOverlap(names("edge-*")));
        assertTrue(names("edge-*").mayOverlap(names("*-1")));   // two globs: assumed to meet
        assertTrue(names("edge-1").mayOverlap(HostSelector.ALL));
    }

    private static HostSelector labels(String k, String v) {
        return new HostSelector(List.of(), Map.of(k, v));
    }

    private static HostSelector names(String... globs) {
        return new HostSelector(List.of(globs), Map.of());
    }
}
