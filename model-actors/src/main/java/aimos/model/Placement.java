package aimos.model;

import aimos.model.sandbox.WorkerHost;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

/**
 * Which worker hosts run each version: {@code replicas} of them, chosen by rendezvous hashing of (version, host)
 * among the hosts that accept it (enough declared device memory), so versions spread over the nodes and a change
 * of membership moves only what it must. A placement sticks while its host is alive; a host that leaves is
 * replaced. In memory: after a restart the entity asks again, and hosts already running a version just say so.
 */
final class Placement {
  private final String name;
  private final ActorContext<ModelEntity.Command> ctx;

  Placement(String name, ActorContext<ModelEntity.Command> ctx) {
    this.name = name;
    this.ctx = ctx;
  }

  private Set<ActorRef<WorkerHost.Command>> hosts = Set.of();
  private final Map<String, Set<ActorRef<WorkerHost.Command>>> placed = new HashMap<>();
  private final Map<String, Set<ActorRef<WorkerHost.Command>>> refused = new HashMap<>();

  /** Retired versions whose sandboxes were told to stop; a host that joins later is told too. */
  private final Set<String> stopped = new HashSet<>();

  /** Stops the version's sandboxes on every host and places it no more. */
  void stop(String version) {
    stopped.add(version);
    placed.remove(version);
    refused.remove(version);
    hosts.forEach(h -> h.tell(new WorkerHost.StopHosting(name, version)));
  }

  void hostsChanged(Set<ActorRef<WorkerHost.Command>> now) {
    for (ActorRef<WorkerHost.Command> h : now) {
      if (!hosts.contains(h)) {
        stopped.forEach(v -> h.tell(new WorkerHost.StopHosting(name, v)));
      }
    }
    hosts = now;
    placed.values().forEach(set -> set.retainAll(now));
    // a new host may accept what others refused
    refused.clear();
  }

  void answered(String version, ActorRef<WorkerHost.Command> host, WorkerHost.HostingReply reply) {
    if (reply instanceof WorkerHost.Refused r) {
      ctx.getLog().info("Model {} version {}: host {} refused it: {}", name, version, host.path().address(),
          r.reason());
      placed.getOrDefault(version, new HashSet<>()).remove(host);
      refused.computeIfAbsent(version, k -> new HashSet<>()).add(host);
    }
  }

  void place(ModelState s) {
    for (ModelEntity.VersionInfo v : s.versions.values()) {
      if (s.retired.containsKey(v.version())) {
        continue;
      }
      Set<ActorRef<WorkerHost.Command>> on = placed.computeIfAbsent(v.version(), k -> new HashSet<>());
      Set<ActorRef<WorkerHost.Command>> no = refused.getOrDefault(v.version(), Set.of());
      List<ActorRef<WorkerHost.Command>> candidates = hosts.stream()
          .filter(h -> !on.contains(h) && !no.contains(h))
          .sorted(java.util.Comparator.comparingLong(h -> -score(v.version(), h)))
          .toList();
      for (ActorRef<WorkerHost.Command> h : candidates) {
        if (on.size() >= v.replicas()) {
          break;
        }
        on.add(h);
        ActorRef<WorkerHost.HostingReply> answer = ctx.messageAdapter(WorkerHost.HostingReply.class,
            r -> new ModelEntity.HostingAnswered(v.version(), h, r));
        h.tell(new WorkerHost.EnsureHosted(name, v, answer));
      }
    }
  }

  private long score(String version, ActorRef<WorkerHost.Command> host) {
    long x = (name + "/" + version + "@" + host.path().address()).hashCode() * 0x9E3779B97F4A7C15L;
    x ^= x >>> 29;
    return x * 0xBF58476D1CE4E5B9L;
  }
}
