package aimos.node;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The real inputs the model runtimes are tested on, kept with them in model-actors. */
final class Fixtures {
  private static final Path ROOT = Path.of("..", "model-actors", "src", "test", "resources", "fixtures");

  /** A JSGF grammar of the spoken commands in the audio fixtures ("open the door", ...). */
  static final String COMMANDS = """
      #JSGF V1.0;
      grammar commands;
      public <command> = (open | close) the (door | window) | turn (on | off) the light;
      """;

  private Fixtures() {}

  static byte[] image(String name) {
    return read(ROOT.resolve("images").resolve(name));
  }

  static byte[] audio(String name) {
    return read(ROOT.resolve("audio").resolve(name));
  }

  private static byte[] read(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
