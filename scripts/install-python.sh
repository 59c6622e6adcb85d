#!/usr/bin/env bash
# The Pythons of Lambda's python3.13 runtime for the built-artifact tests and benchmarks (`make install`).
#
#   scripts/install-python.sh build DEST   CPython 3.13.5 for this machine, built from source into DEST
#   scripts/install-python.sh arm64 DEST   an aarch64 CPython 3.13.5 and the emulator that runs it here
#
# No registry reachable from here ships a CPython 3.13 binary that runs on this Debian 12, but
# Debian trixie has python3.13: its source package carries the upstream release tarball, and its
# arm64 packages an aarch64 build. apt fetches them with a private configuration (its own sources,
# lists and cache under DEST.work, from the Debian mirror this machine already uses; the system's
# apt configuration is never touched) and checks them against trixie's signed archive. The source
# tarball's SHA-256 is also pinned below.
#
# `build` needs a C compiler, make and the -dev packages of OpenSSL, SQLite, libffi, zlib, bzip2, xz
# and libuuid (the check at the end fails if a module is missing); `arm64` only downloads and unpacks.
set -euo pipefail

VERSION=3.13.5
TARBALL=python3.13_${VERSION}.orig.tar.xz
SHA256=93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# What `import <handler>` needs of Debian's aarch64 python3.13 (the libraries its modules link).
ARM64_PACKAGES="python3.13-minimal libpython3.13-minimal libpython3.13-stdlib libc6 libgcc-s1 libexpat1
zlib1g libffi8 libssl3t64 libbz2-1.0 liblzma5 libmpdec4 libuuid1 libzstd1"
# Modules Lambda's runtime has that a missing -dev package would silently drop from a build.
MODULES="ssl, sqlite3, ctypes, zlib, bz2, lzma, hashlib, decimal, uuid"

fail() {
    echo "install-python.sh: $*" >&2
    exit 1
}

usage="usage: install-python.sh build|arm64 DEST"
MODE=${1:?$usage}
DEST=${2:?$usage}
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)
WORK=$DEST.work
LOG=$WORK/install.log

# A private apt for trixie: $1 = "deb" or "deb-src", $2 = architectures (deb only).
private_apt() {
    local mirror=""
    if [ -r /etc/apt/sources.list.d/debian.sources ]; then
        mirror=$(awk '$1 == "URIs:" { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
        mirror=$(awk '$1 == "deb" && $2 !~ /^\[/ { print $2; exit }' /etc/apt/sources.list)
    fi
    [ -n "$mirror" ] || fail "no Debian mirror in /etc/apt/sources.list(.d/debian.sources)"
    [ -r "$KEYRING" ] || fail "$KEYRING is missing (package debian-archive-keyring)"
    rm -rf "$WORK"
    mkdir -p "$WORK/apt/sources" "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial"
    {
        echo "Types: $1"
        echo "URIs: $mirror"
        echo "Suites: trixie"
        echo "Components: main"
        [ -z "${2:-}" ] || echo "Architectures: $2"
        echo "Signed-By: $KEYRING"
    } >"$WORK/apt/sources/trixie.sources"
    {
        echo "Dir::Etc::SourceList \"/dev/null\";"
        echo "Dir::Etc::SourceParts \"$WORK/apt/sources\";"
        echo "Dir::State::Lists \"$WORK/apt/lists\";"
        echo "Dir::State::Status \"/dev/null\";"
        echo "Dir::Cache \"$WORK/apt/cache\";"
        echo "Acquire::Languages \"none\";"
        echo "APT::Sandbox::User \"$(id -un)\";"
        [ -z "${2:-}" ] || echo "APT::Architectures { $(printf '"%s"; ' $2)};"
    } >"$WORK/apt/apt.conf"
    export APT_CONFIG=$WORK/apt/apt.conf
    echo "install-python.sh: Debian trixie from $mirror"
    apt-get -qq update >>"$LOG" 2>&1 || { tail -20 "$LOG" >&2; fail "apt-get update failed (log: $LOG)"; }
}

installed() { # $1: the python3.13 to ask
    "$1" -c "import sys; sys.exit(sys.version.split()[0] != '$VERSION')" 2>/dev/null
}

build() {
    installed "$DEST/bin/python3.13" && { echo "CPython $VERSION is already in $DEST"; return; }
    private_apt deb-src
    (cd "$WORK" && apt-get -qq source --download-only python3.13) >>"$LOG" 2>&1 ||
        { tail -20 "$LOG" >&2; fail "apt-get source python3.13 failed (log: $LOG)"; }
    [ -f "$WORK/$TARBALL" ] ||
        fail "trixie's python3.13 no longer ships $TARBALL ($(cd "$WORK" && ls ./*.orig.tar.*)):" \
            "update VERSION and SHA256 in this script"
    echo "$SHA256  $WORK/$TARBALL" | sha256sum --check --quiet - ||
        fail "SHA-256 mismatch for $TARBALL: expected $SHA256, got $(sha256sum <"$WORK/$TARBALL")"
    echo "install-python.sh: building CPython $VERSION into $DEST (a few minutes; log: $LOG)"
    tar -xJf "$WORK/$TARBALL" -C "$WORK"
    (
        cd "$WORK/Python-$VERSION"
        # -O1 without PGO/LTO: a fraction of an optimised build's time. The tests need the language
        # version and its bytecode; the benchmarks compare ratios on this one interpreter.
        ./configure --prefix="$DEST" --without-ensurepip --disable-test-modules OPT="-DNDEBUG -O1"
        make -j"$(nproc)"
        make altinstall
    ) >>"$LOG" 2>&1 || { tail -30 "$LOG" >&2; fail "building CPython failed (log: $LOG)"; }
    "$DEST/bin/python3.13" -c "import $MODULES" ||
        fail "CPython built without one of $MODULES: install the missing -dev package, then run again"
    "$DEST/bin/python3.13" -m ensurepip --altinstall >>"$LOG" 2>&1 || fail "ensurepip failed (log: $LOG)"
    rm -rf "$WORK"
    echo "install-python.sh: CPython $VERSION installed in $DEST"
}

arm64() {
    if [ -x "$DEST/qemu-aarch64" ] && installed "$DEST/run"; then
        echo "aarch64 CPython $VERSION is already in $DEST"
        return
    fi
    private_apt deb "amd64 arm64"
    # shellcheck disable=SC2086 # a list of package names
    (cd "$WORK" && apt-get -qq download qemu-user:amd64 $(printf '%s:arm64 ' $ARM64_PACKAGES)) \
        >>"$LOG" 2>&1 ||
        { tail -20 "$LOG" >&2; fail "apt-get download failed (log: $LOG)"; }
    rm -rf "$DEST/root" "$DEST/qemu-aarch64" "$DEST/run"
    mkdir -p "$DEST/root"
    for deb in "$WORK"/*_arm64.deb; do dpkg-deb -x "$deb" "$DEST/root"; done
    ln -sfn usr/lib "$DEST/root/lib" # merged /usr: the ELF interpreter is /lib/ld-linux-aarch64.so.1
    # qemu-user's static emulators, of which only the aarch64 one
    dpkg-deb --fsys-tarfile "$WORK"/qemu-user_*_amd64.deb |
        tar -xO ./usr/bin/qemu-aarch64 >"$DEST/qemu-aarch64"
    chmod +x "$DEST/qemu-aarch64"
    cat >"$DEST/run" <<'EOF'
#!/bin/sh
# Debian trixie's aarch64 python3.13, emulated by qemu-user (arguments as for python3.13).
here=$(dirname "$(readlink -f "$0")")
exec "$here/qemu-aarch64" -L "$here/root" "$here/root/usr/bin/python3.13" "$@"
EOF
    chmod +x "$DEST/run"
    local check="import platform as p; assert (p.machine(), p.python_version()) == ('aarch64', '$VERSION')"
    "$DEST/run" -I -c "$check" ||
        fail "the emulated python3.13 is not an aarch64 CPython $VERSION (has trixie's python3.13 moved on?)"
    rm -rf "$WORK"
    echo "install-python.sh: aarch64 CPython $VERSION (Debian trixie) with qemu-user in $DEST"
}

case $MODE in
build) build ;;
arm64) arm64 ;;
*) fail "$usage" ;;
esac
