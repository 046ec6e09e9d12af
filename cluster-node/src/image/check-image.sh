#!/usr/bin/env bash
# Runs the built image without a container runtime: unpacks cluster-node/target/jib-image.tar (its layers in order)
# into a directory and starts, in a chroot as the image's user (10001), `java -version` and the DDL applier with
# --print (the JRE, the classpath file, the packaged DDL and the node's configuration). Needs root (chroot, /proc).
#
#   cluster-node/src/image/check-image.sh [IMAGE_TAR]
set -euo pipefail
tar_file=$(cd "$(dirname "${1:-cluster-node/target/jib-image.tar}")" && pwd)/$(basename "${1:-cluster-node/target/jib-image.tar}")
work=$(mktemp -d)
root=$work/root
mkdir -p "$root"
cleanup() {
  umount "$root/proc" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
tar -xf "$tar_file" -C "$work" manifest.json
for layer in $(python3 -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))[0]['Layers']))" \
    "$work/manifest.json"); do
  tar -xf "$tar_file" -C "$work" "$layer"
  tar -xf "$work/$layer" -C "$root"
  rm -f "$work/$layer"
done
config=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[0]['Config'])" "$work/manifest.json")
tar -xf "$tar_file" -C "$work" "$config"
echo "[image] entrypoint: $(python3 -c "import json,sys; c=json.load(open(sys.argv[1]))['config']; \
print(c.get('Entrypoint'), 'user', c.get('User'), 'workdir', c.get('WorkingDir'))" "$work/$config")"
mkdir -p "$root/proc"
mount -t proc proc "$root/proc"
chroot --userspec=10001:10001 "$root" /usr/bin/java -version
chroot --userspec=10001:10001 "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/var/lib/aimos \
  java -cp @/app/jib-classpath-file aimos.node.schema.ApplyDdl --print | grep -c '^CREATE' \
  | sed 's/^/[image] DDL statements printed by ApplyDdl in the image: /'
