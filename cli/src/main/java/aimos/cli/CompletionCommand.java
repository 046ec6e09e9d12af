package aimos.cli;

import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "completion", description = {"A bash (and zsh) completion script for aimos on stdout.",
    "Load it with: source <(bin/aimos completion)"})
final class CompletionCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().getOut().print(AutoComplete.bash("aimos", spec.root().commandLine()));
    spec.commandLine().getOut().flush();
    return 0;
  }
}
