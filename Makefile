# Two commands do all the set-up on a fresh Debian / Ubuntu / Raspberry Pi OS machine:
#   make demo    broker + hub + simulated classrooms   (ARGS="--rooms 30" to change)
#   make test    lint, type check and the whole test suite
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
ARGS ?=
# Debian packages the project needs (command or file:package): the demo needs the broker;
# the tests also drive the console in a real headless Chromium and run nodes with a wrong
# clock under libfaketime, run a district broker of three nats-server nodes, and draw
# screens in Spanish, Vietnamese and Chinese with the fonts a node of such a site needs.
DEB_NEEDS := mosquitto:mosquitto
test: DEB_NEEDS += chromium:chromium faketime:faketime nats-server:nats-server \
  /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core \
  /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc:fonts-noto-cjk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint bench chaos setup system-packages clean pi-test pi-clean

demo: setup
	$(VENV)/bin/roomcast demo $(ARGS)

test: setup lint
	$(VENV)/bin/pytest $(ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

setup: system-packages $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Roomcast needs Python 3.11 or newer; this is $$($(PYTHON) --version)"; exit 1; }
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
	  echo "Installing python3-venv from the OS packages (apt-get)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	@touch $@

system-packages:
	@missing=""; for need in $(DEB_NEEDS); do \
	  command -v "$${need%%:*}" >/dev/null || [ -x "/usr/sbin/$${need%%:*}" ] || \
	    [ -e "$${need%%:*}" ] || missing="$$missing $${need##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing from the OS packages (apt-get):$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

chaos: setup  ## random faults for a while; prints what was lost (must be 0)
	$(VENV)/bin/python -m tests.fault.chaos $(ARGS)

bench: setup  ## latency and scale: N=50..2000 rooms vs the bare broker (ARGS="--quick", "--rooms 50,200")
	$(VENV)/bin/python -m benchmarks $(ARGS)

# From a blank SD card to a classroom node, and the hub's install, on an emulated arm64 Pi
# under a real systemd (docs/deploy.md). The bookworm arm64 root and the node's wheelhouse
# are cached in ~/.cache/roomcast/ (make pi-clean removes them); the first run builds them,
# and a new root is built when its package list (PACKAGES in tests/pi/rootfs.py) changes.
PI_DEBS := debootstrap qemu-user-static binfmt-support systemd-container mosquitto
pi-test: setup
	@missing=""; for pkg in $(PI_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing from the OS packages (apt-get):$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	$(SUDO) $(VENV)/bin/python -m tests.pi.pitest

pi-clean:  ## forget the cached arm64 root and wheelhouse
	rm -rf $${HOME}/.cache/roomcast/bookworm-arm64* $${HOME}/.cache/roomcast/wheelhouse-* \
	  /var/tmp/roomcast-pi-test
