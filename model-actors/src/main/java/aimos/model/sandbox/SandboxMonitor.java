package aimos.model.sandbox;

/** Observes sandbox lifecycles, for metrics. */
public interface SandboxMonitor {
  enum State { STARTING, READY, RESTARTING, QUARANTINED, PROBING, STOPPED }

  void stateChanged(String model, String version, State state);

  void restarted(String model, String version);

  SandboxMonitor NONE = new SandboxMonitor() {
    @Override
    public void stateChanged(String model, String version, State state) {}

    @Override
    public void restarted(String model, String version) {}
  };
}
