package dev.bpfgit.it;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.bpfgit.kernel.testing.Commands;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CI recipes of examples/ci run as their CI system would run them, since no hosted CI runs here: the
 * run: steps of the GitHub workflow and the script: lines of the GitLab job, in a checkout of a pull
 * request, with the release installed from a tarball and the GitHub and GitLab APIs played by a server on
 * 127.0.0.1 that records every request. Also the git pre-commit hook. No root needed.
 */
class CiRecipesIT {
    private static final Path CI = Bpfgit.REPO.resolve("examples/ci");
    private static final String MARKER = "<!-- bpfgit-plan -->";
    private static final String EDGE = traffic("edge-filter", "eth0", "xdp", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}", "{prefix: 198.51.100.0/24, action: pass}")
            .replace("spec:\n", "spec:\n  hosts: {labels: {role: edge}}\n");
    private static final String INVENTORY = "hosts:\n  - names: [edge-1, edge-2]\n    labels: {role: edge}\n"
            + "  - name: db-1\n    labels: {role: db}\n";

    private FakeApi api;
    private Path work;
    private Path checkout;

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    @BeforeEach
    void start(@TempDir Path dir) throws Exception {
        work = dir;
        api = new FakeApi(release(dir));
        checkout = pullRequest(dir);
    }

    @AfterEach
    void stop() {
        api.close();
    }

    @Test
    void githubWorkflowPostsOneCommentAndUpdatesItOnTheNextPush() throws Exception {
        api.comments.add(comment(1, "looks good to me"));   // someone else's comment stays as it is
        Map<String, Object> workflow = yaml(CI.resolve("github/bpfgit-plan.yml"));
        runGithub(workflow);

        List<String> calls = api.calls();
        assertEquals(List.of("GET /releases/bpfgit-0.0.0-test.tar.gz",
                "GET /repos/acme/policies/issues/7/comments?per_page=100&page=1",
                "GET /repos/acme/policies/issues/7/comments?per_page=100&page=2",
                "POST /repos/acme/policies/issues/7/comments"), calls);
        assertEquals(2, api.comments.size());
        String body = api.comments.get(1).get("body").asString();
        assertTrue(body.startsWith(MARKER + "\n### bpfgit plan for revision `"), body);
        assertTrue(body.contains("| edge-1 | `revision origin/main` | 0 | 1 | 0 | +0 ~1 -0 | 1 |\n"), body);
        assertTrue(body.contains("| db-1 | `revision origin/main` | 0 | 0 | 0 | +0 ~0 -0 | 0 |\n"), body);
        assertTrue(body.contains("!     ~ 198.51.100.0/24  drop (was pass)\n"), body);
        assertTrue(api.requests.stream().filter(r -> r.uri().startsWith("/repos/"))
                .allMatch(r -> r.auth().equals("Bearer test-token")), api.requests.toString());
        assertTrue(Files.isExecutable(work.resolve("opt/bpfgit/bin/bpfgit")), "installed from the tarball");
        assertTrue(api.requests.stream().filter(r -> !r.method().equals("GET")).allMatch(r ->
                Bpfgit.unchecked(() -> Bpfgit.JSON.readTree(r.body())).has("body")), "JSON bodies");

        // another push to the pull request: the same comment is updated, none is added
        write(checkout, "policies/edge.yaml", EDGE.replace("198.51.100.0/24, action: pass", "198.51.100.0/24, action: drop")
                .replace("  rules:\n", "  rules:\n    - {prefix: 192.0.2.0/24, action: drop}\n"));
        git(checkout, "commit", "-qam", "block 192.0.2.0/24 too");
        api.requests.clear();
        runGithub(workflow);
        assertEquals(List.of("GET /releases/bpfgit-0.0.0-test.tar.gz",
                "GET /repos/acme/policies/issues/7/comments?per_page=100&page=1",
                "PATCH /repos/acme/policies/issues/comments/2"), api.calls());
        assertEquals(2, api.comments.size());
        assertEquals("looks good to me", api.comments.get(0).get("body").asString());
        String updated = api.comments.get(1).get("body").asString();
        assertTrue(updated.startsWith(MARKER + "\n"), updated);
        assertTrue(updated.contains("+     + 192.0.2.0/24     drop\n"), updated);
    }

    @Test
    void githubWorkflowAnnotatesAnInvalidPolicyAndStops() throws Exception {
        write(checkout, "policies/edge.yaml", EDGE.replace("action: pass", "action: dorp"));
        git(checkout, "commit", "-qam", "typo");
        StepRun failed = runGithubUntilFailure(yaml(CI.resolve("github/bpfgit-plan.yml")));
        assertEquals("Validate (annotations on the pull request's files)", failed.name());
        assertEquals(2, failed.exit());
        assertTrue(failed.out().startsWith("::error file=policies/edge.yaml,line=13,col=41::/spec/rules/1/action: "),
                failed.out());
        assertTrue(api.comments.isEmpty());
    }

    @Test
    void gitlabJobPostsOneNoteAndUpdatesItOnTheNextPush() throws Exception {
        Map<String, Object> ci = yaml(CI.resolve("gitlab/bpfgit-plan.gitlab-ci.yml"));
        runGitlab(ci);
        assertEquals(List.of("GET /releases/bpfgit-0.0.0-test.tar.gz",
                "GET /api/v4/projects/42/merge_requests/3/notes?per_page=100&page=1&sort=asc",
                "POST /api/v4/projects/42/merge_requests/3/notes"), api.calls());
        assertTrue(api.requests.stream().skip(1).allMatch(r -> r.token().equals("gl-token")), api.requests.toString());
        assertEquals(1, api.notes.size());
        String body = api.notes.getFirst().get("body").asString();
        assertTrue(body.startsWith(MARKER + "\n### bpfgit plan for revision `"), body);
        assertTrue(body.contains("#### edge-1, edge-2\n"), body);

        api.requests.clear();
        runGitlab(ci);
        assertEquals(List.of("GET /releases/bpfgit-0.0.0-test.tar.gz",
                "GET /api/v4/projects/42/merge_requests/3/notes?per_page=100&page=1&sort=asc",
                "PUT /api/v4/projects/42/merge_requests/3/notes/1"), api.calls());
        assertEquals(1, api.notes.size());
    }

    @Test
    void anInvalidPlanIsStillPostedAndFailsTheJob() throws Exception {
        write(checkout, "policies/edge.yaml", EDGE.replace("action: pass", "action: dorp"));
        Map<String, String> env = new LinkedHashMap<>(baseEnv());
        env.put("BPFGIT", Bpfgit.REPO.resolve("bpfgit").toString());
        env.put("BASE", "main");
        Commands.Result plan = sh(checkout, env, CI.resolve("plan.sh").toString());
        assertEquals(0, plan.exitCode(), plan.toString());
        String md = Files.readString(checkout.resolve("bpfgit-plan.md"));
        assertTrue(md.startsWith("### bpfgit plan failed (exit 2)\n\n```\npolicies/edge.yaml:13:41: error: "), md);
        Commands.Result check = sh(checkout, env, CI.resolve("check.sh").toString());
        assertEquals(2, check.exitCode(), check.toString());
    }

    @Test
    void preCommitHookRefusesAnInvalidStagedPolicy() throws Exception {
        Path hook = checkout.resolve(".git/hooks/pre-commit");
        Files.copy(CI.resolve("pre-commit/pre-commit"), hook, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        assertTrue(Files.isExecutable(hook), "the hook is shipped executable");
        Map<String, String> env = new LinkedHashMap<>(baseEnv());
        env.put("BPFGIT", Bpfgit.REPO.resolve("bpfgit").toString());

        write(checkout, "policies/edge.yaml", EDGE.replace("action: pass", "action: dorp"));
        git(checkout, "add", "policies");
        Commands.Result refused = sh(checkout, env, "git -c user.name=t -c user.email=t@t commit -qm broken");
        assertEquals(1, refused.exitCode(), refused.toString());
        assertTrue(refused.stderr().contains("policies/edge.yaml:13:41: error: /spec/rules/1/action: "), refused.stderr());
        assertTrue(refused.stderr().contains("pre-commit: bpfgit validate failed"), refused.stderr());

        // the index decides, not the working tree: a valid staged policy commits though the file is broken again
        write(checkout, "policies/edge.yaml", EDGE.replace("203.0.113.0/24", "203.0.113.0/25"));
        git(checkout, "add", "policies");
        write(checkout, "policies/edge.yaml", EDGE.replace("action: pass", "action: dorp"));
        Commands.Result ok = sh(checkout, env, "git -c user.name=t -c user.email=t@t commit -qm fine");
        assertEquals(0, ok.exitCode(), ok.toString());
        assertTrue(Commands.run("git", "-C", checkout.toString(), "show", "HEAD:policies/edge.yaml")
                .contains("203.0.113.0/25"));
    }

    // ---- the CI systems, as far as the recipes use them

    record StepRun(String name, int exit, String out, String err) {
    }

    /** The run: steps of job "plan" in order, as the runner runs them; fails on the first failing step. */
    private void runGithub(Map<String, Object> workflow) throws Exception {
        StepRun failed = runGithubUntilFailure(workflow);
        if (failed != null) {
            throw new AssertionError("step '" + failed.name() + "' exited " + failed.exit() + "\n" + failed.out()
                    + "\n" + failed.err());
        }
    }

    @SuppressWarnings("unchecked")
    private StepRun runGithubUntilFailure(Map<String, Object> workflow) throws Exception {
        Map<String, String> env = new LinkedHashMap<>(baseEnv());
        env.putAll(strings((Map<String, Object>) workflow.get("env")));
        env.put("BPFGIT_CI", "ci/bpfgit");
        env.put("GITHUB_API_URL", api.url());
        env.put("GITHUB_REPOSITORY", "acme/policies");
        env.put("GITHUB_BASE_REF", "main");
        Path githubEnv = Files.writeString(work.resolve("github_env"), "");
        Path githubPath = Files.writeString(work.resolve("github_path"), "");
        env.put("GITHUB_ENV", githubEnv.toString());
        env.put("GITHUB_PATH", githubPath.toString());
        Map<String, Object> job = (Map<String, Object>) ((Map<String, Object>) workflow.get("jobs")).get("plan");
        for (Map<String, Object> step : (List<Map<String, Object>>) job.get("steps")) {
            if (!step.containsKey("run")) {
                continue;   // uses: actions/checkout and setup-java: the test made the checkout and has Java
            }
            Map<String, String> stepEnv = new LinkedHashMap<>(env);
            if (step.get("env") != null) {
                strings((Map<String, Object>) step.get("env")).forEach((k, v) -> stepEnv.put(k, expression(v, env)));
            }
            String run = (String) step.get("run");
            assertFalse(run.contains("${{"), "expressions belong in env:, not in run: " + run);
            Commands.Result r = sh(checkout, stepEnv, run);
            // what a step adds to GITHUB_ENV and GITHUB_PATH holds for the steps after it
            for (String line : Files.readAllLines(githubEnv)) {
                if (line.contains("=")) {
                    env.put(line.substring(0, line.indexOf('=')), line.substring(line.indexOf('=') + 1));
                }
            }
            for (String line : Files.readAllLines(githubPath)) {
                if (!line.isBlank() && !env.get("PATH").startsWith(line + ":")) {
                    env.put("PATH", line + ":" + env.get("PATH"));
                }
            }
            if (r.exitCode() != 0) {
                return new StepRun((String) step.get("name"), r.exitCode(), r.stdout(), r.stderr());
            }
        }
        return null;
    }

    /** The values the workflow's expressions take in this pull request; an unknown one fails the test. */
    private String expression(String value, Map<String, String> env) {
        Matcher m = Pattern.compile("\\$\\{\\{\\s*([^}]+?)\\s*}}").matcher(value);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String v = switch (m.group(1)) {
                case "env.JAVA_HOME" -> env.get("JAVA_HOME");
                case "github.base_ref" -> "main";
                case "secrets.GITHUB_TOKEN" -> "test-token";
                case "github.event.pull_request.number" -> "7";
                default -> throw new AssertionError("the test does not know the expression " + m.group());
            };
            m.appendReplacement(sb, Matcher.quoteReplacement(v));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    /** before_script and script of job bpfgit-plan in one shell, as the GitLab runner runs them. */
    @SuppressWarnings("unchecked")
    private void runGitlab(Map<String, Object> ci) throws Exception {
        Map<String, Object> job = (Map<String, Object>) ci.get("bpfgit-plan");
        Map<String, String> env = new LinkedHashMap<>(baseEnv());
        env.putAll(strings((Map<String, Object>) job.get("variables")));
        env.put("CI_API_V4_URL", api.url() + "/api/v4");
        env.put("CI_PROJECT_ID", "42");
        env.put("CI_MERGE_REQUEST_IID", "3");
        env.put("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main");
        env.put("CI_PIPELINE_SOURCE", "merge_request_event");
        env.put("GITLAB_TOKEN", "gl-token");
        StringBuilder script = new StringBuilder("set -eo pipefail\n");
        for (String key : List.of("before_script", "script")) {
            for (Object line : (List<Object>) job.get(key)) {
                script.append(line).append('\n');
            }
        }
        Commands.Result r = sh(checkout, env, script.toString());
        assertEquals(0, r.exitCode(), r.toString());
    }

    /** What every job starts with: a PATH with a sudo that only runs its command, and the tarball's URL. */
    private Map<String, String> baseEnv() throws IOException {
        Path bin = Files.createDirectories(work.resolve("bin"));
        if (!Files.exists(bin.resolve("sudo"))) {
            // hosted runners have password-less sudo; here the test already is root
            Files.writeString(bin.resolve("sudo"), "#!/bin/sh\nwhile [ \"${1#-}\" != \"$1\" ]; do shift; done\nexec \"$@\"\n");
            bin.resolve("sudo").toFile().setExecutable(true);
        }
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", bin + ":/usr/local/bin:/usr/bin:/bin");
        env.put("HOME", work.toString());
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("BPFGIT_URL", api.url() + "/releases/bpfgit-0.0.0-test.tar.gz");
        env.put("BPFGIT_VERSION", "0.0.0-test");
        env.put("BPFGIT_PREFIX", work.resolve("opt/bpfgit").toString());
        return env;
    }

    private static Commands.Result sh(Path dir, Map<String, String> env, String script) throws Exception {
        List<String> c = new ArrayList<>(List.of("env", "-i", "-C", dir.toString()));
        env.forEach((k, v) -> c.add(k + "=" + v));
        c.addAll(List.of("bash", "-e", "-c", script));
        ProcessBuilder pb = new ProcessBuilder(c).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p = pb.start();
        var out = Commands.drain(p.getInputStream());
        var err = Commands.drain(p.getErrorStream());
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor();
            throw new AssertionError("timed out: " + script);
        }
        return new Commands.Result(c, p.exitValue(), out.join(), err.join());
    }

    // ---- the repository of the pull request

    /** origin (bare) with main at the fleet's policies; a checkout on a branch that changes one rule. */
    private Path pullRequest(Path dir) throws IOException {
        Path seed = Files.createDirectories(dir.resolve("seed"));
        write(seed, "policies/edge.yaml", EDGE);
        write(seed, "hosts.yaml", INVENTORY);
        git(seed, "init", "-q", "-b", "main");
        git(seed, "add", ".");
        git(seed, "commit", "-qm", "fleet");
        Commands.run("git", "clone", "-q", "--bare", seed.toString(), dir.resolve("origin.git").toString());
        Path co = dir.resolve("checkout");
        Commands.run("git", "clone", "-q", dir.resolve("origin.git").toString(), co.toString());
        git(co, "checkout", "-q", "-b", "drop-198");
        write(co, "policies/edge.yaml", EDGE.replace("198.51.100.0/24, action: pass", "198.51.100.0/24, action: drop"));
        // the scripts as a policy repository keeps them: copied from examples/ci
        try (Stream<Path> s = Files.list(CI)) {
            for (Path script : s.filter(p -> p.toString().endsWith(".sh")).toList()) {
                Path to = Files.createDirectories(co.resolve("ci/bpfgit")).resolve(script.getFileName());
                Files.copy(script, to, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        git(co, "add", ".");
        git(co, "commit", "-qm", "drop 198.51.100.0/24");
        return co;
    }

    /** bpfgit-0.0.0-test.tar.gz as the release has it: bpfgit-VERSION/bin/bpfgit, here running this build. */
    private static byte[] release(Path dir) throws IOException {
        Path top = Files.createDirectories(dir.resolve("release/bpfgit-0.0.0-test/bin"));
        Path bin = Files.writeString(top.resolve("bpfgit"), "#!/bin/sh\nexec " + Bpfgit.REPO.resolve("bpfgit") + " \"$@\"\n");
        bin.toFile().setExecutable(true);
        Path tar = dir.resolve("release/bpfgit-0.0.0-test.tar.gz");
        Commands.run("tar", "-czf", tar.toString(), "-C", dir.resolve("release").toString(), "bpfgit-0.0.0-test");
        return Files.readAllBytes(tar);
    }

    private static void git(Path repo, String... args) {
        List<String> c = new ArrayList<>(List.of("git", "-C", repo.toString(), "-c", "user.name=bpfgit-it",
                "-c", "user.email=it@bpfgit.dev", "-c", "commit.gpgsign=false"));
        c.addAll(List.of(args));
        Commands.exec(c).orFail();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> yaml(Path file) throws IOException {
        return (Map<String, Object>) new Load(LoadSettings.builder().build()).loadFromString(Files.readString(file));
    }

    private static Map<String, String> strings(Map<String, Object> m) {
        Map<String, String> out = new LinkedHashMap<>();
        if (m != null) {
            m.forEach((k, v) -> out.put(k, String.valueOf(v)));
        }
        return out;
    }

    private static ObjectNode comment(long id, String body) {
        return Bpfgit.JSON.createObjectNode().put("id", id).put("body", body);
    }

    // ---- the APIs

    record Request(String method, String uri, String auth, String token, String body) {
    }

    /** GitHub's issue comments and GitLab's merge request notes, in memory, on 127.0.0.1. */
    static final class FakeApi implements AutoCloseable {
        final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
        final List<ObjectNode> comments = Collections.synchronizedList(new ArrayList<>());
        final List<ObjectNode> notes = Collections.synchronizedList(new ArrayList<>());
        private final HttpServer server;
        private final byte[] tarball;

        FakeApi(byte[] tarball) throws IOException {
            this.tarball = tarball;
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.createContext("/", this::handle);
            server.start();
        }

        String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort();
        }

        List<String> calls() {
            return requests.stream().map(r -> r.method() + " " + r.uri()).toList();
        }

        private void handle(HttpExchange x) throws IOException {
            String body = new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String path = x.getRequestURI().getPath();
            String query = x.getRequestURI().getRawQuery();
            requests.add(new Request(x.getRequestMethod(), path + (query == null ? "" : "?" + query),
                    String.valueOf(x.getRequestHeaders().getFirst("Authorization")),
                    String.valueOf(x.getRequestHeaders().getFirst("PRIVATE-TOKEN")), body));
            try {
                route(x, x.getRequestMethod() + " " + path, query == null ? "" : query, body);
            } catch (RuntimeException e) {
                reply(x, 500, "{\"message\": \"" + e + "\"}");
            }
        }

        private void route(HttpExchange x, String call, String query, String body) throws IOException {
            if (call.equals("GET /releases/bpfgit-0.0.0-test.tar.gz")) {
                x.sendResponseHeaders(200, tarball.length);
                x.getResponseBody().write(tarball);
                x.close();
            } else if (call.equals("GET /repos/acme/policies/issues/7/comments")) {
                reply(x, 200, page(comments, query));
            } else if (call.equals("POST /repos/acme/policies/issues/7/comments")) {
                reply(x, 201, add(comments, body).toString());
            } else if (call.startsWith("PATCH /repos/acme/policies/issues/comments/")) {
                reply(x, 200, update(comments, call, body).toString());
            } else if (call.equals("GET /api/v4/projects/42/merge_requests/3/notes")) {
                reply(x, 200, page(notes, query));
            } else if (call.equals("POST /api/v4/projects/42/merge_requests/3/notes")) {
                reply(x, 201, add(notes, body).toString());
            } else if (call.startsWith("PUT /api/v4/projects/42/merge_requests/3/notes/")) {
                reply(x, 200, update(notes, call, body).toString());
            } else {
                reply(x, 404, "{\"message\": \"Not Found\"}");
            }
        }

        /** Page 1 holds everything (fewer than per_page), later pages nothing. */
        private static String page(List<ObjectNode> items, String query) {
            ArrayNode a = Bpfgit.JSON.createArrayNode();
            if (Pattern.compile("(^|&)page=1(&|$)").matcher(query).find()) {
                synchronized (items) {
                    items.forEach(a::add);
                }
            }
            return a.toString();
        }

        private static ObjectNode add(List<ObjectNode> items, String body) throws IOException {
            JsonNode in = Bpfgit.JSON.readTree(body);
            ObjectNode c = comment(items.size() + 1, in.get("body").asString());
            items.add(c);
            return c;
        }

        private static ObjectNode update(List<ObjectNode> items, String call, String body) throws IOException {
            long id = Long.parseLong(call.substring(call.lastIndexOf('/') + 1));
            ObjectNode c = items.stream().filter(i -> i.get("id").asLong() == id).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no comment " + id));
            c.put("body", Bpfgit.JSON.readTree(body).get("body").asString());
            return c;
        }

        private static void reply(HttpExchange x, int status, String json) throws IOException {
            byte[] b = json.getBytes(StandardCharsets.UTF_8);
            x.getResponseHeaders().add("Content-Type", "application/json");
            x.sendResponseHeaders(status, b.length);
            x.getResponseBody().write(b);
            x.close();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
