package dev.bpfgit.compile;

import java.nio.charset.StandardCharsets;

/** The 32-bit id of a policy stored in map values: the first four bytes of SHA-256("Kind/name"), never 0. */
public final class PolicyIds {
    private PolicyIds() {
    }

    public static int of(String policyId) {
        byte[] d = Sha256.fresh().digest(policyId.getBytes(StandardCharsets.UTF_8));
        int id = ((d[0] & 0xff) << 24) | ((d[1] & 0xff) << 16) | ((d[2] & 0xff) << 8) | (d[3] & 0xff);
        return id == 0 ? 1 : id;
    }
}
