package dev.bpfgit.source;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * A directory as the sidecar's source: file-system events (inotify through {@link WatchService}) on the
 * directory and every directory below it, so a change is seen within a second. A Kubernetes ConfigMap
 * volume swaps its {@code ..data} symlink in the top directory, and git-sync its worktree link: both are
 * events there.
 *
 * <p>{@link #head} is a counter of events, bumped also by an overflow (events were lost) and, every
 * {@code recheck}, when the policy files' names, identities (device and inode, links followed), sizes or
 * modification times differ from those of the last read: a safety net in case events never come (network
 * file systems) that costs a walk and a stat per file, not a read and hash of every byte (3 MB at 100,000
 * rules) each time. Reading is {@link DirectorySource#read}; a re-read whose files are unchanged yields the
 * same revision, which the sidecar does not parse again.
 */
public final class DirectoryPolicySource implements SettlingSource {
    private static final Logger LOG = LoggerFactory.getLogger(DirectoryPolicySource.class);
    private static final Duration QUIET = Duration.ofMillis(50);
    private static final int MAX_REREADS = 20;

    private final Path dir;
    private final Duration recheck;
    private final Clock clock;
    private final AtomicLong events = new AtomicLong();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final Object watchLock = new Object();
    private WatchService watcher;
    private volatile Path watchedRoot;   // the directory's own watch: where it points when given as a link
    private Thread thread;
    private volatile boolean watching;
    private volatile boolean closed;
    private Instant lastRecheck;
    private volatile String readStamp = "";   // stamp() taken right before the last read

    public DirectoryPolicySource(Path dir, Duration recheck, Clock clock) {
        this.dir = dir.toAbsolutePath().normalize();
        this.recheck = recheck;
        this.clock = clock;
        this.lastRecheck = clock.instant();
        try {
            watcher = FileSystems.getDefault().newWatchService();
        } catch (IOException e) {
            throw new SourceException("watch " + dir + ": " + e.getMessage(), e);
        }
        thread = Thread.ofPlatform().daemon().name("bpfgit-watch").unstarted(this::watch);
        thread.start();
    }

    @Override
    public String head() {
        if (!Files.isDirectory(dir)) {
            watching = false;
            throw new SourceException("read " + dir + ": no such directory");
        }
        if (!watching) {
            // first call, or the directory itself was replaced: watch it (again) and read it anew
            register(dir);
            events.incrementAndGet();
        }
        Instant now = clock.instant();
        if (!now.isBefore(lastRecheck.plus(recheck))) {
            lastRecheck = now;
            if (!stamp().equals(readStamp)) {
                events.incrementAndGet();
            }
        }
        return Long.toString(events.get());
    }

    /**
     * Reads the directory, again while file-system events arrive during or just after a read, or while a
     * file is empty (for up to a second): a file written in place is empty between its truncation and its
     * write, and a snapshot of that moment must not be taken for the operator's intent (an empty file holds
     * no policy, whose units would be removed).
     */
    @Override
    public Snapshot read(String head) {
        for (int attempt = 0; ; attempt++) {
            Early early = readEarly(head);
            if (early.settled() || attempt >= MAX_REREADS || Thread.currentThread().isInterrupted()) {
                return early.snapshot();
            }
        }
    }

    /**
     * One read; its {@link Early#settled} waits what remains of {@link #QUIET} after it and says whether events
     * came meanwhile or a file is empty (an empty file is most likely one being written, truncated and not yet
     * written: {@link #read} gives the writer up to a second before taking it as meant).
     */
    @Override
    public Early readEarly(String head) {
        long before = events.get();
        // taken before reading: a change made during the read shows as another stamp at the next recheck
        readStamp = stamp();
        Snapshot s = DirectorySource.read(List.of(dir));
        long readEnd = System.nanoTime();
        return new Early(s, () -> quiet(readEnd, before) && s.files().values().stream().noneMatch(String::isEmpty));
    }

    /** Waits until {@link #QUIET} after {@code readEnd} (lets the events of a write in progress reach the watcher). */
    private boolean quiet(long readEnd, long eventsBefore) {
        long left = readEnd + QUIET.toNanos() - System.nanoTime();
        if (left > 0) {
            try {
                Thread.sleep(Duration.ofNanos(left));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return true;   // as before: an interrupted read returns what it read
            }
        }
        return events.get() == eventsBefore;
    }

    /**
     * Names, file keys, sizes and modification times of the files a read would take (as DirectorySource lists
     * them: no hidden component); any failure gives a stamp of its own, so the directory is read and the read
     * reports it.
     */
    String stamp() {
        StringBuilder b = new StringBuilder();
        Path root = root();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : (Iterable<Path>) walk.filter(p -> !p.equals(root) && !hidden(p)
                    && PolicyFiles.isPolicyName(p.getFileName().toString())).sorted()::iterator) {
                try {
                    var a = Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class);
                    b.append(root.relativize(p)).append('\0').append(a.fileKey()).append('\0').append(a.size())
                            .append('\0').append(a.lastModifiedTime().toMillis()).append('\0')
                            .append(a.lastModifiedTime().toInstant().getNano()).append('\n');
                } catch (IOException e) {
                    b.append(root.relativize(p)).append("\0?").append(e.getClass().getSimpleName()).append('\n');
                }
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            return "? " + e;
        }
        return b.toString();
    }

    @Override
    public void onChange(Runnable listener) {
        listeners.add(listener);
    }

    @Override
    public String describe() {
        return "directory " + dir;
    }

    /**
     * Registers {@code top} and every directory below it that is read for policies: hidden ones are not
     * (DirectorySource skips them; a {@code .git} would take hundreds of inotify watches). A ConfigMap's
     * {@code ..2026_...} directories are hidden too: their swap is an event in the top directory.
     */
    private void register(Path top) {
        synchronized (watchLock) {
            if (closed) {
                return;
            }
            Path start = top.equals(dir) ? root() : top;
            try (Stream<Path> walk = Files.walk(start)) {
                for (Path d : (Iterable<Path>) walk.filter(p -> Files.isDirectory(p) && !hidden(p))::iterator) {
                    d.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_DELETE,
                            StandardWatchEventKinds.ENTRY_MODIFY);
                }
                if (top.equals(dir)) {
                    watchedRoot = start;
                    watching = true;
                }
            } catch (IOException | java.io.UncheckedIOException | ClosedWatchServiceException e) {
                // a directory vanished while walking, or we are closing: the next event or recheck catches up
                LOG.debug("watch {}: {}", top, e.toString());
            }
        }
    }

    /**
     * Where the directory's files are: the directory, or where it points when it is given as a link (a walk does
     * not follow its start when that is a link: it would list the link alone, and no file or subdirectory).
     */
    private Path root() {
        if (!Files.isSymbolicLink(dir)) {
            return dir;
        }
        try {
            return dir.toRealPath();
        } catch (IOException e) {
            return dir;   // a dangling link: the read reports it
        }
    }

    private boolean hidden(Path p) {
        Path base = p.startsWith(dir) ? dir : watchedRoot != null && p.startsWith(watchedRoot) ? watchedRoot : root();
        if (!p.startsWith(base)) {
            return false;
        }
        for (Path part : base.relativize(p)) {
            if (part.toString().startsWith(".")) {
                return true;
            }
        }
        return false;
    }

    private void watch() {
        while (!closed) {
            WatchKey key;
            try {
                key = watcher.take();
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            }
            Path where = (Path) key.watchable();
            boolean relevant = false;
            for (WatchEvent<?> ev : key.pollEvents()) {
                if (ev.kind() == StandardWatchEventKinds.ENTRY_CREATE && ev.context() instanceof Path name) {
                    Path created = where.resolve(name);
                    if (Files.isDirectory(created, java.nio.file.LinkOption.NOFOLLOW_LINKS) && !hidden(created)) {
                        register(created);
                    }
                }
                relevant |= relevant(where, ev);
            }
            boolean valid = key.reset();
            if (!valid && (where.equals(dir) || where.equals(watchedRoot))) {
                watching = false;   // the directory itself went away; head() re-registers when it is back
            }
            if (relevant || !valid) {
                events.incrementAndGet();
                listeners.forEach(Runnable::run);
            }
        }
    }

    /**
     * Whether an event may change what a read takes. Not when a regular file that no read takes (a hidden name, or
     * not {@code *.yaml}/{@code *.yml}) was created or written: an editor's swap file, or the temporary file a
     * writer renames over a policy file (whose rename is an event of its own). Each such event cost a read of every
     * policy file (4.5 MB at 100,000 rules), re-read while the temporary file was being written. Everything else
     * counts: a policy name, a directory or link (a ConfigMap's {@code ..data} swap), a deletion (what was deleted
     * cannot be looked at), a lost event.
     */
    private boolean relevant(Path where, WatchEvent<?> ev) {
        if (!(ev.context() instanceof Path name) || ev.kind() == StandardWatchEventKinds.ENTRY_DELETE) {
            return true;
        }
        Path p = where.resolve(name);
        String file = name.getFileName().toString();
        if (PolicyFiles.isPolicyName(file) && !hidden(p)) {
            return true;
        }
        try {
            return !Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS).isRegularFile();
        } catch (IOException | RuntimeException e) {
            return true;   // gone already, or unreadable: let a read see
        }
    }

    @Override
    public void close() {
        closed = true;
        synchronized (watchLock) {
            try {
                watcher.close();
            } catch (IOException e) {
                LOG.debug("close watcher: {}", e.toString());
            }
        }
        thread.interrupt();
    }
}
