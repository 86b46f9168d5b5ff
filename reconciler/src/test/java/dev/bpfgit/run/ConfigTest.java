package dev.bpfgit.run;

import dev.bpfgit.policy.ErrorFormat;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.source.GitSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigTest {
    @TempDir
    Path tmp;

    private Config load(String yaml) throws IOException {
        Path f = tmp.resolve("bpfgit.yaml");
        Files.writeString(f, yaml);
        return Config.load(f);
    }

    /** The one error's message; it names the file, line and column and the field's pointer. */
    private String error(String yaml) {
        PolicyException e = assertThrows(PolicyException.class, () -> load(yaml));
        assertEquals(1, e.errors().size(), e.getMessage());
        PolicyError err = e.errors().getFirst();
        assertEquals(tmp.resolve("bpfgit.yaml").toString(), err.location().file());
        assertTrue(!err.pointer().isEmpty() && !err.pointer().contains("/"), e.getMessage());
        return err.message();
    }

    /** Every error of the file, as the CLI prints them. */
    private String errors(String yaml) {
        return ErrorFormat.text(assertThrows(PolicyException.class, () -> load(yaml)));
    }

    @Test
    void gitAsDesignSection6SpellsIt() throws IOException {
        Config c = load("""
                source:
                  git:
                    url: ssh://git@git.example.com/net/policies.git
                    branch: prod
                    path: hosts/edge/
                    interval: 1m
                    timeout: 5s
                    auth: {sshKey: keys/id_ed25519, knownHosts: /etc/bpfgit/known_hosts}
                    verify: {allowedSigners: allowed_signers}
                    cache: cache
                """);
        GitSettings g = c.git().orElseThrow();
        assertTrue(c.sourcePath().isEmpty());
        assertEquals(new GitSettings("ssh://git@git.example.com/net/policies.git", "prod", "hosts/edge",
                Duration.ofMinutes(1), Duration.ofSeconds(5),
                new GitSettings.Auth.SshKey(tmp.resolve("keys/id_ed25519"), Path.of("/etc/bpfgit/known_hosts")),
                new GitSettings.Verify.AllowedSigners(tmp.resolve("allowed_signers")), tmp.resolve("cache")), g);
    }

    @Test
    void gitDefaults() throws IOException {
        GitSettings g = load("source:\n  git:\n    url: https://git.example.com/p.git\n"
                + "    auth: {tokenFile: token}\n    verify: {openpgpKeys: [a.asc, /k/b.asc]}\n").git().orElseThrow();
        assertEquals("main", g.branch());
        assertEquals("", g.path());
        assertEquals(Duration.ofSeconds(30), g.interval());
        assertEquals(Duration.ofSeconds(20), g.timeout());
        assertEquals(Path.of("/var/lib/bpfgit/git"), g.cache());
        assertEquals(new GitSettings.Auth.Token(tmp.resolve("token")), g.auth());
        assertEquals(new GitSettings.Verify.OpenPgpKeys(List.of(tmp.resolve("a.asc"), Path.of("/k/b.asc"))),
                g.verify());
        GitSettings anon = load("source: {git: {url: git://127.0.0.1/p.git}}").git().orElseThrow();
        assertEquals(new GitSettings.Auth.None(), anon.auth());
        assertEquals("hosts/edge", load("source: {git: {url: file:///r, path: ./hosts//edge/}}").git().orElseThrow()
                .path());
        assertEquals("", load("source: {git: {url: file:///r, path: /}}").git().orElseThrow().path());
        assertEquals(new GitSettings.Verify.Off(), anon.verify());
    }

    @Test
    void exactlyOneSource() throws IOException {
        assertEquals("source needs exactly one of path (a directory) and git (a repository)",
                error("source:\n  path: p\n  git: {url: file:///r}\n"));
        assertEquals("source needs exactly one of path (a directory) and git (a repository)", error("source: {}\n"));
        Config dir = load("source: {path: policies}\n");
        assertEquals(tmp.resolve("policies"), dir.sourcePath().orElseThrow());
        assertTrue(dir.git().isEmpty());
        assertTrue(load("root: /sys/fs/bpf/x\n").git().isEmpty());
    }

    @Test
    void mistakesNameTheSetting() {
        assertEquals("source.git.url is required", error("source: {git: {branch: main}}"));
        assertEquals("source.git.url must start with https://, ssh://, git:// or file://, not git@h:p.git",
                error("source: {git: {url: 'git@h:p.git'}}"));
        assertTrue(error("source: {git: {url: file:///r, brnach: x}}").contains("unknown field (did you mean \"branch\"?)"),
                errors("source: {git: {url: file:///r, brnach: x}}"));
        assertEquals("source.git.url is ssh:// but source.git.auth has no {sshKey, knownHosts}",
                error("source: {git: {url: 'ssh://h/p.git'}}"));
        assertEquals("source.git.auth needs both sshKey and knownHosts (an unknown host key is refused)",
                error("source: {git: {url: 'ssh://h/p.git', auth: {sshKey: k}}}"));
        assertEquals("source.git.verify is either {allowedSigners} or {openpgpKeys}, not both",
                error("source: {git: {url: file:///r, verify: {allowedSigners: a, openpgpKeys: [b]}}}"));
        assertTrue(error("source: {git: {url: file:///r, interval: soon}}")
                .startsWith("must be a duration such as 500ms, 30s, 5m or 1h"));
        assertEquals("source.git: '0s' must be more than zero", error("source: {git: {url: file:///r, timeout: 0s}}"));
        assertEquals("source.git: 'a..b' is not a branch name", error("source: {git: {url: file:///r, branch: a..b}}"));
        assertEquals("source.git: path ../up leaves the repository",
                error("source: {git: {url: file:///r, path: ../up}}"));
    }

    /** Issue: bpfgit.yaml read strictly, as policies are (schema/config.schema.json). */
    @Test
    void unknownSettingsAndWrongTypesNameTheFileLineAndField() {
        String f = tmp.resolve("bpfgit.yaml").toString();
        assertEquals(f + ":3:14: error: reconcile.intervall: unknown field (did you mean \"interval\"?)\n",
                errors("root: /sys/fs/bpf/x\nreconcile:\n  intervall: 30s\n"));
        String wrong = errors("metrics:\n  listen: 127.0.0.1:9753\n  maxRuleSeries: lots\nreconcile: {jitter: 2,"
                + " drift: fix}\nlock: {timeout: 30}\n");
        assertTrue(wrong.contains(f + ":3:18: error: metrics.maxRuleSeries: must be an integer"), wrong);
        assertTrue(wrong.contains(f + ":4:21: error: reconcile.jitter: "), wrong);
        assertTrue(wrong.contains(f + ":4:31: error: reconcile.drift: must be one of correct, report (got "), wrong);
        assertTrue(wrong.contains(f + ":5:17: error: lock.timeout: must be a string"), wrong);
        assertEquals(4, wrong.lines().count(), wrong);
        String top = errors("sorce: {path: p}\n");
        assertTrue(top.startsWith(f + ":1:8: error: sorce: unknown field (did you mean \"source\"?)"), top);
        assertTrue(errors("- a list\n").contains("a configuration must be a mapping"));
        assertTrue(errors("root: [\n").startsWith(f + ":"));
        assertTrue(errors("root: /a\n---\nroot: /b\n").contains("one YAML document"));
    }

    @Test
    void anEmptyFileIsTheDefaults() throws IOException {
        assertEquals(Config.defaults(), load(""));
        assertEquals(Config.defaults(), load("# only a comment\n"));
        Config c = load("host: {name: edge-1, labels: {zone: 1, role: edge}}\nreconcile: {jitter: 0, interval: 2s}\n"
                + "metrics: {maxRuleSeries: 5}\n");
        assertEquals(java.util.Map.of("zone", "1", "role", "edge"), c.labels());
        assertEquals(0.0, c.jitter());
        assertEquals(5, c.maxRuleSeries());
    }

    /** The map write counter taxes every syscall of the host: only an explicit true loads it. */
    @Test
    void theWriteCounterIsOptIn() throws IOException {
        assertEquals(false, Config.defaults().writeCounter());
        assertEquals(false, load("reconcile: {interval: 2s}\n").writeCounter());
        assertEquals(true, load("reconcile: {writeCounter: true}\n").writeCounter());
        assertEquals(false, Config.load(Path.of(System.getProperty("user.dir")).getParent()
                .resolve("config/bpfgit.yaml")).writeCounter());
        String f = tmp.resolve("bpfgit.yaml").toString();
        assertTrue(errors("reconcile: {writeCounter: yes please}\n")
                .startsWith(f + ":1:27: error: reconcile.writeCounter: must be true or false"), errors("reconcile: {writeCounter: yes please}\n"));
    }

    /** A directory's copy of its last applied revision: under the state directory unless set; not for git. */
    @Test
    void lastGoodIsADirectorySetting() throws IOException {
        Path dflt = Path.of("/var/lib/bpfgit/lastgood");
        assertEquals(java.util.Optional.of(dflt), Config.defaults().lastGood());
        assertEquals(java.util.Optional.of(dflt), load("source: {path: p}\n").lastGood());
        assertEquals(java.util.Optional.of(tmp.resolve("state/lg")),
                load("source: {path: p, lastGood: state/lg}\n").lastGood());
        assertEquals(java.util.Optional.of(dflt), Config.load(Path.of(System.getProperty("user.dir")).getParent()
                .resolve("config/bpfgit.yaml")).lastGood());
        assertEquals("source.lastGood is for a directory (source.path); a git source reads the last good commit"
                + " again from source.git.cache", error("source: {git: {url: file:///r}, lastGood: /x}\n"));
        assertTrue(errors("source: {path: p, lastGood: 3}\n").contains("source.lastGood: must be a string"),
                errors("source: {path: p, lastGood: 3}\n"));
    }
}
