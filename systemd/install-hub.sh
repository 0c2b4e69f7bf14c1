#!/bin/sh
# Set up a Roomcast hub on a Raspberry Pi 4/5 (Raspberry Pi OS bookworm or later, 64-bit)
# or a Debian 12+ server, as root, from a Roomcast source tree or unpacked release:
#
#     sudo sh systemd/install-hub.sh [--wheelhouse DIR]
#
# It installs Debian's mosquitto and python3-venv (apt-get, only if either is missing),
# creates the hub's service user (roomcast), installs Roomcast into /opt/roomcast/venv,
# installs roomcast-hub.service, roomcast-quarantine.path (the broker's half of cutting a
# flooding device off) and Mosquitto's drop-in, and, once the site exists
# (roomcast provision init), enables and starts both. Running it again upgrades Roomcast in
# place and restarts the hub on the new code; it changes nothing else.
#
# --wheelhouse DIR installs Roomcast and its dependencies from a wheelhouse (`roomcast
# provision wheelhouse`, the one the cards get: arm64 wheels, so for a Pi hub) and then
# nothing is downloaded, if the two Debian packages are there. Without it, pip builds the
# source tree and fetches the dependencies from PyPI.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
VENV=${ROOMCAST_VENV:-/opt/roomcast/venv}
SITE=${ROOMCAST_SITE_DIR:-/etc/roomcast/site}
UNITS=/etc/systemd/system
HUB_USER=roomcast
WHEELHOUSE=
while [ $# -gt 0 ]; do
    case "$1" in
    --wheelhouse) [ $# -ge 2 ] || { echo "--wheelhouse needs a directory" >&2; exit 2; }
        WHEELHOUSE=$2; shift 2 ;;
    --wheelhouse=*) WHEELHOUSE=${1#--wheelhouse=}; shift ;;
    *) echo "usage: sh $0 [--wheelhouse DIR]" >&2; exit 2 ;;
    esac
done

[ "$(id -u)" = 0 ] || { echo "run it as root: sudo sh $0" >&2; exit 2; }
[ -f "$SRC/pyproject.toml" ] || { echo "$SRC is not a Roomcast source tree" >&2; exit 2; }
if [ -n "$WHEELHOUSE" ] && ! ls "$WHEELHOUSE"/roomcast-*.whl >/dev/null 2>&1; then
    echo "$WHEELHOUSE has no roomcast-*.whl: build it with roomcast provision wheelhouse" >&2
    exit 2
fi

missing=
for package in mosquitto python3-venv; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $package"
done
if [ -n "$missing" ]; then
    echo "== Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing >/dev/null
else
    echo "== Debian packages: mosquitto python3-venv (installed)"
fi

echo "== service user $HUB_USER"
if ! id "$HUB_USER" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/roomcast-hub --no-create-home \
        --shell /usr/sbin/nologin "$HUB_USER"
fi

echo "== Roomcast into $VENV${WHEELHOUSE:+ from $WHEELHOUSE}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
pip="$VENV/bin/pip --disable-pip-version-check --quiet"
if [ -n "$WHEELHOUSE" ]; then
    # pip too: the venv's own may be older than the wheels it is given.
    $pip install --no-index --find-links "$WHEELHOUSE" --upgrade pip roomcast
else
    $pip install --upgrade "$SRC"
fi

echo "== units: roomcast-hub.service, roomcast-quarantine.path, mosquitto.service.d/roomcast.conf"
DROP_IN="$UNITS/mosquitto.service.d/roomcast.conf"
# A running broker re-reads its config on reload, but not a changed command line.
cmp -s "$SRC/systemd/mosquitto.service.d/roomcast.conf" "$DROP_IN" && broker=reload-or-restart ||
    broker=restart
for unit in roomcast-hub.service roomcast-quarantine.path roomcast-quarantine.service; do
    install -m 0644 "$SRC/systemd/$unit" "$UNITS/$unit"
done
install -d -m 0755 "$UNITS/mosquitto.service.d"
install -m 0644 "$SRC/systemd/mosquitto.service.d/roomcast.conf" "$DROP_IN"
ln -sf "$VENV/bin/roomcast" /usr/local/bin/roomcast
systemctl daemon-reload

if [ -f "$SITE/hub/hub.json" ]; then
    systemctl enable --quiet mosquitto roomcast-hub roomcast-quarantine.path
    systemctl "$broker" mosquitto
    systemctl start roomcast-quarantine.path
    # Restarted, not just started: after an upgrade the running hub is the old code.
    systemctl restart roomcast-hub
    echo "hub running: systemctl status roomcast-hub"
else
    # Debian starts mosquitto on install; with the drop-in it needs the site's config.
    systemctl stop mosquitto || true
    cat <<NEXT
Roomcast is installed. Next (docs/deploy.md):
  roomcast provision init --site-dir $SITE --site SITE_ID --hub-host HUB_NAME_OR_IP \\
      --building BUILDING ...
  sudo sh $0        # again: enables and starts mosquitto and roomcast-hub
NEXT
fi
