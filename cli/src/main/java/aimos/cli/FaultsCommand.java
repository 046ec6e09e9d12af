package aimos.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "faults", description = {"Inject a fault into the sandboxes of a model version "
    + "(POST /admin/sandboxes/{model}/{version}/faults; secops).",
    "SLOW, SILENT_WORKER and CPU_BUSY need --delay-ms."})
final class FaultsCommand extends ApiCommand {
  enum Fault { CRASH, HANG, LEAK_MEMORY, GARBAGE, OVERSIZED, SLOW, SILENT_WORKER, CPU_BUSY }

  @Parameters(index = "0", paramLabel = "MODEL", description = "the model")
  String model;

  @Parameters(index = "1", paramLabel = "VERSION", description = "its version")
  String version;

  @Option(names = "--fault", paramLabel = "FAULT", required = true, description = "one of ${COMPLETION-CANDIDATES}")
  Fault fault;

  @Option(names = "--count", paramLabel = "N", description = "requests the fault applies to (default 1)")
  Integer count;

  @Option(names = "--delay-ms", paramLabel = "MS", description = "delay of SLOW, SILENT_WORKER and CPU_BUSY")
  Integer delayMs;

  @Override
  boolean secops() {
    return true;
  }

  @Override
  int run() {
    ObjectNode body = Management.JSON.createObjectNode();
    body.put("fault", fault.name());
    if (count != null) body.put("count", count);
    if (delayMs != null) body.put("delayMs", delayMs);
    print(management().post("/admin/sandboxes/" + enc(model) + "/" + enc(version) + "/faults", body));
    return 0;
  }
}
