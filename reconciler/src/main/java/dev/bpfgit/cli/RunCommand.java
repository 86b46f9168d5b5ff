package dev.bpfgit.cli;

import com.sun.net.httpserver.HttpServer;
import dev.bpfgit.kernel.linux.PinRootLock;
import dev.bpfgit.run.Config;
import dev.bpfgit.run.Metrics;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.run.Sidecar;
import dev.bpfgit.source.DirectorySource;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "run", header = "The sidecar: keep this host equal to the policies, continuously.",
        description = {"Reconciles on every change of the source and every reconcile.interval (with jitter),",
                "keeps the last good revision while a revision is invalid, serves /metrics and /healthz on",
                "metrics.listen (loopback only). SIGTERM finishes the current step and leaves the datapath",
                "attached. Exit 0 on SIGTERM, 3 on a fatal error."})
final class RunCommand implements Callable<Integer> {
    @Mixin
    Common common;

    @Override
    public Integer call() throws Exception {
        if (common.configFile == null) {
            throw new UsageException("run needs --config FILE (see config/bpfgit.yaml)");
        }
        Config config = common.config();
        var path = config.sourcePath().orElseThrow(() -> new UsageException(common.configFile
                + ": source.path is required (the directory of policy files)"));
        Pipeline pipeline = common.live();
        try (PinRootLock lock = common.lock(pipeline)) {
            Metrics metrics = new Metrics(Clock.systemUTC());
            HttpServer http = serve(config, metrics);
            Sidecar sidecar = new Sidecar(pipeline, () -> DirectorySource.read(List.of(path)),
                    () -> common.facts(pipeline.kernel()), config, Clock.systemUTC(), metrics);
            Thread loop = Thread.currentThread();
            Thread hook = new Thread(() -> {
                sidecar.stop();
                try {
                    loop.join(30_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                http.stop(0);
                Runtime.getRuntime().halt(ExitCodes.OK);
            }, "bpfgit-sigterm");
            Runtime.getRuntime().addShutdownHook(hook);
            sidecar.loop();
            http.stop(0);
            return ExitCodes.OK;
        }
    }

    private static HttpServer serve(Config config, Metrics metrics) throws IOException {
        String listen = config.listen();
        int colon = listen.lastIndexOf(':');
        InetAddress addr = InetAddress.getByName(listen.substring(0, colon).replace("[", "").replace("]", ""));
        if (!addr.isLoopbackAddress()) {
            throw new UsageException("metrics.listen must be a loopback address, not " + listen);
        }
        HttpServer http = HttpServer.create(new InetSocketAddress(addr, Integer.parseInt(listen.substring(colon + 1))), 8);
        http.createContext("/metrics", ex -> reply(ex, 200, metrics.render()));
        http.createContext("/healthz", ex -> {
            boolean ok = metrics.healthy(config.interval().multipliedBy(3));
            reply(ex, ok ? 200 : 503, ok ? "ok\n" : "no successful reconcile recently\n");
        });
        http.start();
        return http;
    }

    private static void reply(com.sun.net.httpserver.HttpExchange ex, int code, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4");
        ex.sendResponseHeaders(code, b.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(b);
        }
    }
}
