#!/usr/bin/env bash
# make ktls-vm: proves kernel TLS offload in a VM, because the kernels this
# project is developed on may lack CONFIG_TLS. Debian's stock kernel has it
# (as a module). Fetches the kernel and busybox (fetch.sh), packs the test
# programs into an initramfs (build-initramfs.sh), boots it with KVM, or
# with TCG when /dev/kvm is missing or the guest does not come up under it
# (nested setups where KVM exists but cannot run this kernel), and turns the
# verdict printed on the serial console into the exit status.
#
#   run.sh PROGRAM...        (from the repository root; programs are built)
#
# KTLS_VM_ARGS adds kernel command-line words (the guest's /init passes
# RF_*=N words to the tests as environment variables).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vmdir=${KTLS_VM_DIR:-build/ktls-vm}
timeout_s=${KTLS_VM_TIMEOUT:-900}   # whole run, TCG included
kvm_boot_s=${KTLS_VM_KVM_BOOT:-60} # time for the guest's first line under KVM

"$here/fetch.sh" "$vmdir"
kpkg=$(cat "$vmdir/kernel-package")
kernel=$(ls "$vmdir"/root/boot/vmlinuz-*)
"$here/build-initramfs.sh" "$vmdir" "$vmdir/initramfs.cpio.gz" "$@"
log="$vmdir/console.log"

# boot LOG ACCEL...: runs the VM in the background, its pid in vm_pid.
boot() {
    local out=$1; shift
    timeout "$timeout_s" qemu-system-x86_64 "$@" -m 2048 -smp 2 -nographic -no-reboot \
        -kernel "$kernel" -initrd "$vmdir/initramfs.cpio.gz" \
        -append "console=ttyS0 panic=-1 quiet loglevel=3 ${KTLS_VM_ARGS:-}" -nic none \
        </dev/null >"$out" 2>&1 &
    vm_pid=$!
}

# wait_for PID PATTERN SECONDS: 0 once the console shows PATTERN, 1 if the
# VM ended or the time ran out first.
wait_for() {
    local pid=$1 pattern=$2 until=$((SECONDS + $3))
    while [ $SECONDS -lt $until ]; do
        grep -q "$pattern" "$log" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || { grep -q "$pattern" "$log" 2>/dev/null; return; }
        sleep 1
    done
    return 1
}

vm_pid=""
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    echo "ktls-vm: booting $kpkg with KVM, console in $log"
    boot "$log" -enable-kvm -cpu host
    if ! wait_for "$vm_pid" '^RF-KTLS-VM: kernel' "$kvm_boot_s"; then
        echo "ktls-vm: the guest did not come up under KVM within ${kvm_boot_s} s; using TCG"
        kill "$vm_pid" 2>/dev/null || true
        wait "$vm_pid" 2>/dev/null || true
        vm_pid=""
    fi
else
    echo "ktls-vm: /dev/kvm not usable; using TCG"
fi
if [ -z "$vm_pid" ]; then
    echo "ktls-vm: booting $kpkg with TCG (emulated, slow), console in $log"
    boot "$log" -accel tcg -cpu max
fi
wait "$vm_pid" 2>/dev/null || true
grep -E 'RF-KTLS-VM|ok \(|FAIL|check failed|failed:|wss loopback|interop|ns/msg' "$log" | tr -d '\r' || true
if grep -q '^RF-KTLS-VM: PASS' "$log"; then
    echo "ktls-vm: PASS"
    exit 0
fi
echo "ktls-vm: FAIL (see $log)"
exit 1
