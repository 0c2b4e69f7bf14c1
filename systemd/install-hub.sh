#!/bin/sh
# Set up a Roomcast hub on a Raspberry Pi 4/5 (Raspberry Pi OS bookworm or later, 64-bit)
# or a Debian 12+ server, as root, from a Roomcast source tree or unpacked release:
#
#     sudo sh systemd/install-hub.sh
#
# It installs Debian's mosquitto and python3-venv, creates the hub's service user
# (roomcast), installs Roomcast into /opt/roomcast/venv, installs roomcast-hub.service and
# Mosquitto's drop-in, and, once the site exists (roomcast provision init), enables and
# starts both. Running it again upgrades Roomcast in place and changes nothing else.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
VENV=${ROOMCAST_VENV:-/opt/roomcast/venv}
SITE=${ROOMCAST_SITE_DIR:-/etc/roomcast/site}
UNITS=/etc/systemd/system
HUB_USER=roomcast

[ "$(id -u)" = 0 ] || { echo "run it as root: sudo sh $0" >&2; exit 2; }
[ -f "$SRC/pyproject.toml" ] || { echo "$SRC is not a Roomcast source tree" >&2; exit 2; }

echo "== Debian packages: mosquitto python3-venv"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq mosquitto python3-venv >/dev/null

echo "== service user $HUB_USER"
if ! id "$HUB_USER" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/roomcast-hub --no-create-home \
        --shell /usr/sbin/nologin "$HUB_USER"
fi

echo "== Roomcast into $VENV"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade "$SRC"

echo "== units: roomcast-hub.service, mosquitto.service.d/roomcast.conf"
install -m 0644 "$SRC/systemd/roomcast-hub.service" "$UNITS/roomcast-hub.service"
install -d -m 0755 "$UNITS/mosquitto.service.d"
install -m 0644 "$SRC/systemd/mosquitto.service.d/roomcast.conf" \
    "$UNITS/mosquitto.service.d/roomcast.conf"
ln -sf "$VENV/bin/roomcast" /usr/local/bin/roomcast
systemctl daemon-reload

if [ -f "$SITE/hub/hub.json" ]; then
    systemctl enable --now mosquitto roomcast-hub
    systemctl reload-or-restart mosquitto
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
