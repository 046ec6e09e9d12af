package aimos.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "version", description = "The CLI's version and the Java it runs on.")
final class VersionCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  OutputOption output;

  @Override
  public Integer call() {
    ObjectNode v = Management.JSON.createObjectNode();
    v.put("version", VersionProvider.version());
    v.put("java", Runtime.version().toString());
    PrintWriter out = spec.commandLine().getOut();
    out.print(Render.render(v, output.format));
    out.flush();
    return 0;
  }
}
