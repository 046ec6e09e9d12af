package aimos.node.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every manifest in {@code k8s/} read as typed Kubernetes objects (fabric8's model: a kind it does not know, or a field
 * its type does not have, fails), then checked against the rules a deployment relies on: limits, the restricted
 * security context, no secret in a manifest, a PodDisruptionBudget and Services that select the pods they mean, probes
 * on declared ports, the image the build makes, the DDL Job running the applier, and memory that holds the node's
 * heap and its sandboxes.
 */
class KubernetesManifestsTest {
  private static final Path K8S = Path.of("..", "k8s");
  /** Containers whose root filesystem stays writable, and why (the comment in the manifest says it too). */
  private static final Map<String, String> WRITABLE_ROOT = Map.of(
      "cassandra", "the cassandra image's entrypoint writes /etc/cassandra/cassandra.yaml at start");
  /** Beside the heap: metaspace (capped at 256 MiB), code cache, thread stacks, direct buffers. */
  private static final long NODE_NON_HEAP = 512L << 20;
  /** What the manifest's comment promises the sandboxes of one node. */
  private static final long SANDBOX_BUDGET = 4L << 30;

  private static final Map<String, List<HasMetadata>> byFile = new LinkedHashMap<>();
  private static final List<HasMetadata> all = new ArrayList<>();

  @BeforeAll
  static void load() throws IOException {
    KubernetesSerialization serialization = new KubernetesSerialization();
    try (var files = Files.list(K8S)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        List<HasMetadata> objects = new ArrayList<>();
        int n = 0;
        for (String doc : Files.readString(f).split("(?m)^---\\s*$")) {
          n++;
          if (doc.lines().allMatch(l -> l.isBlank() || l.strip().startsWith("#"))) {
            continue;
          }
          Object o = serialization.unmarshal(doc);
          String where = f.getFileName() + " document " + n;
          assertTrue(o instanceof HasMetadata, where + " is not a Kubernetes object: " + o);
          assertFalse(o instanceof GenericKubernetesResource, where + " has a kind the model does not know: "
              + ((HasMetadata) o).getApiVersion() + "/" + ((HasMetadata) o).getKind());
          List<String> unknown = new ArrayList<>();
          unknownFields(o, where + " " + ((HasMetadata) o).getKind(), unknown, new IdentityHashMap<>());
          assertEquals(List.of(), unknown, "fields the Kubernetes API does not have");
          objects.add((HasMetadata) o);
        }
        byFile.put(f.getFileName().toString(), objects);
        all.addAll(objects);
      }
    }
  }

  /** Fields the model kept aside as "additional properties": not part of the Kubernetes API, a typo or a misplace. */
  private static void unknownFields(Object o, String path, List<String> found, IdentityHashMap<Object, Boolean> seen) {
    if (o == null || seen.put(o, Boolean.TRUE) != null) {
      return;
    }
    if (o instanceof Collection<?> c) {
      int i = 0;
      for (Object e : c) {
        unknownFields(e, path + "[" + i++ + "]", found, seen);
      }
      return;
    }
    if (o instanceof Map<?, ?> m) {
      m.forEach((k, v) -> unknownFields(v, path + "." + k, found, seen));
      return;
    }
    if (!o.getClass().getName().startsWith("io.fabric8.")) {
      return;
    }
    for (Method g : o.getClass().getMethods()) {
      if (g.getParameterCount() != 0 || Modifier.isStatic(g.getModifiers()) || !g.getName().startsWith("get")
          || g.getDeclaringClass() == Object.class) {
        continue;
      }
      Object v;
      try {
        v = g.invoke(o);
      } catch (ReflectiveOperationException e) {
        continue;
      }
      if (g.getName().equals("getAdditionalProperties")) {
        if (v instanceof Map<?, ?> extra && !extra.isEmpty()) {
          found.add(path + ": " + extra.keySet());
        }
      } else if (!(o instanceof Quantity) && !(o instanceof IntOrString)) {
        unknownFields(v, path + "." + g.getName().substring(3, 4).toLowerCase() + g.getName().substring(4), found,
            seen);
      }
    }
  }

  private static <T> List<T> ofType(Class<T> type) {
    return all.stream().filter(type::isInstance).map(type::cast).toList();
  }

  /** Every pod template: Deployments, StatefulSets and Jobs, by "Kind/name". */
  private static Map<String, PodTemplateSpec> podTemplates() {
    Map<String, PodTemplateSpec> t = new LinkedHashMap<>();
    ofType(Deployment.class).forEach(d -> t.put("Deployment/" + d.getMetadata().getName(), d.getSpec().getTemplate()));
    ofType(StatefulSet.class).forEach(s -> t.put("StatefulSet/" + s.getMetadata().getName(),
        s.getSpec().getTemplate()));
    ofType(Job.class).forEach(j -> t.put("Job/" + j.getMetadata().getName(), j.getSpec().getTemplate()));
    return t;
  }

  private static List<Container> containersOf(PodTemplateSpec t) {
    List<Container> c = new ArrayList<>(t.getSpec().getContainers());
    c.addAll(t.getSpec().getInitContainers());
    return c;
  }

  private static Deployment aimos() {
    return ofType(Deployment.class).stream().filter(d -> d.getMetadata().getName().equals("aimos")).findFirst()
        .orElseThrow(() -> new AssertionError("no Deployment aimos"));
  }

  private static boolean selects(Map<String, String> selector, Map<String, String> labels) {
    return selector != null && !selector.isEmpty() && labels != null
        && selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
  }

  @Test
  void everyFileHoldsTheObjectsADeploymentNeeds() {
    assertEquals(Set.of("aimos.yaml", "cassandra.yaml", "ddl-job.yaml", "network-policies.yaml"), byFile.keySet());
    List<String> kinds = all.stream().map(HasMetadata::getKind).distinct().sorted().toList();
    assertEquals(List.of("Deployment", "Job", "Namespace", "NetworkPolicy", "PodDisruptionBudget", "Role",
        "RoleBinding", "Service", "ServiceAccount", "StatefulSet"), kinds);
    for (HasMetadata o : all) {
      if (!o.getKind().equals("Namespace")) {
        assertEquals("aimos", o.getMetadata().getNamespace(), o.getKind() + "/" + o.getMetadata().getName());
      }
    }
  }

  @Test
  void everyContainerHasLimitsAndTheRestrictedSecurityContext() {
    Map<String, PodTemplateSpec> templates = podTemplates();
    assertEquals(Set.of("Deployment/aimos", "StatefulSet/cassandra", "Job/aimos-ddl"), templates.keySet());
    templates.forEach((name, t) -> {
      PodSecurityContext pod = t.getSpec().getSecurityContext();
      assertNotNull(pod, name + ": pod securityContext");
      assertEquals(Boolean.TRUE, pod.getRunAsNonRoot(), name + ": runAsNonRoot");
      assertNotNull(pod.getRunAsUser(), name + ": a numeric runAsUser (runAsNonRoot cannot check a user name)");
      assertTrue(pod.getRunAsUser() > 0, name + ": runAsUser");
      assertEquals("RuntimeDefault", pod.getSeccompProfile().getType(), name + ": seccomp");
      for (Container c : containersOf(t)) {
        String where = name + " container " + c.getName();
        assertNotNull(c.getResources().getLimits(), where + ": limits");
        assertNotNull(c.getResources().getLimits().get("memory"), where + ": memory limit");
        assertNotNull(c.getResources().getLimits().get("cpu"), where + ": cpu limit");
        assertEquals(c.getResources().getLimits().get("memory"), c.getResources().getRequests().get("memory"),
            where + ": memory request = limit");
        SecurityContext sc = c.getSecurityContext();
        assertNotNull(sc, where + ": securityContext");
        assertEquals(Boolean.TRUE, sc.getRunAsNonRoot(), where + ": runAsNonRoot");
        assertEquals(Boolean.FALSE, sc.getAllowPrivilegeEscalation(), where + ": allowPrivilegeEscalation");
        assertEquals(List.of("ALL"), sc.getCapabilities().getDrop(), where + ": capabilities dropped");
        assertTrue(sc.getCapabilities().getAdd() == null || sc.getCapabilities().getAdd().isEmpty(),
            where + ": no capability added");
        assertTrue(sc.getPrivileged() == null || !sc.getPrivileged(), where + ": not privileged");
        assertEquals(!WRITABLE_ROOT.containsKey(c.getName()), sc.getReadOnlyRootFilesystem(),
            where + ": readOnlyRootFilesystem");
      }
    });
  }

  @Test
  void noSecretIsShippedAndSecretsComeFromTheOperatorsSecret() {
    for (Secret s : ofType(Secret.class)) {
      assertTrue((s.getData() == null || s.getData().isEmpty()) && (s.getStringData() == null
          || s.getStringData().isEmpty()), "Secret " + s.getMetadata().getName() + " holds literal data");
    }
    Pattern secretish = Pattern.compile(".*(TOKEN|PASSWORD|SECRET|API_KEY|PRIVATE_KEY).*");
    podTemplates().forEach((name, t) -> containersOf(t).forEach(c -> {
      for (EnvVar e : c.getEnv()) {
        if (secretish.matcher(e.getName()).matches() && !e.getName().endsWith("_FILE")) {
          assertTrue(e.getValue() == null && e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null,
              name + " " + e.getName() + " must come from a Secret, not a literal");
        }
        if (e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null) {
          String secret = e.getValueFrom().getSecretKeyRef().getName();
          assertTrue(ofType(Secret.class).stream().noneMatch(s -> s.getMetadata().getName().equals(secret)),
              "Secret " + secret + " is the operator's to create, not a manifest's");
        }
      }
    }));
    EnvVar admin = aimos().getSpec().getTemplate().getSpec().getContainers().get(0).getEnv().stream()
        .filter(e -> e.getName().equals("AIMOS_ADMIN_TOKEN")).findFirst().orElseThrow();
    assertEquals("aimos-admin", admin.getValueFrom().getSecretKeyRef().getName());
    assertFalse(Boolean.TRUE.equals(admin.getValueFrom().getSecretKeyRef().getOptional()), "admin token required");
  }

  @Test
  void disruptionBudgetAndSpreadKeepAMajorityOfTheNodes() {
    Deployment d = aimos();
    int replicas = d.getSpec().getReplicas();
    assertEquals(3, replicas);
    Map<String, String> labels = d.getSpec().getTemplate().getMetadata().getLabels();
    assertTrue(selects(d.getSpec().getSelector().getMatchLabels(), labels), "the Deployment selects its pods");
    List<PodDisruptionBudget> pdbs = ofType(PodDisruptionBudget.class).stream()
        .filter(p -> selects(p.getSpec().getSelector().getMatchLabels(), labels)).toList();
    assertEquals(1, pdbs.size(), "one PodDisruptionBudget selects the AIMOS pods");
    var spec = pdbs.get(0).getSpec();
    int mayLeave = spec.getMaxUnavailable() != null ? spec.getMaxUnavailable().getIntVal()
        : replicas - spec.getMinAvailable().getIntVal();
    assertEquals(1, mayLeave, "a voluntary disruption takes at most one node");
    assertTrue(replicas - mayLeave > replicas / 2, "the rest is a majority for keep-majority");
    assertEquals(0, d.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable().getIntVal(),
        "a rollout starts the new node before stopping an old one");

    var spread = d.getSpec().getTemplate().getSpec().getTopologySpreadConstraints();
    var host = spread.stream().filter(s -> s.getTopologyKey().equals("kubernetes.io/hostname")).findFirst()
        .orElseThrow(() -> new AssertionError("no spread over hosts"));
    assertEquals("DoNotSchedule", host.getWhenUnsatisfiable());
    assertEquals(1, host.getMaxSkew());
    assertTrue(selects(host.getLabelSelector().getMatchLabels(), labels), "the spread counts the AIMOS pods");
  }

  @Test
  void servicesSelectPodsAndTargetTheirPorts() {
    Map<String, PodTemplateSpec> templates = podTemplates();
    for (Service s : ofType(Service.class)) {
      List<PodTemplateSpec> selected = templates.values().stream()
          .filter(t -> selects(s.getSpec().getSelector(), t.getMetadata().getLabels())).toList();
      assertFalse(selected.isEmpty(), "Service " + s.getMetadata().getName() + " selects no pod");
      for (ServicePort p : s.getSpec().getPorts()) {
        IntOrString target = p.getTargetPort() == null ? new IntOrString(p.getPort()) : p.getTargetPort();
        for (PodTemplateSpec t : selected) {
          assertTrue(declares(t.getSpec().getContainers(), target), "Service " + s.getMetadata().getName()
              + " targets port " + target + " that its pods do not declare");
        }
      }
    }
    assertTrue(ofType(Service.class).stream().anyMatch(s -> s.getMetadata().getName().equals("aimos-gateway")));
    assertTrue(ofType(Service.class).stream().anyMatch(s -> s.getMetadata().getName().equals("aimos-management")));
  }

  private static boolean declares(List<Container> containers, IntOrString port) {
    return containers.stream().flatMap(c -> c.getPorts().stream()).anyMatch((ContainerPort cp) ->
        port.getStrVal() != null ? port.getStrVal().equals(cp.getName())
            : Objects.equals(port.getIntVal(), cp.getContainerPort()));
  }

  @Test
  void probesPointAtDeclaredPorts() {
    podTemplates().forEach((name, t) -> {
      for (Container c : t.getSpec().getContainers()) {
        if (name.startsWith("Job/")) {
          continue;
        }
        assertNotNull(c.getReadinessProbe(), name + ": readiness probe");
        assertNotNull(c.getLivenessProbe(), name + ": liveness probe");
        for (Probe p : new Probe[] {c.getReadinessProbe(), c.getLivenessProbe(), c.getStartupProbe()}) {
          if (p == null) {
            continue;
          }
          IntOrString port = p.getHttpGet() != null ? p.getHttpGet().getPort() : p.getTcpSocket().getPort();
          assertTrue(declares(List.of(c), port), name + ": a probe on undeclared port " + port);
        }
      }
    });
    Container node = aimos().getSpec().getTemplate().getSpec().getContainers().get(0);
    assertEquals("/ready", node.getReadinessProbe().getHttpGet().getPath());
    assertEquals("/alive", node.getLivenessProbe().getHttpGet().getPath());
    Map<String, String> scrape = aimos().getSpec().getTemplate().getMetadata().getAnnotations();
    assertEquals("true", scrape.get("prometheus.io/scrape"));
    assertTrue(declares(List.of(node), new IntOrString(Integer.parseInt(scrape.get("prometheus.io/port")))),
        "metrics scraped from a declared port");
  }

  @Test
  void theImageIsTheOneTheBuildMakesAndTheJobRunsTheApplier() throws Exception {
    String pom = Files.readString(Path.of("pom.xml"));
    Matcher name = Pattern.compile("<image\\.name>([^<]+)</image\\.name>").matcher(pom);
    assertTrue(name.find(), "cluster-node/pom.xml has no image.name");
    String parent = Files.readString(Path.of("..", "pom.xml"));
    Matcher version = Pattern.compile("<artifactId>aimos-parent</artifactId>\\s*<version>([^<]+)</version>")
        .matcher(parent);
    assertTrue(version.find(), "the parent pom's version");
    String image = name.group(1) + ":" + version.group(1);
    podTemplates().forEach((n, t) -> containersOf(t).forEach(c -> {
      if (!c.getName().equals("cassandra")) {
        assertEquals(image, c.getImage(), n + " runs the image the build makes");
      }
    }));
    Container ddl = ofType(Job.class).get(0).getSpec().getTemplate().getSpec().getContainers().get(0);
    List<String> command = ddl.getCommand();
    assertEquals(List.of("java", "-cp", "@/app/jib-classpath-file"), command.subList(0, 3),
        "Jib's classpath file in its default app root");
    Class<?> main = Class.forName(command.get(3));
    assertEquals(aimos.node.schema.ApplyDdl.class, main);
    assertTrue(Modifier.isStatic(main.getMethod("main", String[].class).getModifiers()));
  }

  @Test
  void memoryLimitHoldsTheNodeHeapAndItsSandboxes() {
    Container node = aimos().getSpec().getTemplate().getSpec().getContainers().get(0);
    String opts = node.getEnv().stream().filter(e -> e.getName().equals("JAVA_TOOL_OPTIONS")).findFirst()
        .orElseThrow().getValue();
    assertFalse(opts.contains("MaxRAMPercentage"), "the heap is not a share of a limit that also holds sandboxes");
    Matcher xmx = Pattern.compile("-Xmx(\\d+)([mg])").matcher(opts);
    assertTrue(xmx.find(), "an explicit -Xmx: " + opts);
    long heap = Long.parseLong(xmx.group(1)) << (xmx.group(2).equals("g") ? 30 : 20);
    BigDecimal limit = Quantity.getAmountInBytes(node.getResources().getLimits().get("memory"));
    assertTrue(BigDecimal.valueOf(heap + NODE_NON_HEAP + SANDBOX_BUDGET).compareTo(limit) <= 0,
        "heap " + heap + " + non-heap + sandbox budget exceed the limit " + limit);
    assertTrue(opts.contains("-Duser.home=/var/lib/aimos"), "the launcher cache on the writable volume");
    List<String> writable = node.getVolumeMounts().stream().map(m -> m.getMountPath()).toList();
    assertTrue(writable.containsAll(List.of("/tmp", "/var/lib/aimos")), "writable mounts: " + writable);
    String sandboxDir = node.getEnv().stream().filter(e -> e.getName().equals("AIMOS_SANDBOX_DIR")).findFirst()
        .orElseThrow().getValue();
    assertTrue(sandboxDir.startsWith("/var/lib/aimos/"), "sandboxes work on the writable volume: " + sandboxDir);
  }
}
