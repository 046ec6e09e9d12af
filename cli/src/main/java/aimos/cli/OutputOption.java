package aimos.cli;

import picocli.CommandLine.Option;

/** {@code -o table|json|yaml}. */
public final class OutputOption {
  @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "table",
      description = "table, json or yaml (default: ${DEFAULT-VALUE})")
  Format format = Format.table;
}
