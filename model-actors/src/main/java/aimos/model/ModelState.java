package aimos.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;

/**
 * What a model's events built: registered or not, its description and its immutable versions (the newest is the
 * default). Changed by {@link #apply} only; snapshots are immutable copies taken by {@link ModelSnapshots}.
 */
public final class ModelState {
  boolean registered;
  String description = "";
  final LinkedHashMap<String, ModelEntity.VersionInfo> versions = new LinkedHashMap<>();
  String defaultVersion = "";
  /** Retired versions and when, in the order they were retired. */
  final LinkedHashMap<String, Long> retired = new LinkedHashMap<>();

  ModelState apply(ModelEntity.Event event) {
    if (event instanceof ModelEntity.ModelRegistered e) {
      registered = true;
      description = e.description();
    } else if (event instanceof ModelEntity.VersionRegistered e) {
      versions.put(e.info().version(), e.info());
      defaultVersion = e.info().version();
    } else if (event instanceof ModelEntity.VersionRetired e) {
      retired.put(e.version(), e.retiredAtMillis());
      // the default is the newest version still serving
      defaultVersion = "";
      versions.keySet().forEach(v -> {
        if (!retired.containsKey(v)) {
          defaultVersion = v;
        }
      });
    }
    return this;
  }

  ModelEntity.ModelView view(String name, int liveWorkers) {
    return new ModelEntity.ModelView(name, description, new ArrayList<>(versions.values()), defaultVersion,
        liveWorkers, new ArrayList<>(retired.keySet()));
  }
}
