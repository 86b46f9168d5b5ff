package dev.bpfgit.source;

import org.eclipse.jgit.lib.Config;
import org.eclipse.jgit.storage.file.FileBasedConfig;
import org.eclipse.jgit.util.FS;
import org.eclipse.jgit.util.SystemReader;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * JGit's process-wide settings for a tool that any user runs, often with a home it cannot write
 * ({@code nobody}: /nonexistent; systemd's ProtectHome; a read-only container).
 *
 * <p>JGit measures each file system's timestamp resolution the first time it sees it and caches the result
 * in ~/.config/jgit/config. Where that file cannot be written, JGit logs two errors with stack traces on
 * every run, which breaks the CLI's contract that stderr carries only bpfgit's own messages. The cache is
 * still written where it can be; elsewhere it is skipped quietly and JGit measures again on the next run.
 */
public final class JGitProcess {
    private JGitProcess() {
    }

    private static boolean configured;

    /**
     * Called before JGit is first used (a git source, a {@code --against} revision, a checkout's HEAD): not at
     * process start, because loading JGit (a signed jar, which the JDK's class-data cache does not hold) costs a
     * cold {@code validate} of a plain directory a few hundred milliseconds it never needs. Idempotent.
     */
    public static synchronized void configure() {
        if (configured) {
            return;
        }
        configured = true;
        SystemReader.setInstance(new SystemReader.Delegate(SystemReader.getInstance()) {
            @Override
            public FileBasedConfig openJGitConfig(Config parent, FS fs) {
                FileBasedConfig file = super.openJGitConfig(parent, fs);
                return new FileBasedConfig(parent, file.getFile(), fs) {
                    @Override
                    public void save() throws IOException {
                        if (canCreate(getFile())) {
                            super.save();
                        }
                    }
                };
            }
        });
    }

    /** Whether the file, or the directories it needs, could be created: its nearest existing ancestor is writable. */
    static boolean canCreate(File file) {
        Path p = file.toPath().toAbsolutePath();
        if (Files.exists(p)) {
            return Files.isWritable(p);
        }
        for (Path dir = p.getParent(); dir != null; dir = dir.getParent()) {
            if (Files.exists(dir)) {
                return Files.isDirectory(dir) && Files.isWritable(dir);
            }
        }
        return false;
    }
}
