package dev.bpfgit.source;

import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.api.errors.JGitInternalException;
import org.eclipse.jgit.errors.NoRemoteRepositoryException;
import org.eclipse.jgit.errors.NotSupportedException;
import org.eclipse.jgit.errors.TransportException;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.lib.StoredConfig;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.transport.CredentialsProvider;
import org.eclipse.jgit.transport.FetchConnection;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.SshTransport;
import org.eclipse.jgit.transport.TagOpt;
import org.eclipse.jgit.transport.Transport;
import org.eclipse.jgit.transport.URIish;
import org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider;
import org.eclipse.jgit.transport.sshd.SshdSessionFactory;
import org.eclipse.jgit.transport.sshd.SshdSessionFactoryBuilder;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * One branch of a git repository as a {@link PolicySource} (design §6). {@link #head} asks the remote for
 * that one ref and nothing else; {@link #read} fetches the commit shallowly (depth 1) into a bare clone under
 * the configured cache, which survives restarts (a restart at the same commit fetches nothing), checks its
 * signature and reads the policy files from its tree. A clone that cannot be used (corrupt, or made for
 * another URL) is deleted and cloned again.
 */
public final class GitSource implements PolicySource {
    private static final Logger LOG = LoggerFactory.getLogger(GitSource.class);
    private static final int MAX_PACKS = 8;
    private final GitSettings settings;
    private final URIish uri;
    private final String ref;
    private final Path dir;
    private final CommitVerifier verifier;
    private SshdSessionFactory ssh;
    private Repository repo;
    private int fetches;

    public GitSource(GitSettings settings) {
        JGitProcess.configure();
        this.settings = settings;
        try {
            this.uri = new URIish(settings.url());
        } catch (URISyntaxException e) {
            throw new SourceException("git url " + settings.url() + ": " + e.getMessage(), e);
        }
        this.ref = Constants.R_HEADS + settings.branch();
        this.dir = settings.cache().resolve(cacheName(settings));
        this.verifier = new CommitVerifier(settings.verify());
    }

    @Override
    public String head() {
        try (Transport t = Transport.open(uri)) {
            configure(t);
            try (FetchConnection c = t.openFetch(List.of(new RefSpec(ref)))) {
                Ref r = c.getRef(ref);
                if (r == null || r.getObjectId() == null) {
                    throw new SourceException("git " + shown() + ": no branch " + settings.branch());
                }
                return r.getObjectId().name();
            }
        } catch (NotSupportedException | TransportException e) {
            throw new SourceException("git ls-remote " + shown() + " " + settings.branch() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Snapshot read(String head) {
        if (!ObjectId.isId(head)) {
            throw new IllegalArgumentException("not a commit id: " + head);
        }
        ObjectId want = ObjectId.fromString(head);
        for (int attempt = 0; ; attempt++) {
            try {
                RevCommit c = commit(want);
                return snapshot(repo, c);
            } catch (IOException | GitAPIException | JGitInternalException | IllegalArgumentException e) {
                // our own SourceExceptions (refused, not UTF-8, no such directory, token file) pass through:
                // they say nothing about the clone
                if (attempt > 0 || network(e)) {
                    throw new SourceException("git fetch " + shown() + " " + settings.branch() + ": " + message(e), e);
                }
                LOG.warn("git cache {} is unusable ({}): cloning again", dir, message(e));
                wipe();
            }
        }
    }

    /**
     * The commit {@code revision} from the local clone, which kept it from when it was read; fetched by id
     * when the clone lost it (a new cache, or a repack dropped it). Checked for a signature like a head.
     */
    @Override
    public Optional<Snapshot> readRevision(String revision) {
        if (!ObjectId.isId(revision)) {
            return Optional.empty();
        }
        ObjectId id = ObjectId.fromString(revision);
        try {
            Repository r = repository();
            if (!r.getObjectDatabase().has(id)) {
                fetchCommit(r, id);
            }
            try (RevWalk walk = new RevWalk(r)) {
                return Optional.of(snapshot(r, walk.parseCommit(id)));
            }
        } catch (IOException | GitAPIException | JGitInternalException e) {
            throw new SourceException("git read commit " + revision + " from " + shown() + ": " + message(e), e);
        }
    }

    /**
     * One commit by id, without history (servers allow a reachable commit id in a protocol v2 want), kept
     * reachable from a ref of its own so that a repack does not drop it again.
     */
    private void fetchCommit(Repository r, ObjectId id) throws GitAPIException {
        try (Git git = new Git(r)) {
            shallowFetch(git, new RefSpec("+" + id.name() + ":refs/bpfgit/revision"));
        }
    }

    private void shallowFetch(Git git, RefSpec spec) throws GitAPIException {
        git.fetch().setRemote(settings.url())
                .setRefSpecs(spec)
                .setDepth(1)
                .setTagOpt(TagOpt.NO_TAGS)
                .setTimeout(seconds())
                .setCredentialsProvider(credentials())
                .setTransportConfigCallback(this::configure)
                .call();
        fetches++;
    }

    /** How many fetches this source made: an unchanged head must not add one. */
    int fetches() {
        return fetches;
    }

    /** The local clone's directory. */
    Path cacheDir() {
        return dir;
    }

    @Override
    public String describe() {
        return "git " + shown() + " " + settings.branch() + (settings.path().isEmpty() ? "" : ":" + settings.path());
    }

    @Override
    public void close() {
        if (repo != null) {
            repo.close();
            repo = null;
        }
        if (ssh != null) {
            ssh.close();
            ssh = null;
        }
    }

    /** The commit {@code want}, fetched when the clone does not have it yet. */
    private RevCommit commit(ObjectId want) throws IOException, GitAPIException {
        Repository r = repository();
        if (!r.getObjectDatabase().has(want)) {
            fetch(r);
            if (!r.getObjectDatabase().has(want)) {
                // the branch moved between head() and the fetch: read what the fetch brought
                ObjectId got = r.resolve(Constants.R_REMOTES + "origin/" + settings.branch());
                if (got == null) {
                    throw new SourceException("git fetch " + shown() + " " + settings.branch() + ": no such branch");
                }
                if (!got.equals(want)) {
                    LOG.info("git {} {}: moved from {} to {} while fetching", shown(), settings.branch(),
                            want.name(), got.name());
                }
                want = got;
            }
        }
        try (RevWalk walk = new RevWalk(r)) {
            return walk.parseCommit(want);
        }
    }

    private void fetch(Repository r) throws GitAPIException {
        long start = System.nanoTime();
        try (Git git = new Git(r)) {
            shallowFetch(git, new RefSpec("+" + ref + ":" + Constants.R_REMOTES + "origin/" + settings.branch()));
            ObjectId got = r.resolve(Constants.R_REMOTES + "origin/" + settings.branch());
            LOG.info("fetched {} {} at {} in {} ms", shown(), settings.branch(), got == null ? "?" : got.name(),
                    (System.nanoTime() - start) / 1_000_000);
            // every fetch adds a pack, and each new commit leaves the previous one unreachable: repack now and
            // then, in this thread (JGit's automatic gc runs in the background and is off in the clone)
            try (Stream<Path> packs = Files.list(dir.resolve("objects/pack"))) {
                if (packs.filter(p -> p.toString().endsWith(".pack")).count() > MAX_PACKS) {
                    git.gc().call();
                }
            } catch (IOException e) {
                LOG.warn("git cache {}: cannot count packs: {}", dir, e.getMessage());
            }
        } catch (IOException e) {
            throw new JGitInternalException("read the fetched ref: " + e.getMessage(), e);
        }
    }

    private Snapshot snapshot(Repository r, RevCommit c) throws IOException {
        Optional<String> signer = verifier.check(r, c);
        String base = settings.path();
        if (!base.isEmpty()) {
            try (TreeWalk dirWalk = TreeWalk.forPath(r, base, c.getTree())) {
                if (dirWalk == null || dirWalk.getFileMode(0) != FileMode.TREE) {
                    throw new SourceException("commit " + c.name() + " has no directory " + base);
                }
            }
        }
        // named by their path in the repository; refused files (not UTF-8, too large, links out of the
        // path, submodules) are an InvalidFilesException, with the same words as from a directory
        Map<String, String> files = GitRevisionSource.treeFiles(r, c, base,
                inside -> base.isEmpty() ? inside : base + "/" + inside);
        Commit unsigned = GitRevisionSource.commit(c);
        Commit commit = new Commit(unsigned.id(), unsigned.subject(), unsigned.author(), unsigned.authorTime(), signer);
        return new Snapshot(c.name(), files, Optional.of(commit));
    }

    /** The clone, opened once; made (bare) when missing, re-made when it was made for another remote. */
    private Repository repository() throws IOException, GitAPIException {
        if (repo != null) {
            return repo;
        }
        if (Files.isDirectory(dir)) {
            String problem;
            try {
                Repository r = new FileRepositoryBuilder().setGitDir(dir.toFile()).setMustExist(true).build();
                StoredConfig c = r.getConfig();
                if (settings.url().equals(c.getString("bpfgit", null, "url"))
                        && settings.branch().equals(c.getString("bpfgit", null, "branch"))
                        && r.getObjectDatabase().exists()) {
                    repo = r;
                    return r;
                }
                r.close();
                problem = "was made for another remote";
            } catch (IOException | IllegalArgumentException e) {
                // JGit reports an unparsable config as IllegalArgumentException
                problem = "is unreadable (" + message(e) + ")";
            }
            LOG.warn("git cache {} {}: cloning again", dir, problem);
            wipe();
        }
        Files.createDirectories(dir.getParent());
        Repository r = Git.init().setBare(true).setDirectory(dir.toFile()).setInitialBranch(settings.branch())
                .call().getRepository();
        StoredConfig c = r.getConfig();
        c.setString("bpfgit", null, "url", settings.url());
        c.setString("bpfgit", null, "branch", settings.branch());
        // no background gc racing with a re-clone; the explicit one below drops replaced packs at once
        c.setInt("gc", null, "auto", 0);
        c.setBoolean("gc", null, "autoDetach", false);
        c.setString("gc", null, "pruneExpire", "now");
        c.setString("gc", null, "prunePackExpire", "now");
        c.save();
        repo = r;
        return r;
    }

    private void wipe() {
        if (repo != null) {
            repo.close();
            repo = null;
        }
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new SourceException("delete unusable git cache " + dir + ": " + e.getMessage(), e);
        }
    }

    private void configure(Transport t) {
        t.setTimeout(seconds());
        t.setCredentialsProvider(credentials());
        if (t instanceof SshTransport s) {
            s.setSshSessionFactory(ssh());
        }
    }

    private int seconds() {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, settings.timeout().toSeconds()));
    }

    /** The token is read at every connection, so that a rotated token needs no restart. */
    private CredentialsProvider credentials() {
        if (!(settings.auth() instanceof GitSettings.Auth.Token(Path file))) {
            return null;
        }
        try {
            String token = Files.readString(file).strip();
            if (token.isEmpty()) {
                throw new SourceException("read token " + file + ": the file is empty");
            }
            // GitHub and Gitea take the token as the password of any user; GitLab of any non-empty one
            return new UsernamePasswordCredentialsProvider("x-access-token", token);
        } catch (IOException e) {
            throw new SourceException("read token " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * SSH through Apache MINA sshd with only the configured key and known_hosts: nothing of the user's
     * {@code ~/.ssh} (config, keys, agent) takes part, and a host key not in known_hosts is refused.
     */
    private SshdSessionFactory ssh() {
        if (ssh == null) {
            if (!(settings.auth() instanceof GitSettings.Auth.SshKey(Path key, Path knownHosts))) {
                throw new SourceException("git " + shown() + ": ssh:// needs source.git.auth {sshKey, knownHosts}");
            }
            Path home = settings.cache().resolve(".ssh-home");
            ssh = new SshdSessionFactoryBuilder()
                    .setHomeDirectory(home.toFile())
                    .setSshDirectory(home.resolve(".ssh").toFile())
                    .setConfigStoreFactory((h, f, user) -> null)
                    .setDefaultIdentities(d -> List.of(key))
                    .setDefaultKnownHostsFiles(d -> List.of(knownHosts))
                    .setServerKeyDatabase((h, d) -> new KnownHostsOnly(knownHosts))
                    .setPreferredAuthentications("publickey")
                    .setConnectorFactory(null)
                    .build(null);
        }
        return ssh;
    }

    private String shown() {
        return uri.setPass(null).toString();
    }

    /** Failures of the network or the remote say nothing about the clone: keep it. */
    private static boolean network(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof NoRemoteRepositoryException || t.getClass().getPackageName().startsWith("java.net")
                    || t.getClass().getPackageName().startsWith("org.apache.sshd")
                    || t instanceof TransportException && String.valueOf(t.getMessage()).contains("not authorized")) {
                return true;
            }
        }
        return false;
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        Throwable c = e.getCause();
        if (c != null && c.getMessage() != null && (m == null || !m.contains(c.getMessage()))) {
            m = (m == null ? "" : m + ": ") + c.getMessage();
        }
        return m == null ? e.getClass().getSimpleName() : m;
    }

    /** Readable name of the repository, then a hash of URL and branch, so that each pair gets its own clone. */
    static String cacheName(GitSettings s) {
        String last = s.url().replaceAll("/+$", "").replaceAll(".*/", "").replaceAll("\\.git$", "")
                .replaceAll("[^A-Za-z0-9._-]", "_");
        try {
            byte[] h = MessageDigest.getInstance("SHA-256")
                    .digest((s.url() + "\n" + s.branch()).getBytes(StandardCharsets.UTF_8));
            return (last.isEmpty() || last.startsWith(".") ? "repo" : last) + "-" + HexFormat.of().formatHex(h, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
