package dev.bpfgit.kernel.linux;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BulkSha256Test {
    @Test
    void libcryptoIsUsedWhereTheHostHasIt() {
        boolean has = Files.exists(Path.of("/lib/x86_64-linux-gnu/libcrypto.so.3"))
                || Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libcrypto.so.3"));
        if (has) {
            assertTrue(BulkSha256.isNative(), "libcrypto.so.3 is there but BulkSha256 did not link it");
        }
    }

    private static MessageDigest jdk() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void sameDigestsAsTheJdksOverSplitUpdates() {
        Random r = new Random(15);
        for (int i = 0; i < 300; i++) {
            int n = i < 130 ? i : r.nextInt(200_000);
            byte[] data = new byte[n + 20];
            r.nextBytes(data);
            int off = r.nextInt(10);
            MessageDigest bulk = BulkSha256.fresh();
            MessageDigest jdk = jdk();
            int at = off;
            while (at < off + n) {   // updates of every size, single bytes among them, at an offset in the array
                int len = Math.min(off + n - at, r.nextInt(4) == 0 ? 1 : r.nextInt(9000));
                if (len == 1 && r.nextBoolean()) {
                    bulk.update(data[at]);
                    jdk.update(data[at]);
                } else {
                    bulk.update(data, at, len);
                    jdk.update(data, at, len);
                }
                at += len;
            }
            assertArrayEquals(jdk.digest(), bulk.digest(), "length " + n);
            // digest() resets: the next digest starts from nothing
            bulk.update(data, 0, 3);
            jdk.update(data, 0, 3);
            assertArrayEquals(jdk.digest(), bulk.digest(), "after a reset");
        }
    }
}
