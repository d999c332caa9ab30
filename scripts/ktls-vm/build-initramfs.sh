#!/usr/bin/env bash
# Builds the kTLS test VM's initramfs: busybox, the kernel's tls module and
# the crypto modules it may ask for, the test programs with their shared
# libraries (and loader), openssl (test certificates, the interop peer), and
# the test certificates.
#
#   build-initramfs.sh VMDIR OUT.cpio.gz PROGRAM...   (PROGRAM relative to the repository)
#
# VMDIR is what fetch.sh unpacked. Programs run in /work, in the order given.
set -euo pipefail
vmdir=$1; out=$2; shift 2
kver=$(ls "$vmdir/root/lib/modules")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
stage=$(mktemp -d "${TMPDIR:-/tmp}/ktls-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,proc,sys,dev,tmp,etc,work/build,work/Tests/c,usr/bin}
cp "$vmdir/root/bin/busybox" "$stage/bin/busybox"
for applet in $("$stage/bin/busybox" --list); do
    [ -e "$stage/bin/$applet" ] || ln -s busybox "$stage/bin/$applet"
done
for applet in modprobe depmod insmod poweroff; do ln -sf ../bin/busybox "$stage/sbin/$applet"; done

# Modules: tls and everything under crypto (the kernel picks gcm, ctr,
# ghash, aesni, chacha20poly1305 ... by name at TLS_TX / TLS_RX time).
m=lib/modules/$kver
mkdir -p "$stage/$m"
(cd "$vmdir/root" && find "$m/kernel/net/tls" "$m/kernel/crypto" "$m/kernel/arch/x86/crypto" \
    "$m/kernel/lib/crypto" -name '*.ko' -exec cp --parents {} "$stage" \;)
cp "$vmdir/root/$m"/modules.{order,builtin,builtin.modinfo} "$stage/$m/"

# Programs and what they link against.
copy_with_libs() {
    local f=$1 dest=$2
    cp "$f" "$stage/$dest"
    ldd "$f" | awk '/=> \// {print $3} /^\t\/.*ld-linux/ {print $1}' | while read -r lib; do
        mkdir -p "$stage$(dirname "$lib")"
        cp -L "$lib" "$stage$lib"
    done
}
: > "$stage/work/tests.list"
for p in "$@"; do # paths relative to the repository, kept as they are under /work
    mkdir -p "$stage/work/$(dirname "$p")"
    copy_with_libs "$p" "work/$p"
    echo "./$p" >> "$stage/work/tests.list"
done
copy_with_libs "$(command -v openssl)" usr/bin/openssl
# OpenSSL's providers and config are looked up at run time.
for d in /usr/lib/ssl /usr/lib/x86_64-linux-gnu/ossl-modules /usr/lib/x86_64-linux-gnu/engines-3; do
    [ -e "$d" ] && mkdir -p "$stage$(dirname "$d")" && cp -rL "$d" "$stage$d"
done
sh "$repo/Tests/c/make_test_certs.sh" "$repo/build/test-certs"
cp -r "$repo/build/test-certs" "$stage/work/build/test-certs"
cp "$repo/Tests/c/make_test_certs.sh" "$stage/work/Tests/c/"
[ -f "$here/after-tests.sh" ] && cp "$here/after-tests.sh" "$stage/work/after-tests.sh"
echo "root:x:0:0:root:/:/bin/sh" > "$stage/etc/passwd"
echo "127.0.0.1 localhost" > "$stage/etc/hosts"
printf 'hosts: files\n' > "$stage/etc/nsswitch.conf"
cp "$here/init" "$stage/init"
chmod +x "$stage/init"

# busybox's cpio, so the host needs no cpio package.
bb=$(cd "$vmdir/root/bin" && pwd)/busybox
(cd "$stage" && find . | "$bb" cpio -o -H newc 2>/dev/null | gzip -1) > "$out"
echo "ktls-vm: initramfs $(du -h "$out" | cut -f1) ($# test programs, kernel $kver)"
