#!/usr/bin/env bash
# Runs the built image without a container runtime: unpacks cluster-node/target/jib-image.tar (its layers in order)
# into a directory and starts, in a chroot as the image's user (10001), `java -version` and the DDL applier with
# --print (the JRE, the classpath file, the packaged DDL and the node's configuration). Needs root (chroot, /proc).
# With AIMOS_CHECK_CQL=host:port (a Cassandra, e.g. `java -cp ... aimos.cassandra.CassandraMain DIR PORT`), it then
# does what the Kubernetes manifests do: the DDL Job's command applies the schema to fresh keyspaces, and the image's
# entry point starts a node with AIMOS_CREATE_TABLES=false and the Deployment's JVM options on that schema, which must
# answer /ready and an admin call.
#
#   [AIMOS_CHECK_CQL=127.0.0.1:9042] cluster-node/src/image/check-image.sh [IMAGE_TAR]
set -euo pipefail
tar_file=$(cd "$(dirname "${1:-cluster-node/target/jib-image.tar}")" && pwd)/$(basename "${1:-cluster-node/target/jib-image.tar}")
work=$(mktemp -d)
root=$work/root
mkdir -p "$root"
node_pid=
cleanup() {
  if [ -n "$node_pid" ]; then
    kill -TERM "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  umount "$root/proc" 2>/dev/null || true
  umount "$root/dev" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
tar -xf "$tar_file" -C "$work" manifest.json
for layer in $(python3 -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))[0]['Layers']))" \
    "$work/manifest.json"); do
  tar -xf "$tar_file" -C "$work" "$layer"
  tar --warning=no-unknown-keyword -xf "$work/$layer" -C "$root"
  rm -f "$work/$layer"
done
config=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[0]['Config'])" "$work/manifest.json")
tar -xf "$tar_file" -C "$work" "$config"
echo "[image] entrypoint: $(python3 -c "import json,sys; c=json.load(open(sys.argv[1]))['config']; \
print(c.get('Entrypoint'), 'user', c.get('User'), 'workdir', c.get('WorkingDir'))" "$work/$config")"
# what the container runtime and the pod give: /proc, /dev, and /var/lib/aimos writable by the node (an emptyDir
# with fsGroup 10001 in aimos.yaml; the image's own directory is root's)
mkdir -p "$root/proc" "$root/dev"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
chown 10001:10001 "$root/var/lib/aimos"
chroot --userspec=10001:10001 "$root" /usr/bin/java -version
chroot --userspec=10001:10001 "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/var/lib/aimos \
  java -cp @/app/jib-classpath-file aimos.node.schema.ApplyDdl --print | grep -c '^CREATE' \
  | sed 's/^/[image] DDL statements printed by ApplyDdl in the image: /'

[ -n "${AIMOS_CHECK_CQL:-}" ] || exit 0

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
suffix=img$$
image_env=(PATH=/usr/bin:/bin HOME=/var/lib/aimos AIMOS_CASSANDRA_CONTACT_POINTS="$AIMOS_CHECK_CQL"
  AIMOS_JOURNAL_KEYSPACE=${suffix}_journal AIMOS_SNAPSHOT_KEYSPACE=${suffix}_snapshot
  AIMOS_OFFSETS_KEYSPACE=${suffix}_offsets AIMOS_BILLING_KEYSPACE=${suffix}_billing)
echo "[image] the DDL Job's command against $AIMOS_CHECK_CQL (keyspaces ${suffix}_*)"
chroot --userspec=10001:10001 "$root" /usr/bin/env -i "${image_env[@]}" \
  JAVA_TOOL_OPTIONS="-Xmx256m -Djava.io.tmpdir=/tmp" java -cp @/app/jib-classpath-file aimos.node.schema.ApplyDdl \
  2>&1 | grep -v "Picked up JAVA_TOOL_OPTIONS"
token=$(head -c 32 /dev/urandom | base64)
management=$(free_port)
gateway=$(free_port)
remoting=$(free_port)
entrypoint=$(python3 -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))['config']['Entrypoint']))" \
  "$work/$config")
echo "[image] the entry point with AIMOS_CREATE_TABLES=false: $entrypoint"
chroot --userspec=10001:10001 "$root" /usr/bin/env -i "${image_env[@]}" AIMOS_CREATE_TABLES=false \
  AIMOS_ADMIN_TOKEN="$token" AIMOS_MANAGEMENT_HOST=127.0.0.1 AIMOS_MANAGEMENT_PORT="$management" \
  AIMOS_GATEWAY_HOST=127.0.0.1 AIMOS_GATEWAY_PORT="$gateway" AIMOS_CLUSTER_HOST=127.0.0.1 \
  AIMOS_CLUSTER_PORT="$remoting" AIMOS_SANDBOX_DIR=/var/lib/aimos/sandboxes \
  JAVA_TOOL_OPTIONS="-Xms1536m -Xmx1536m -XX:MaxMetaspaceSize=256m -XX:+ExitOnOutOfMemoryError -Djava.io.tmpdir=/tmp" \
  sh -c "cd /var/lib/aimos && exec $entrypoint" > "$work/node.log" 2>&1 &
node_pid=$!
for i in $(seq 1 120); do
  if curl -sf -o /dev/null "http://127.0.0.1:$management/ready"; then
    echo "[image] node ready after ~${i}s"
    break
  fi
  if ! kill -0 "$node_pid" 2>/dev/null; then
    echo "[image] the node exited:"; tail -30 "$work/node.log"; exit 1
  fi
  sleep 1
done
curl -sf -o /dev/null "http://127.0.0.1:$management/ready" || { echo "[image] not ready"; tail -30 "$work/node.log"; exit 1; }
printf '[image] POST /admin/tenants: '
curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  "http://127.0.0.1:$management/admin/tenants" -d '{"id": "imagecheck", "name": "Image check", "plan": {"requestsPerMinute": 60, "tokensPerMinute": 10000, "monthlyBudgetUsd": 10, "maxConcurrentRequests": 2}}'
printf '[image] GET /admin/tenants/imagecheck: '
curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $token" "http://127.0.0.1:$management/admin/tenants/imagecheck"
grep -E "Sandbox containment layers|Sandboxes isolated with" "$work/node.log" | cut -c1-300 || true
if grep -qi "exception\|error" "$work/node.log"; then
  echo "[image] errors in the node's log:"; grep -i "exception\|error" "$work/node.log" | head -10 | cut -c1-300
fi
