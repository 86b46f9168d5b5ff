package dev.bpfgit.kind.traffic;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.Le;
import dev.bpfgit.kernel.Bytes;

/** Reads the one-entry config map of a traffic unit. */
final class ConfigCodec implements EntryCodec {
    @Override
    public String key(Bytes key) {
        return "config";
    }

    @Override
    public String value(Bytes value) {
        byte[] v = value.toArray();
        return "default " + (Le.u32(v, 0) == 1 ? "drop" : "pass") + ", match " + (Le.u32(v, 4) == 1 ? "destination" : "source");
    }
}
