package aimos.model.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The status a sandbox exits with reaches the supervisor as the program gave it, whatever the order of its steps. */
class SandboxProcessExitTest {

  @Test
  void aLauncherThatExitsAMomentAfterItsOutputClosesKeepsItsOwnStatus() throws Exception {
    SandboxSettings settings = SandboxSettings.forCurrentJvm(Files.createTempDirectory("sandbox-exit"));
    // as a launcher does once its child aborted: the output is closed, it has no child left, and it exits 134 a
    // moment later (the builtin read waits on the node's open stdin, so no process of its own is involved)
    var launcher = List.of("bash", "-c", "exec >&-; read -r -t 1 _; exit 134");
    SandboxProcess p = SandboxProcess.start(settings.launchSpec(settings.workDir().resolve("m").resolve("v1")),
        launcher, true, "echo-text", 1, settings.maxReplyBytes());
    p.onExit().get(30, TimeUnit.SECONDS);
    assertEquals(134, p.exitCode());
  }

  @Test
  void aProgramThatClosesItsOutputButLingersIsKilled() throws Exception {
    SandboxSettings settings = SandboxSettings.forCurrentJvm(Files.createTempDirectory("sandbox-exit"));
    var lingering = List.of("bash", "-c", "exec >&-; read -r -t 600 _; exit 0");
    SandboxProcess p = SandboxProcess.start(settings.launchSpec(settings.workDir().resolve("m").resolve("v1")),
        lingering, true, "echo-text", 1, settings.maxReplyBytes());
    p.onExit().get(30, TimeUnit.SECONDS);
    assertEquals(137, p.exitCode());
  }
}
