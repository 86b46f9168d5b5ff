package dev.bpfgit.observe;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * The digest of a live state ({@link LiveState#basis()}), computed the first time it is asked for. Only a
 * saved or checked plan needs it ({@code plan -o json}, {@code apply --plan}); a SHA-256 over every entry of
 * every map is a tenth of a warm 10k reconcile that nothing else reads. What it digests is the observation's
 * own immutable contents, so when it is computed does not change its value; the contents are let go once it is.
 * Equal when the digests are.
 */
public final class Basis {
    private Supplier<String> compute;
    private String value;

    private Basis(Supplier<String> compute, String value) {
        this.compute = compute;
        this.value = value;
    }

    /** A digest known already (read from a saved plan). */
    public static Basis of(String value) {
        return new Basis(null, Objects.requireNonNull(value));
    }

    /** A digest computed by {@code compute} when first asked for. */
    public static Basis lazy(Supplier<String> compute) {
        return new Basis(Objects.requireNonNull(compute), null);
    }

    public synchronized String value() {
        if (value == null) {
            value = Objects.requireNonNull(compute.get());
            compute = null;
        }
        return value;
    }

    /** Whether the digest has been computed (for tests: the warm reconcile must not). */
    public synchronized boolean computed() {
        return value != null;
    }

    @Override
    public boolean equals(Object o) {
        return o == this || o instanceof Basis b && value().equals(b.value());
    }

    @Override
    public int hashCode() {
        return value().hashCode();
    }

    @Override
    public String toString() {
        return value();
    }
}
