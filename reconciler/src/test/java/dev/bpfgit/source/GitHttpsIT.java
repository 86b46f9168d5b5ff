package dev.bpfgit.source;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * https:// with a token file, against git http-backend behind Basic auth and TLS on 127.0.0.1 (a small
 * Python server the test starts, src/test/resources/git/https-git-server.py). The test trusts the server's
 * self-signed certificate through the JDK's default socket factory, which JGit's HTTP transport uses.
 */
class GitHttpsIT {
    private static final String TOKEN = "s3cret-token";
    @TempDir
    Path tmp;
    private Process server;
    private SSLSocketFactory before;
    private int port;
    private GitRepo repo;

    @BeforeEach
    void start() throws IOException, GeneralSecurityException {
        repo = new GitRepo(tmp.resolve("work"), tmp.resolve("home"));
        repo.write("policies/a.yaml", "kind: TrafficPolicy\n").commit("over https");
        Path srv = tmp.resolve("srv");
        GitRepo.run(tmp, repo.env(), List.of("git", "clone", "-q", "--bare", repo.dir.toString(),
                srv.resolve("policies.git").toString()));
        Path cert = tmp.resolve("cert.pem");
        Path key = tmp.resolve("key.pem");
        GitRepo.run(tmp, Map.of(), List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key.toString(),
                "-out", cert.toString()));
        before = HttpsURLConnection.getDefaultSSLSocketFactory();
        HttpsURLConnection.setDefaultSSLSocketFactory(trusting(cert));
        port = GitRepo.freePort();
        Path script = Path.of("src/test/resources/git/https-git-server.py").toAbsolutePath();
        server = new ProcessBuilder("python3", script.toString(), String.valueOf(port), cert.toString(),
                key.toString(), srv.toString(), TOKEN)
                .redirectErrorStream(true).redirectOutput(tmp.resolve("server.log").toFile()).start();
        GitRepo.awaitListening(port, server);
    }

    @AfterEach
    void stop() {
        GitRepo.stop(server);
        if (before != null) {
            HttpsURLConnection.setDefaultSSLSocketFactory(before);
        }
    }

    private static SSLSocketFactory trusting(Path cert) throws IOException, GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        try (InputStream in = Files.newInputStream(cert)) {
            ks.setCertificateEntry("test", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx.getSocketFactory();
    }

    private GitSource source(Path tokenFile) {
        return new GitSource(new GitSettings("https://127.0.0.1:" + port + "/policies.git", "main", "policies",
                Duration.ofSeconds(1), Duration.ofSeconds(10), new GitSettings.Auth.Token(tokenFile),
                new GitSettings.Verify.Off(), tmp.resolve("cache")));
    }

    @Test
    void theTokenFromItsFileOpensTheRepository() throws IOException {
        Path token = Files.writeString(tmp.resolve("token"), TOKEN + "\n");
        try (GitSource s = source(token)) {
            String head = s.head();
            assertEquals(repo.git("rev-parse", "main").strip(), head);
            Snapshot snap = s.read(head);
            assertEquals(Set.of("policies/a.yaml"), snap.files().keySet());
            assertEquals(1, s.fetches());
        }
    }

    @Test
    void aWrongTokenIsASourceErrorThatKeepsTheToken() throws IOException {
        Path token = Files.writeString(tmp.resolve("token"), "wrong\n");
        try (GitSource s = source(token)) {
            SourceException e = assertThrows(SourceException.class, s::head);
            assertTrue(e.getMessage().startsWith("git ls-remote https://127.0.0.1:" + port), e.getMessage());
            assertTrue(!e.getMessage().contains("wrong") && !e.getMessage().contains(TOKEN), e.getMessage());
        }
        try (GitSource s = source(tmp.resolve("absent"))) {
            SourceException e = assertThrows(SourceException.class, s::head);
            assertTrue(e.getMessage().startsWith("read token " + tmp.resolve("absent")), e.getMessage());
        }
    }
}
