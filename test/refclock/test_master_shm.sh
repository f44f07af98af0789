#!/usr/bin/env bash
# ntimed master fed by gpsd's shared-memory protocol: a writer made here
# (mode 1, the count/valid handshake, as gpsd writes) puts the real
# clock's time into a private unit every 0.5 s; the master selects it and
# serves stratum 1 with refid SH<unit>, as 'ntimed query' sees it, while a
# network server, its backup, is a candidate but not selected.
# The segment is removed on exit.  Dry-run clock: nothing steers.
. "$(dirname "$0")/../interop/lib.sh"
. "$(dirname "$0")/master_lib.sh"

"$PY" - "$TEST_TMP/shm.ready" 2>"$TEST_TMP/writer.log" <<'PYEOF' &
import ctypes, errno, os, random, signal, struct, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
ready = sys.argv[1]
IPC_CREAT, IPC_EXCL, IPC_RMID = 0o1000, 0o2000, 0
# A unit nobody holds: a segment left by a killed run, or another
# writer, makes shmget fail with EEXIST; try others.
for unit in random.sample(range(20, 100), 20):
    shmid = libc.shmget(0x4e545030 + unit, 96, IPC_CREAT | IPC_EXCL | 0o600)
    if shmid >= 0 or ctypes.get_errno() != errno.EEXIST:
        break
if shmid < 0:
    sys.exit("shmget unit %d: errno %d" % (unit, ctypes.get_errno()))
def bye(*_):
    libc.shmctl(shmid, IPC_RMID, None)
    sys.exit(0)
signal.signal(signal.SIGTERM, bye)
base = libc.shmat(shmid, None, 0)
seg = (ctypes.c_char * 96).from_address(base)
# struct shmTime on LP64: mode, count, clock_sec, clock_usec, receive_sec,
# receive_usec, leap, precision, nsamples, valid, clock_nsec, receive_nsec
count = 0
with open(ready + ".tmp", "w") as f:
    f.write("%d\n" % unit)
os.rename(ready + ".tmp", ready)
try:
    while True:
        t = time.time_ns()
        s, ns = divmod(t, 10**9)
        count += 1
        struct.pack_into("ii", seg, 0, 1, count)
        struct.pack_into("i", seg, 48, 0)               # valid = 0
        struct.pack_into("qi4xqiiii", seg, 8, s, ns // 1000, s, ns // 1000,
                         0, -20, 0)
        struct.pack_into("iII", seg, 48, 1, ns, ns)     # valid, nsecs
        count += 1
        struct.pack_into("i", seg, 4, count)
        time.sleep(0.5)
finally:
    bye()
PYEOF
STARTED_PIDS+=("$!")
for _ in $(seq 50); do
	[ -e "$TEST_TMP/shm.ready" ] && break
	sleep 0.1
done
[ -e "$TEST_TMP/shm.ready" ] || { cat "$TEST_TMP/writer.log" >&2
	fail "the SHM writer did not start"; }
UNIT=$(cat "$TEST_TMP/shm.ready")
REFID=SH$UNIT

# A network server too, as a backup: the refclock must win selection.
pick_port FPORT
start_fake_ntp backup 127.0.0.1 "$FPORT" good
cat >"$TEST_TMP/master.yaml" <<YAML
refclocks:
  - { driver: shm, unit: $UNIT, poll: 0 }
servers:
  - { address: "127.0.0.1:$FPORT", minpoll: 0, maxpoll: 0 }
control: { enabled: false }
YAML
master_serves "$TEST_TMP/master.yaml" $REFID 0.01
assert_grep "$TEST_TMP/master.log" "selected \(offset .*, 2 of 2 sources agree" \
    "the backup server is a candidate, not selected"
echo "PASS: master served stratum 1, refid $REFID from SHM unit $UNIT"
