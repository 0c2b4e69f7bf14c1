#!/bin/sh
# Roomcast first boot, written on the card's boot partition by `roomcast provision sdcard`.
# Run once as root: by systemd.run= on cmdline.txt, from Raspberry Pi Imager's firstrun.sh
# ("--chained"), or by cloud-init's runcmd ("--chained"). It finds the partition from its own
# path, since bookworm's first-boot fix-up moves it from /boot to /boot/firmware.
#
# It installs Roomcast from the wheelhouse on the card (no internet needed) into a venv,
# creates the service user, installs the bundle (checked against the site CA fingerprint),
# installs and enables roomcast-device.service and loads the bus modules the hardware
# needs. Whatever happens, the bundle (it holds the device's private key) leaves the card;
# a failure leaves a short roomcast-install.log beside this script, with no secret in it.
set -u
BOOT=$(cd "$(dirname "$0")" && pwd)
CARD="$BOOT/roomcast"
LOG=${ROOMCAST_FIRSTBOOT_LOG:-/var/log/roomcast-firstboot.log}
REPORT="$BOOT/roomcast-install.log"
VENV=${ROOMCAST_VENV:-/opt/roomcast/venv}
ETC=${ROOMCAST_ETC:-/etc/roomcast}
PENDING=${ROOMCAST_PENDING:-/var/lib/roomcast-provision}
UNITS=${ROOMCAST_UNITS:-/etc/systemd/system}
MODULES_LOAD=${ROOMCAST_MODULES_LOAD:-/etc/modules-load.d/roomcast.conf}
# CA_FINGERPRINT SERVICE_USER HARDWARE_GROUPS SYSTEM_SITE_PACKAGES MODULES EXTRAS
. "$CARD/firstboot.env"

step() { echo "== $(date -u +%H:%M:%S) $*"; }

service_user() {
    for group in $HARDWARE_GROUPS; do
        getent group "$group" >/dev/null || groupadd --system "$group" || return 1
    done
    if ! id "$SERVICE_USER" >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /var/lib/roomcast --no-create-home \
            --shell /usr/sbin/nologin "$SERVICE_USER" || return 1
    fi
    usermod --append --groups "$(echo "$HARDWARE_GROUPS" | tr ' ' ,)" "$SERVICE_USER"
}

venv() {
    # --without-pip: Debian's python3 lacks ensurepip unless python3-venv is installed;
    # pip itself comes from the wheelhouse. SPI panels: --system-site-packages, so the
    # image's python3-spidev and python3-rpi-lgpio serve (spidev has no wheel on PyPI and
    # building it needs a compiler the node does not have).
    flags="--without-pip"
    [ "$SYSTEM_SITE_PACKAGES" = 1 ] && flags="$flags --system-site-packages"
    # Python 3.13 (trixie-based images): PyPI has no lgpio wheel for it; the image's
    # python3-lgpio serves instead, so the venv must see the system's packages.
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 13))' 2>/dev/null &&
        flags="$flags --system-site-packages"
    [ -x "$VENV/bin/python" ] || python3 -m venv $flags "$VENV" || return 1
    pip_wheel=$(ls "$CARD"/wheels/pip-*.whl 2>/dev/null | head -n 1)
    if [ -z "$pip_wheel" ]; then
        echo "no pip wheel in $CARD/wheels: prepare the card again with --wheelhouse"
        return 1
    fi
    "$VENV/bin/python" "$pip_wheel/pip" install --quiet --no-index --no-cache-dir \
        --find-links "$CARD/wheels" "$pip_wheel" "roomcast$EXTRAS" || return 1
    "$VENV/bin/roomcast" --help >/dev/null
}

park_bundle() {
    # The bundle could not be checked here: keep it root-only, off the card, for later.
    (umask 077 && mkdir -p "$PENDING" && cp "$CARD/bundle.tar.gz" "$PENDING/bundle.tar.gz") &&
        echo "the bundle waits in $PENDING/bundle.tar.gz (root only); once Roomcast runs:" \
            "$VENV/bin/roomcast provision install $PENDING/bundle.tar.gz --owner" \
            "$SERVICE_USER --enable --ca-fingerprint $CA_FINGERPRINT"
}

unit() {
    install -m 0644 "$CARD/roomcast-device.service" "$UNITS/roomcast-device.service" &&
        systemctl daemon-reload && systemctl enable roomcast-device.service || return 1
    # Started now too: under cloud-init no reboot follows; under systemd.run one does.
    systemctl start --no-block roomcast-device.service
}

modules() {
    for module in $MODULES; do
        grep -qx "$module" "$MODULES_LOAD" 2>/dev/null || echo "$module" >>"$MODULES_LOAD"
        modprobe "$module" || echo "modprobe $module failed; it loads at the next boot"
    done
    return 0
}

install_all() {
    step "service user $SERVICE_USER and groups $HARDWARE_GROUPS" && service_user &&
        step "Roomcast into $VENV from the card's wheelhouse" &&
        { venv || { park_bundle; return 1; }; } &&
        step "bundle into $ETC (site CA $CA_FINGERPRINT)" &&
        "$VENV/bin/roomcast" provision install "$CARD/bundle.tar.gz" --target "$ETC" \
            --owner "$SERVICE_USER" --ca-fingerprint "$CA_FINGERPRINT" &&
        step "kernel modules: ${MODULES:-none}" && modules &&
        step "roomcast-device.service" && unit && step "done"
}

mkdir -p "$(dirname "$LOG")"
if [ -f "$CARD/bundle.tar.gz" ]; then
    install_all >"$LOG" 2>&1
    STATUS=$?
else
    echo "no bundle at $CARD/bundle.tar.gz; nothing installed" >"$LOG"
    STATUS=1
fi
# The card is readable by anyone holding it: the bundle leaves it whatever happened.
rm -f "$CARD/bundle.tar.gz"
rm -rf "$CARD/wheels"
if [ "$STATUS" -eq 0 ]; then
    rm -f "$REPORT"
else
    {
        echo "Roomcast first-boot install FAILED on $(hostname) (exit $STATUS)."
        echo "The bundle was removed from this card. Fix the cause below, then prepare"
        echo "the card again (roomcast provision sdcard) with a fresh bundle. Last lines of"
        echo "$LOG on the node:"
        grep -v -e PRIVATE -e '^[A-Za-z0-9+/=]\{60,\}$' "$LOG" | tail -n 25
    } >"$REPORT"
    echo "roomcast: first-boot install failed; see $REPORT" >&2
fi
if [ "${1:-}" != "--chained" ]; then
    sed -i 's| systemd\.run=[^ ]*roomcast-firstrun\.sh systemd\.run_success_action=reboot systemd\.unit=kernel-command-line\.target||' "$BOOT/cmdline.txt"
fi
rm -f "$CARD/firstboot.env" "$CARD/roomcast-device.service" "$0"
rmdir "$CARD" 2>/dev/null
exit 0
