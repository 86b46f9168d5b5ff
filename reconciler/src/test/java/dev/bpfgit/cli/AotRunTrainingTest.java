package dev.bpfgit.cli;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** run's AOT training (aot-cache.sh's train_run) goes through the sidecar's first apply and every edit. */
class AotRunTrainingTest {
    @Test
    void theSidecarAppliesTheFirstRevisionAndEveryEdit() throws Exception {
        List<String> revisions = AotRunTraining.train(300, 3);
        assertEquals(4, revisions.size(), revisions.toString());
        assertEquals(4, new HashSet<>(revisions).size(), "every edit is a new revision: " + revisions);
    }
}
