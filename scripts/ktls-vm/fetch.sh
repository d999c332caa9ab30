#!/usr/bin/env bash
# Fetches what the kTLS VM needs, without installing a kernel on this machine:
# Debian's stock kernel (CONFIG_TLS=m) and a static busybox are downloaded
# as .deb files and unpacked under the build directory; qemu is installed
# with apt if it is missing.
set -euo pipefail
out=${1:?usage: fetch.sh OUTDIR}
mkdir -p "$out/debs"

if ! command -v qemu-system-x86_64 >/dev/null; then
    echo "ktls-vm: installing qemu-system-x86"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
fi

# linux-image-amd64 is a metapackage; its dependency names the real kernel.
kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kpkg" ] || { echo "ktls-vm: cannot find the kernel package behind linux-image-amd64" >&2; exit 1; }

cd "$out/debs"
for p in "$kpkg" busybox-static; do
    ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download -q "$p"
done
cd - >/dev/null

if [ ! -f "$out/root/.unpacked-$kpkg" ]; then
    rm -rf "$out/root"
    mkdir -p "$out/root"
    for d in "$out"/debs/*.deb; do dpkg-deb -x "$d" "$out/root"; done
    touch "$out/root/.unpacked-$kpkg"
fi
echo "$kpkg" > "$out/kernel-package"
