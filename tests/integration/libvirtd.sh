#!/usr/bin/env bash
# A private libvirtd for tests and the demo, beside any system libvirtd.
#
#   libvirtd.sh start DIR [BUILDDIR]   start it (and install our hook from BUILDDIR)
#   libvirtd.sh stop DIR               destroy its domains, stop it, kill leftovers by PID
#   libvirtd.sh restart DIR            stop the daemon only (domains keep running), start again
#   libvirtd.sh stop-daemon DIR        stop the daemon only, until 'start' (a host that is down)
#   libvirtd.sh uri DIR                print the URI clients use
#
# It runs in its own mount namespace with private directories bind-mounted over libvirt's
# state dirs (a second privileged libvirtd cannot simply use another socket). Keep DIR short:
# the socket path must stay under 108 bytes.
set -euo pipefail

cmd=${1:?usage: libvirtd.sh start|stop|restart|stop-daemon|uri DIR [BUILDDIR]}
dir=${2:?DIR missing}
builddir=${3:-}
# only 'start' creates DIR; 'stop' of a DIR that does not exist has nothing to stop
case "$cmd" in
  start|restart) mkdir -p "$dir" ;;
  stop|stop-daemon) [ -d "$dir" ] || exit 0 ;;
esac
if [ -d "$dir" ]; then
  dir=$(cd "$dir" && pwd)
else
  dir=$(realpath -m -- "$dir")
fi
sock="$dir/run/libvirt/libvirt-sock"
uri="qemu:///system?socket=$sock"
pidfile="$dir/libvirtd.pid"

start_daemon() {
  mkdir -p "$dir"/etc/libvirt/hooks/qemu.d "$dir"/etc/libvirt/qemu "$dir"/run/libvirt \
           "$dir"/lib/libvirt "$dir"/log/libvirt "$dir"/cache/libvirt "$dir"/images
  if [ ! -f "$dir/etc/libvirt/libvirtd.conf" ]; then
    cat > "$dir/etc/libvirt/libvirtd.conf" <<CONF
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
log_outputs = "2:file:$dir/log/libvirt/libvirtd.log"
CONF
    cat > "$dir/etc/libvirt/qemu.conf" <<CONF
cgroup_controllers = [ ]
stdio_handler = "file"
security_driver = "none"
user = "root"
group = "root"
dynamic_ownership = 0
CONF
  fi
  if [ -n "$builddir" ]; then
    install -m 0755 "$builddir/hooks/aleph-hook" "$dir/etc/libvirt/hooks/qemu.d/50-aleph-confidential"
    cat > "$dir/etc/libvirt/hooks/aleph-confidential.conf" <<CONF
[hook]
module = $builddir/plugin/module/libaleph-confidential.so
state-dir = $dir/state
CONF
  fi
  mkdir -p /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
  unshare --mount --propagation private -- /bin/sh -c "
    mount --bind '$dir/etc/libvirt' /etc/libvirt &&
    mount --bind '$dir/run/libvirt' /run/libvirt &&
    mount --bind '$dir/lib/libvirt' /var/lib/libvirt &&
    mount --bind '$dir/log/libvirt' /var/log/libvirt &&
    mount --bind '$dir/cache/libvirt' /var/cache/libvirt &&
    exec libvirtd -d --pid-file '$pidfile'" </dev/null
  for _ in $(seq 1 200); do
    if [ -S "$sock" ] && virsh -q -c "$uri" version >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "libvirtd.sh: libvirtd did not come up; see $dir/log/libvirt/libvirtd.log" >&2
  return 1
}

stop_daemon() {
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  fi
}

case "$cmd" in
  start)
    start_daemon
    ;;
  restart)
    stop_daemon
    start_daemon
    ;;
  stop-daemon)
    stop_daemon
    ;;
  stop)
    if [ -S "$sock" ]; then
      for d in $(virsh -q -c "$uri" list --name 2>/dev/null); do
        virsh -q -c "$uri" destroy "$d" >/dev/null 2>&1 || true
      done
    fi
    stop_daemon
    # QEMU outlives the daemon: kill whatever is left by its PID file
    for p in "$dir"/run/libvirt/qemu/*.pid; do
      [ -f "$p" ] || continue
      kill -9 "$(cat "$p")" 2>/dev/null || true
      rm -f "$p"
    done
    ;;
  uri)
    echo "$uri"
    ;;
  *)
    echo "libvirtd.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
