#!/bin/sh
# Runs inside the kernel-tier VM (virtme-ng shares the host's file system, so the freshly
# built test binaries run unchanged). Usage: vm-guest.sh RESULTS NONCE [TESTBIN...]
# Without TESTBIN, the test binaries are read from RESULTS/bins, one path a line: the list
# does not fit on the kernel command line vng passes the script on (Linux's
# COMMAND_LINE_SIZE is 2048 bytes; longer, and 6.1 panics at boot in fortify_panic).
#
# RESULTS is the one directory the guest may write (vng --rwdir). For each test binary it
# leaves NAME.log and NAME.rc; then `uname` and, last, `done` holding NONCE. The host
# trusts nothing else: no `done` with the right nonce means the tests did not run.
set -u
results=$1
nonce=$2
shift 2
if [ $# -eq 0 ] && [ -f "$results/bins" ]; then
	# shellcheck disable=SC2046 # paths without blanks, one a line
	set -- $(cat "$results/bins")
fi
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
