package dev.bpfgit.source;

import dev.bpfgit.kernel.testing.Commands;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A git repository on local disk made with the {@code git} CLI, the way a user would: files written,
 * committed (signed when asked), with a private HOME so that no user or system configuration takes part.
 */
final class GitRepo {
    final Path dir;
    final Path home;

    GitRepo(Path dir, Path home) {
        this.dir = dir;
        this.home = home;
        mkdirs(dir);
        mkdirs(home);
        git("init", "-q", "-b", "main");
    }

    GitRepo write(String path, String text) {
        return write(path, text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    GitRepo write(String path, byte[] bytes) {
        try {
            Path f = dir.resolve(path);
            Files.createDirectories(f.getParent());
            Files.write(f, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    /** Commits everything; returns the commit id. */
    String commit(String message, String... gitOptions) {
        git("add", "-A");
        List<String> args = new ArrayList<>(List.of(gitOptions));
        args.addAll(List.of("commit", "-q", "--allow-empty", "-m", message));
        git(args.toArray(String[]::new));
        return git("rev-parse", "HEAD").strip();
    }

    String url() {
        return "file://" + dir;
    }

    String git(String... args) {
        List<String> cmd = new ArrayList<>(List.of("git"));
        cmd.addAll(List.of(args));
        return run(dir, env(), cmd);
    }

    Map<String, String> env() {
        return Map.of("HOME", home.toString(), "GIT_CONFIG_NOSYSTEM", "1",
                "GIT_AUTHOR_NAME", "Ada Operator", "GIT_AUTHOR_EMAIL", "ada@example.com",
                "GIT_COMMITTER_NAME", "Ada Operator", "GIT_COMMITTER_EMAIL", "ada@example.com",
                "GNUPGHOME", home.resolve("gnupg").toString());
    }

    static String run(Path cwd, Map<String, String> env, List<String> cmd) {
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().putAll(env);
            Process p = pb.start();
            CompletableFuture<String> out = Commands.drain(p.getInputStream());
            CompletableFuture<String> err = Commands.drain(p.getErrorStream());
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError(cmd + " did not finish in 60s");
            }
            if (p.exitValue() != 0) {
                throw new AssertionError(cmd + " exited " + p.exitValue() + "\nstdout: " + out.join() + "\nstderr: "
                        + err.join());
            }
            return out.join();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits until something listens on 127.0.0.1:port (a server started by the test). */
    static void awaitListening(int port, Process server) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            try (var s = new java.net.Socket("127.0.0.1", port)) {
                return;
            } catch (IOException e) {
                if (!server.isAlive()) {
                    throw new AssertionError("server exited " + server.exitValue() + " before listening on " + port);
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(ie);
                }
            }
        }
        throw new AssertionError("nothing listens on 127.0.0.1:" + port + " after 10s");
    }

    static void stop(Process p) {
        if (p == null) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void mkdirs(Path p) {
        try {
            Files.createDirectories(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
