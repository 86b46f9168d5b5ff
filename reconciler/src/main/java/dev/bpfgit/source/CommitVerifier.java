package dev.bpfgit.source;

import org.bouncycastle.bcpg.ArmoredInputStream;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyRing;
import org.bouncycastle.openpgp.PGPPublicKeyRingCollection;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPSignatureList;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.bc.BcPGPObjectFactory;
import org.bouncycastle.openpgp.operator.bc.BcKeyFingerprintCalculator;
import org.bouncycastle.openpgp.operator.bc.BcPGPContentVerifierBuilderProvider;
import org.eclipse.jgit.lib.Config;
import org.eclipse.jgit.lib.GpgConfig;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.lib.SignatureVerifier;
import org.eclipse.jgit.lib.SignatureVerifiers;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.util.RawParseUtils;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Decides whether a commit may be applied (design §6, {@code verify}). SSH signatures go through JGit's own
 * verifier, given the allowed-signers file in a private configuration; OpenPGP signatures through
 * BouncyCastle against the configured key files, because JGit's OpenPGP verifier only reads the user's
 * keyring.
 */
final class CommitVerifier {
    private static final byte[] GPGSIG = "gpgsig".getBytes(StandardCharsets.US_ASCII);
    private final GitSettings.Verify verify;

    CommitVerifier(GitSettings.Verify verify) {
        this.verify = verify;
    }

    /**
     * @return who signed it (principal and key fingerprint), empty when verification is off
     * @throws RefusedRevisionException when the commit is unsigned or its signature is not trusted
     * @throws SourceException          when the trusted keys cannot be read
     */
    Optional<String> check(Repository repo, RevCommit commit) {
        return switch (verify) {
            case GitSettings.Verify.Off o -> Optional.empty();
            case GitSettings.Verify.AllowedSigners a -> Optional.of(ssh(repo, commit, a.file()));
            case GitSettings.Verify.OpenPgpKeys k -> Optional.of(openPgp(commit, k.files()));
        };
    }

    private static String ssh(Repository repo, RevCommit commit, Path allowedSigners) {
        byte[] sig = signature(commit, GpgConfig.GpgFormat.SSH, "verify.allowedSigners");
        if (!Files.isReadable(allowedSigners)) {
            throw new SourceException("read allowed signers " + allowedSigners + ": no such file or not readable");
        }
        Config c = new Config();
        c.setString("gpg", "ssh", "allowedSignersFile", allowedSigners.toAbsolutePath().toString());
        SignatureVerifier verifier = SignatureVerifiers.get(GpgConfig.GpgFormat.SSH);
        if (verifier == null) {
            throw new IllegalStateException("JGit's SSH signature verifier (org.eclipse.jgit.ssh.apache) is missing");
        }
        // JGit caches parsed allowed-signers files; an operator's edit must count from the next commit on
        verifier.clear();
        SignatureVerifier.SignatureVerification v;
        try {
            v = verifier.verify(repo, new GpgConfig(c), payload(commit), sig);
        } catch (IOException | RuntimeException e) {
            throw new SourceException("verify SSH signature of " + commit.name() + ": " + e.getMessage(), e);
        }
        String key = v.keyFingerprint() == null ? "an unreadable key" : v.keyFingerprint();
        if (!v.verified() || v.trustLevel() != SignatureVerifier.TrustLevel.FULL) {
            String why = v.message() == null ? "not trusted" : v.message();
            throw new RefusedRevisionException(commit.name(), "SSH signature by " + key + " not accepted by "
                    + allowedSigners + ": " + why);
        }
        return v.keyUser() + " " + key;
    }

    private static String openPgp(RevCommit commit, List<Path> keyFiles) {
        byte[] sig = signature(commit, GpgConfig.GpgFormat.OPENPGP, "verify.openpgpKeys");
        List<PGPPublicKeyRingCollection> keys = new ArrayList<>();
        for (Path f : keyFiles) {
            keys.add(keyRing(f));
        }
        PGPSignature s;
        try (InputStream in = PGPUtil.getDecoderStream(new ByteArrayInputStream(sig))) {
            Object o = new BcPGPObjectFactory(in).nextObject();
            if (!(o instanceof PGPSignatureList list) || list.isEmpty()) {
                throw new RefusedRevisionException(commit.name(), "the OpenPGP signature holds no signature packet");
            }
            s = list.get(0);
        } catch (IOException e) {
            throw new RefusedRevisionException(commit.name(), "unreadable OpenPGP signature: " + e.getMessage());
        }
        PGPPublicKey key = null;
        for (PGPPublicKeyRingCollection c : keys) {
            key = key != null ? key : c.getPublicKey(s.getKeyID());
        }
        String keyId = String.format("%016X", s.getKeyID());
        if (key == null) {
            throw new RefusedRevisionException(commit.name(), "signed by OpenPGP key " + keyId
                    + ", which verify.openpgpKeys does not list");
        }
        String fpr = HexFormat.of().withUpperCase().formatHex(key.getFingerprint());
        try {
            s.init(new BcPGPContentVerifierBuilderProvider(), key);
            s.update(payload(commit));
            if (!s.verify()) {
                throw new RefusedRevisionException(commit.name(), "bad OpenPGP signature by key " + fpr);
            }
        } catch (PGPException e) {
            throw new RefusedRevisionException(commit.name(), "OpenPGP signature by key " + fpr + " does not verify: "
                    + e.getMessage());
        }
        if (key.hasRevocation()) {
            throw new RefusedRevisionException(commit.name(), "signed by OpenPGP key " + fpr + ", which is revoked");
        }
        long valid = key.getValidSeconds();
        if (valid > 0 && s.getCreationTime().toInstant().isAfter(key.getCreationTime().toInstant().plusSeconds(valid))) {
            throw new RefusedRevisionException(commit.name(), "signed by OpenPGP key " + fpr + " after it expired");
        }
        return userId(keys, s.getKeyID()).map(u -> u + " ").orElse("") + fpr;
    }

    /** The raw armored signature, or a refusal when there is none or it is of the other kind. */
    private static byte[] signature(RevCommit commit, GpgConfig.GpgFormat wanted, String setting) {
        byte[] sig = commit.getRawGpgSignature();
        if (sig == null) {
            throw new RefusedRevisionException(commit.name(), "not signed");
        }
        GpgConfig.GpgFormat format = SignatureVerifiers.getFormat(sig);
        if (format != wanted) {
            throw new RefusedRevisionException(commit.name(), "signed with "
                    + (format == null ? "an unknown kind of signature" : kind(format)) + ", but " + setting
                    + " trusts " + kind(wanted) + " signatures only");
        }
        return sig;
    }

    private static String kind(GpgConfig.GpgFormat f) {
        return f == GpgConfig.GpgFormat.OPENPGP ? "OpenPGP" : f.name().toUpperCase(Locale.ROOT);
    }

    /** What was signed: the commit object without its gpgsig header (and that header's continuation lines). */
    static byte[] payload(RevCommit commit) {
        byte[] raw = commit.getRawBuffer();
        int value = RawParseUtils.headerStart(GPGSIG, raw, 0);
        if (value < 0) {
            return raw;
        }
        int from = value - GPGSIG.length - 1;
        int to = Math.min(raw.length, RawParseUtils.nextLfSkippingSplitLines(raw, value) + 1);
        byte[] out = new byte[raw.length - (to - from)];
        System.arraycopy(raw, 0, out, 0, from);
        System.arraycopy(raw, to, out, from, raw.length - to);
        return out;
    }

    private static PGPPublicKeyRingCollection keyRing(Path file) {
        try (InputStream in = PGPUtil.getDecoderStream(Files.newInputStream(file))) {
            if (!(in instanceof ArmoredInputStream)) {
                throw new SourceException("read OpenPGP key " + file + ": not an armored public key"
                        + " (gpg --armor --export)");
            }
            return new PGPPublicKeyRingCollection(in, new BcKeyFingerprintCalculator());
        } catch (NoSuchFileException e) {
            throw new SourceException("read OpenPGP key " + file + ": no such file", e);
        } catch (IOException | PGPException e) {
            throw new SourceException("read OpenPGP key " + file + ": " + e.getMessage(), e);
        }
    }

    private static Optional<String> userId(List<PGPPublicKeyRingCollection> keys, long keyId) {
        for (PGPPublicKeyRingCollection c : keys) {
            PGPPublicKeyRing ring = c.getPublicKeyRing(keyId);
            if (ring != null) {
                Iterator<String> ids = ring.getPublicKey().getUserIDs();
                return ids.hasNext() ? Optional.of(ids.next()) : Optional.empty();
            }
        }
        return Optional.empty();
    }
}
