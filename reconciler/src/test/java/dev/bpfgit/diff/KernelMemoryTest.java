package dev.bpfgit.diff;

import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

class KernelMemoryTest {
    private static MapSpec lpm(int keySize) {
        return new MapSpec("rules", MapType.LPM_TRIE, keySize, 24, 1_245_184, MapSpec.BPF_F_NO_PREALLOC,
                Optional.empty());
    }

    @Test
    void lpmTriesCostWhatTheyHoldAtTheMeasuredRate() {
        // the geo table: 561,828 IPv4 and 595,148 IPv6 prefixes (README, Geo-routing)
        assertEquals(Optional.of("kernel memory about 77.2 MiB"), KernelMemory.note(lpm(8), 561_828));
        assertEquals(Optional.of("kernel memory about 118 MiB"), KernelMemory.note(lpm(20), 595_148));
        assertEquals(Optional.of("kernel memory about 13.7 MiB"), KernelMemory.note(lpm(8), 100_000));
    }

    @Test
    void smallMapsGetNoNote() {
        assertEquals(Optional.empty(), KernelMemory.note(lpm(8), 3));
        assertEquals(Optional.empty(), KernelMemory.note(new MapSpec("counters", MapType.PERCPU_ARRAY, 4, 24,
                16_385, 0, Optional.empty()), 16_385));
        assertEquals(Optional.empty(), KernelMemory.note(new MapSpec("h", MapType.HASH, 4, 24, 10_000_000, 0,
                Optional.empty()), 10_000_000));
    }

    @Test
    void perCpuArraysArePreallocatedPerCpu() {
        MapSpec counters = new MapSpec("counters", MapType.PERCPU_ARRAY, 4, 24, 1_245_185, 0, Optional.empty());
        assertEquals(Optional.of("kernel memory about 28.5 MiB per CPU + 9.5 MiB"), KernelMemory.note(counters, 0));
    }
}
