package dev.bpfgit.cli;

import com.sun.net.httpserver.HttpExchange;
import dev.bpfgit.kernel.linux.PinRootLock;
import dev.bpfgit.run.Config;
import dev.bpfgit.run.Metrics;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.run.Sidecar;
import dev.bpfgit.source.PolicySource;
import dev.bpfgit.source.PolicySources;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Model.CommandSpec;
import sun.misc.Signal;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.concurrent.Callable;

final class RunCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

    /** run's command line. */
    static CommandSpec spec() {
        RunCommand verb = new RunCommand();
        CommandSpec spec = verb.spec = Cli.command(verb, "run",
                "The sidecar: keep this host equal to the policies, continuously.",
                new String[]{"Reconciles on every change of the source and every reconcile.interval (with",
                        "jitter), keeps enforcing the last good revision while a newer one is invalid or",
                        "the source is unreachable, serves /metrics, /healthz (the loop is alive) and",
                        "/readyz (the last good revision is applied and in sync; a 503 names each",
                        "failed or drifted policy and why) on metrics.listen",
                        "(loopback only). SIGTERM or SIGINT finishes the current step and leaves the",
                        "datapath attached. Exit 0 on SIGTERM, 3 on a fatal error (bad configuration,",
                        "pin root locked, port in use, fatal error in the loop)."},
                new String[]{"0:stopped by SIGTERM or SIGINT",
                        "3:fatal error (configuration, pin root locked, port in use)"},
                "  bpfgit run --config /etc/bpfgit/bpfgit.yaml");
        Common.options(spec);
        return Cli.standardHelp(spec);
    }

    CommandSpec spec;

    // the values parsed into spec, read when called
    Common common;

    @Override
    public Integer call() throws Exception {
        common = Common.of(spec);
        if (common.configFile == null) {
            throw new UsageException("run needs --config FILE (see config/bpfgit.yaml)");
        }
        Config config;
        try {
            config = common.config();
        } catch (RuntimeException e) {
            // a configuration the daemon cannot start with is fatal (3), whatever kind of mistake it is
            throw new IllegalStateException(e.getMessage(), e);
        }
        InetAddress address = loopback(config.listen());
        int port = port(config.listen());
        Pipeline pipeline = common.live();
        Clock clock = Clock.systemUTC();
        // creates the root (0700) when missing; waits lock.timeout for another writer, then exits 3 naming it
        try (PinRootLock lock = common.lock(pipeline);
             PolicySource source = PolicySources.open(config.sourcePath(), config.git(), config.interval(), clock)) {
            Metrics metrics = new Metrics(clock);
            Sidecar sidecar = new Sidecar(pipeline, source, () -> common.facts(pipeline.kernel()), config,
                    PolicySources.checkInterval(config.git(), config.interval()), clock, metrics);
            try (HTTPServer http = serve(address, port, metrics, sidecar)) {
                // the handler only asks the loop to stop: the step in progress finishes, then call() returns
                Signal.handle(new Signal("TERM"), s -> sidecar.stop());
                Signal.handle(new Signal("INT"), s -> sidecar.stop());
                LOG.info("serving /metrics, /healthz, /readyz on {}:{}", address.getHostAddress(), http.getPort());
                try {
                    sidecar.run();
                } catch (Error fatal) {
                    LOG.error("fatal: {}; exiting (the datapath stays attached)", fatal.toString());
                    return ExitCodes.ERROR;
                }
            }
        }
        return ExitCodes.OK;
    }

    private static HTTPServer serve(InetAddress address, int port, Metrics metrics, Sidecar sidecar) {
        try {
            return HTTPServer.builder().inetAddress(address).port(port).registry(metrics.registry())
                    .registerHealthHandler(false).defaultHandler(ex -> health(ex, sidecar)).buildAndStart();
        } catch (IOException e) {
            throw new IllegalStateException("metrics.listen " + address.getHostAddress() + ":" + port + ": "
                    + e.getMessage(), e);
        }
    }

    /** /healthz and /readyz; everything else but /metrics is 404. */
    private static void health(HttpExchange ex, Sidecar sidecar) throws IOException {
        String path = ex.getRequestURI().getPath();
        switch (path) {
            case "/healthz" -> {
                boolean ok = sidecar.alive();
                reply(ex, ok ? 200 : 503, ok ? "ok\n" : "the reconcile loop is not running or is stuck\n");
            }
            case "/readyz" -> reply(ex, sidecar.ready() ? 200 : 503, sidecar.readiness() + "\n");
            default -> reply(ex, 404, "not found; try /metrics, /healthz, /readyz\n");
        }
    }

    private static void reply(HttpExchange ex, int code, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        ex.sendResponseHeaders(code, b.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(b);
        }
    }

    private static InetAddress loopback(String listen) {
        int colon = listen.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalStateException("metrics.listen must be HOST:PORT, not " + listen);
        }
        InetAddress addr;
        try {
            addr = InetAddress.getByName(listen.substring(0, colon).replace("[", "").replace("]", ""));
        } catch (IOException e) {
            throw new IllegalStateException("metrics.listen " + listen + ": " + e.getMessage());
        }
        if (!addr.isLoopbackAddress()) {
            throw new IllegalStateException("metrics.listen must be a loopback address, not " + listen);
        }
        return addr;
    }

    private static int port(String listen) {
        try {
            return Integer.parseInt(listen.substring(listen.lastIndexOf(':') + 1));
        } catch (NumberFormatException e) {
            throw new IllegalStateException("metrics.listen must end in a port number, not " + listen);
        }
    }
}
