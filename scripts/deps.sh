#!/usr/bin/env bash
# Installs the Debian packages that building and testing sweepd need.
#
# Idempotent: when every package is already installed it changes nothing.
# Runs apt-get as root, through sudo when run by another user, and otherwise
# fails naming the packages that are missing.
set -euo pipefail

packages=(
	build-essential      # gcc, make, libc headers
	cmake
	pkg-config           # CMakeLists.txt finds libpq and inih with it
	libinih-dev          # .ini parser of the host
	libcmocka-dev        # unit-test framework
	libpq-dev            # PostgreSQL client library
	postgresql-15        # server for the throwaway cluster (scripts/pg.sh)
	postgresql-client-15 # psql
	tzdata               # IANA time zones for job timezone = ...
	faketime             # a skewed clock for the many-hosts scheduler test
	libsystemd-dev       # sd_notify: Type=notify, the watchdog
	libmicrohttpd-dev    # the optional HTTP endpoint (http_listen)
	curl                 # the HTTP endpoint's tests (tests/test_http.c)
	prometheus           # promtool: checks the metrics and the alert rules
	python3-prometheus-client # the reference parser of the metrics file
	clang                # libFuzzer targets (scripts/fuzz.sh), clang 14
	libclang-rt-14-dev   # libFuzzer and clang's sanitizer runtimes (only
	                     # recommended by clang, so named here)
	man-db               # man --warnings: tests/test_man.sh
	groff-base           # renders the man pages
	dpkg-dev             # dpkg-shlibdeps: the .deb's Depends (scripts/package.sh)
	lintian              # checks the .deb (scripts/package.sh)
	python3-yaml         # parses the Kubernetes manifests (tests/test_dist.sh)
)

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	if [[ $status != "install ok installed" ]]; then
		missing+=("$pkg")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "deps: all ${#packages[@]} packages already installed" >&2
	exit 0
fi

if ((EUID == 0)); then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: not root and sudo not found; install them as root with:" >&2
	echo "  apt-get install ${missing[*]}" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}" >&2
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends "${missing[@]}"
