package dev.bpfgit.apply;

import java.nio.file.Path;

/** bpfgit never touches a pin outside its root: every path is checked before use. */
public final class PinGuard {
    private PinGuard() {
    }

    public static Path check(Path root, Path pin) {
        Path n = pin.normalize();
        if (!n.startsWith(root.normalize())) {
            throw new IllegalArgumentException("refusing to touch " + pin + ": outside the pin root " + root);
        }
        return n;
    }
}
