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

  ModelState apply(ModelEntity.Event event) {
    if (event instanceof ModelEntity.ModelRegistered e) {
      registered = true;
      description = e.description();
    } else if (event instanceof ModelEntity.VersionRegistered e) {
      versions.put(e.info().version(), e.info());
      defaultVersion = e.info().version();
    }
    return this;
  }

  ModelEntity.ModelView view(String name, int liveWorkers) {
    return new ModelEntity.ModelView(name, description, new ArrayList<>(versions.values()), defaultVersion,
        liveWorkers);
  }
}
