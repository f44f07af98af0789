#!/usr/bin/env bash
# packaging/systemd, sysusers.d and tmpfiles.d: systemd-analyze verify
# accepts the units (with the man pages they name installed), each unit
# has what the issue asks for, its exposure score stays low, and
# systemd-sysusers / systemd-tmpfiles make the user and the state
# directory in a scratch root.  Nothing is installed on this machine.
. "$(dirname "$0")/../common.sh"
NTIMED=${NTIMED:?}
for c in systemd-analyze systemd-sysusers systemd-tmpfiles man; do
	command -v "$c" >/dev/null 2>&1 || skip "$c not found"
done

# The man pages the units' Documentation= names, installed under $T.
mkdir -p "$T/man/man8" "$T/man/man5"
cp "$SRC/man/ntimed.8" "$T/man/man8/"
cp "$SRC/man/ntimed.yaml.5" "$T/man/man5/"

for role in client slave master; do
	u=$SRC/packaging/systemd/ntimed-$role.service
	[ -f "$u" ] || fail "$u missing"
	# verify wants ExecStart= to exist: point it at the build.
	sed "s|/usr/bin/ntimed|$NTIMED|" "$u" >"$T/ntimed-$role.service"
	grep -q "^ExecStart=/usr/bin/ntimed $role\$" "$u" ||
	    fail "$role: ExecStart"
	for want in "^Type=notify$" "^NotifyAccess=main$" \
	    "^Conflicts=chrony.service ntp.service ntpsec.service .*systemd-timesyncd.service" \
	    "^ProtectSystem=strict$" "^PrivateTmp=yes$" \
	    "^NoNewPrivileges=yes$" "^CapabilityBoundingSet=CAP_SYS_TIME" \
	    "^RuntimeDirectory=ntimed$" \
	    "^StateDirectory=ntimed$" "^WantedBy=multi-user.target$" \
	    "^LogsDirectory=ntimed$" \
	    "^Documentation=man:ntimed\(8\) man:ntimed.yaml\(5\)$"; do
		grep -Eq "$want" "$u" || fail "$role: no line /$want/"
	done
	grep -q "^ProtectClock" "$u" && fail "$role: ProtectClock would " \
	    "forbid steering the clock"
	case $role in
	client)	caps="CAP_SYS_TIME" ;;
	slave)	caps="CAP_SYS_TIME CAP_NET_BIND_SERVICE" ;;
	master)	caps="CAP_SYS_TIME CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID CAP_SETPCAP CAP_CHOWN" ;;
	esac
	grep -q "^CapabilityBoundingSet=$caps\$" "$u" ||
	    fail "$role: CapabilityBoundingSet is not $caps"
	if [ "$role" = master ]; then
		# Root at start for gpsd's SHM 0/1 and /run socket; the
		# daemon then becomes ntimed itself.
		grep -Eq "^(User|AmbientCapabilities)=" "$u" &&
		    fail "master: must start as root"
		grep -q "^ReadWritePaths=/run$" "$u" ||
		    fail "master: gpsd's socket needs /run"
	else
		grep -q "^User=ntimed$" "$u" || fail "$role: User=ntimed"
		grep -q "^AmbientCapabilities=$caps\$" "$u" ||
		    fail "$role: AmbientCapabilities is not $caps"
	fi
done
grep -q "^Before=time-sync.target$" "$SRC/packaging/systemd/ntimed-client.service" ||
    fail "client: Before=time-sync.target"

MANPATH=$T/man SYSTEMD_LOG_LEVEL=notice systemd-analyze verify \
    "$T"/ntimed-*.service >"$T/verify" 2>&1 ||
    { cat "$T/verify" >&2; fail "systemd-analyze verify"; }
[ -s "$T/verify" ] && { cat "$T/verify" >&2; fail "verify warnings"; }

# Exposure: 10 is "unsafe", chrony's own unit scores about 3.5.  The
# master starts as root (as chronyd does): at most 3.2.
for role in client slave master; do
	limit=30
	[ "$role" = master ] && limit=32
	systemd-analyze security --offline=yes --threshold=$limit \
	    "$T/ntimed-$role.service" >"$T/sec" 2>&1 ||
	    { tail -3 "$T/sec" >&2; fail "$role: exposure above $limit/10"; }
	echo "# $role: $(grep -o 'Overall exposure level.*' "$T/sec")"
done

# The user, the group and the state directory, in a scratch root.
mkdir -p "$T/root/etc"
systemd-sysusers --root="$T/root" "$SRC/packaging/sysusers.d/ntimed.conf" \
    2>/dev/null || fail "systemd-sysusers"
grep -q '^ntimed:x:[0-9]*:[0-9]*:[^:]*:/var/lib/ntimed:/usr/sbin/nologin$' \
    "$T/root/etc/passwd" || fail "user ntimed: $(cat "$T/root/etc/passwd")"
grep -q '^ntimed:x:' "$T/root/etc/group" || fail "group ntimed"
systemd-tmpfiles --root="$T/root" --create \
    "$SRC/packaging/tmpfiles.d/ntimed.conf" || fail "systemd-tmpfiles"
uid=$(awk -F: '$1 == "ntimed" { print $3 }' "$T/root/etc/passwd")
[ "$(stat -c '%a %u' "$T/root/var/lib/ntimed")" = "750 $uid" ] ||
    fail "/var/lib/ntimed: $(stat -c '%a %u' "$T/root/var/lib/ntimed")"
[ "$(stat -c '%a %u' "$T/root/var/log/ntimed")" = "755 $uid" ] ||
    fail "/var/log/ntimed: $(stat -c '%a %u' "$T/root/var/log/ntimed")"
echo "systemd: all checks passed"
