package dev.bpfgit.explain;

import dev.bpfgit.policy.Location;

import java.util.List;
import java.util.Optional;

/**
 * What happens to one address on this host, unit by unit. Kind-neutral, so that each kind answers in the
 * same shape and the renderers do not know kinds.
 *
 * @param address the address asked about, as the user wrote it normalised
 * @param source  where the answer comes from: {@code kernel}, {@code state FILE} or {@code revision REV}
 */
public record Explanation(String address, String source, List<Verdict> units) {
    public Explanation {
        units = List.copyOf(units);
    }

    /**
     * One unit's verdict for the address.
     *
     * @param unit     the unit's directory relative to the pin root, e.g. {@code traffic/eth0/xdp}
     * @param label    where it acts, e.g. {@code eth0, xdp}
     * @param matchOn  which address of a packet the unit's prefixes apply to ({@code source}, {@code destination})
     * @param prefix   the entry that matched; empty when none did and the unit's default decided
     * @param action   {@code pass}, {@code drop}, {@code redirect}, {@code mark}; {@code none} when the unit
     *                 is not in the kernel
     * @param verdict  the action with its argument, e.g. {@code redirect eth1}, {@code mark 0x2a}
     * @param policies the policy that owns the matched entry, or the policies sharing the unit for a default
     * @param counts   the matched entry's (or the default's) counters; empty when the source has none
     * @param declared with PATH: where the files declare the matched prefix (or the default)
     * @param files    with PATH: whether the kernel and the files agree for this address
     */
    public record Verdict(String kind, String unit, String label, String matchOn, Optional<String> prefix,
                          String action, Optional<String> target, Optional<Long> mark, String verdict,
                          List<String> policies, Optional<Counts> counts, Optional<Location> declared,
                          Optional<Agreement> files) {
        public Verdict {
            policies = List.copyOf(policies);
        }

        public boolean matched() {
            return prefix.isPresent();
        }
    }

    public record Counts(long packets, long bytes) {
    }

    /** @param detail for a drift, what differs, e.g. {@code kernel 10.0.0.0/24 drop, files 10.0.0.0/24 pass} */
    public record Agreement(boolean inSync, String detail) {
        public String word() {
            return inSync ? "in sync" : "drifted";
        }
    }
}
