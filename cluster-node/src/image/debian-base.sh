#!/usr/bin/env bash
# Builds the base image of the AIMOS node image without Docker or a registry: Debian 12 (bookworm) packages of the
# Java 17 runtime and the tools the node runs (util-linux: prlimit, unshare, setpriv; coreutils; dash as /bin/sh),
# fetched with apt-get from the Debian mirror and unpacked into one layer, written as an image tarball in `docker save`
# format that Jib takes as its base (`tar://...`). Needs: apt with Debian's archive keys (a Debian host, or the
# debian-archive-keyring package; the package lists are bookworm's, fetched into a private apt state), dpkg-deb,
# python3, and a JDK (java runs a one-file program that writes the CA keystore).
#
#   cluster-node/src/image/debian-base.sh [OUT_DIR]       (default cluster-node/target/base-image)
#
# Output: OUT_DIR/aimos-base.tar (linux/amd64). Nothing on the host is installed or changed.
set -euo pipefail

out=$(mkdir -p "${1:-cluster-node/target/base-image}" && cd "${1:-cluster-node/target/base-image}" && pwd)
arch=amd64
suite=bookworm
mirror=${AIMOS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=(openjdk-17-jre-headless util-linux coreutils dash ca-certificates ca-certificates-java)
jvm=/usr/lib/jvm/java-17-openjdk-$arch

apt_dir=$out/apt
root=$out/rootfs
rm -rf "$root"
mkdir -p "$apt_dir"/{lists/partial,archives/partial,etc/preferences.d,etc/apt.conf.d} "$root"
: > "$apt_dir/status"
echo "deb $mirror $suite main" > "$apt_dir/sources.list"
apt_opts=(-o "Dir::State=$apt_dir" -o "Dir::State::status=$apt_dir/status" -o "Dir::Cache=$apt_dir"
  -o "Dir::Cache::archives=$apt_dir/archives" -o "Dir::Etc::sourcelist=$apt_dir/sources.list"
  -o "Dir::Etc::sourceparts=-" -o "Dir::Etc::preferencesparts=$apt_dir/etc/preferences.d"
  -o "Dir::Etc::parts=$apt_dir/etc/apt.conf.d" -o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
  -o "APT::Install-Recommends=false" -o "Debug::NoLocking=true")

echo "[base] resolving ${packages[*]} against $suite ($mirror)"
apt-get "${apt_opts[@]}" -q update >/dev/null
# an empty dpkg status: apt resolves the whole dependency closure (first alternatives) and downloads it
apt-get "${apt_opts[@]}" -q -y -d install "${packages[@]}" >/dev/null
debs=("$apt_dir"/archives/*.deb)
echo "[base] unpacking ${#debs[@]} packages"
for deb in "${debs[@]}"; do
  dpkg-deb -x "$deb" "$root"
done

# what the packages' maintainer scripts would have done
ln -sf dash "$root/bin/sh"
mkdir -p "$root/usr/bin"
for tool in java keytool; do
  ln -sf "$jvm/bin/$tool" "$root/usr/bin/$tool"
done
mkdir -p "$root/etc/ssl/certs/java"
certs=("$root"/usr/share/ca-certificates/mozilla/*.crt)
echo "[base] CA keystore from ${#certs[@]} certificates"
keystore=$root/etc/ssl/certs/java/cacerts
rm -f "$keystore"
# one JVM for all certificates (keytool once per certificate takes minutes)
cat > "$out/Cacerts.java" <<'JAVA'
import java.io.*;
import java.security.KeyStore;
import java.security.cert.*;
public class Cacerts {
  public static void main(String[] a) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    for (int i = 1; i < a.length; i++) {
      try (InputStream in = new FileInputStream(a[i])) {
        String alias = new File(a[i]).getName().replaceAll("\\.crt$", "").toLowerCase();
        KeyStore.TrustedCertificateEntry e = new KeyStore.TrustedCertificateEntry(cf.generateCertificate(in));
        ks.setEntry(alias, e, null);
      }
    }
    try (OutputStream o = new FileOutputStream(a[0])) {
      ks.store(o, "changeit".toCharArray());
    }
  }
}
JAVA
java "$out/Cacerts.java" "$keystore" "${certs[@]}"
ln -sf /etc/ssl/certs/java/cacerts "$root$jvm/lib/security/cacerts"
# the library search cache (the loader also finds the multiarch directories without it)
if command -v ldconfig >/dev/null; then
  ldconfig -r "$root" 2>/dev/null || true
fi
# users: root, nobody (sandboxes' uid when the node is root) and aimos (10001, the node's)
cat > "$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
aimos:x:10001:10001:AIMOS node:/var/lib/aimos:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
P
cat > "$root/etc/group" <<'G'
root:x:0:
aimos:x:10001:
nogroup:x:65534:
G
mkdir -p "$root/tmp" "$root/var/lib/aimos" "$root/root"
chmod 1777 "$root/tmp"
# documentation, man pages and package state are not needed at run time
rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/lintian" \
  "$root/usr/share/locale"

# one layer, written as `docker save` does: manifest.json, the image config, the layer tar
python3 - "$root" "$out" "$jvm" <<'PY'
import hashlib, io, json, os, sys, tarfile
root, out, jvm = sys.argv[1:4]
layer = os.path.join(out, "layer.tar")
owned = ("./var/lib/aimos",)
def fix(ti):
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    if ti.name in owned:
        ti.uid = ti.gid = 10001
    ti.mtime = 1
    return ti
with tarfile.open(layer, "w", format=tarfile.PAX_FORMAT) as t:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames) + sorted(filenames):
            full = os.path.join(dirpath, name)
            arc = "./" + os.path.relpath(full, root)
            t.add(full, arcname=arc, recursive=False, filter=fix)
h = hashlib.sha256()
with open(layer, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
diff_id = "sha256:" + h.hexdigest()
config = {
    "architecture": "amd64", "os": "linux",
    "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                       "JAVA_HOME=" + jvm, "LANG=C.UTF-8"]},
    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    "history": [{"created_by": "cluster-node/src/image/debian-base.sh"}],
}
cfg = json.dumps(config).encode()
cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
manifest = [{"Config": cfg_name, "RepoTags": ["aimos/base:17-bookworm"], "Layers": ["layer.tar"]}]
with tarfile.open(os.path.join(out, "aimos-base.tar"), "w") as t:
    for name, data in ((cfg_name, cfg), ("manifest.json", json.dumps(manifest).encode())):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    t.add(layer, arcname="layer.tar")
os.remove(layer)
print("[base] " + os.path.join(out, "aimos-base.tar") + " (layer " + diff_id[:19] + ")")
PY
