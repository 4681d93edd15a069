#!/bin/sh
# Runs inside the kernel-tier VM (virtme-ng shares the host's file system, so the freshly
# built test binaries run unchanged). Usage: vm-guest.sh RESULTS NONCE TESTBIN...
#
# RESULTS is the one directory the guest may write (vng --rwdir). For each test binary it
# leaves NAME.log and NAME.rc; then `uname` and, last, `done` holding NONCE. The host
# trusts nothing else: no `done` with the right nonce means the tests did not run.
set -u
results=$1
nonce=$2
shift 2
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export RUST_BACKTRACE=1
export SWITCHD_REGRESS_TIER=kernel

uname -r >"$results/uname"
echo "guest: kernel $(uname -r), $(nproc) cpus"
mkdir -p /run/netns
status=0
for bin in "$@"; do
	name=$(basename "$bin")
	echo "guest: running $name"
	# Kernel-tier tests are #[ignore]d on the host; here they are the point.
	"$bin" --include-ignored --test-threads=1 >"$results/$name.log" 2>&1
	rc=$?
	echo "$rc" >"$results/$name.rc"
	echo "guest: $name exited $rc"
	[ "$rc" -eq 0 ] || status=1
done
echo "$nonce" >"$results/done"
sync
exit $status
