package dev.bpfgit.kernel;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A compiled BPF ELF object, e.g. {@code traffic.bpf.o}, held in memory. Its identity is the SHA-256 of the
 * bytes: a program loaded from it is "the same program" exactly when the digest is.
 */
public final class ObjectFile {
    private final String name;
    private final byte[] elf;
    private final String sha256;

    public ObjectFile(String name, byte[] elf) {
        this.name = Objects.requireNonNull(name);
        this.elf = elf.clone();
        try {
            this.sha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(elf));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public String name() {
        return name;
    }

    public byte[] elf() {
        return elf.clone();
    }

    public String sha256() {
        return sha256;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ObjectFile other && name.equals(other.name) && sha256.equals(other.sha256);
    }

    @Override
    public int hashCode() {
        return sha256.hashCode();
    }

    @Override
    public String toString() {
        return name + "@" + sha256.substring(0, 12);
    }
}
