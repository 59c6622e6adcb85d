#!/usr/bin/env bash
# Build the CPython that Lambda's python3.13 runtime runs, for the built-artifact tests and benchmarks.
#
# Usage: scripts/install-python.sh DEST        (`make install` runs it: DEST = .python/3.13.5)
#
# No registry reachable from here ships a CPython 3.13 binary that runs on this Debian 12, but
# Debian trixie's source package of python3.13 carries the upstream release tarball. apt fetches it
# with a private configuration (its own sources, lists and cache under the build folder; the
# system's apt sources are never touched) from the Debian mirror this machine already uses, the
# tarball's SHA-256 is checked against the pin below, and CPython is built into DEST.
# Needs: apt-get, the Debian archive keyring, a C compiler and the -dev packages of OpenSSL, SQLite,
# libffi, zlib, bzip2 and xz (the checks at the end fail if a module is missing).
set -euo pipefail

VERSION=3.13.5
TARBALL=python3.13_${VERSION}.orig.tar.xz
SHA256=93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

DEST=${1:?usage: install-python.sh DEST}
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)
if "$DEST/bin/python3.13" -c "import sys; sys.exit(sys.version.split()[0] != '$VERSION')" 2>/dev/null; then
    echo "CPython $VERSION is already in $DEST"
    exit 0
fi
WORK=$DEST.build
rm -rf "$WORK"
mkdir -p "$WORK/apt/sources" "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial"
LOG=$WORK/build.log
fail() {
    echo "install-python.sh: $*" >&2
    exit 1
}

# The mirror this machine's apt already uses (deb822 or one-line format); only its URI is reused.
mirror=""
if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    mirror=$(awk '$1 == "URIs:" { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
    mirror=$(awk '$1 == "deb" && $2 !~ /^\[/ { print $2; exit }' /etc/apt/sources.list)
fi
[ -n "$mirror" ] || fail "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
[ -r "$KEYRING" ] || fail "$KEYRING is missing (package debian-archive-keyring)"

cat >"$WORK/apt/sources/trixie-src.sources" <<EOF
Types: deb-src
URIs: $mirror
Suites: trixie
Components: main
Signed-By: $KEYRING
EOF
cat >"$WORK/apt/apt.conf" <<EOF
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$WORK/apt/sources";
Dir::State::Lists "$WORK/apt/lists";
Dir::Cache "$WORK/apt/cache";
Acquire::Languages "none";
APT::Sandbox::User "$(id -un)";
EOF

echo "CPython $VERSION: fetching Debian trixie's python3.13 source package from $mirror"
export APT_CONFIG=$WORK/apt/apt.conf
apt-get -qq update >>"$LOG" 2>&1 || { tail -20 "$LOG" >&2; fail "apt-get update failed (log: $LOG)"; }
(cd "$WORK" && apt-get -qq source --download-only python3.13) >>"$LOG" 2>&1 ||
    { tail -20 "$LOG" >&2; fail "apt-get source python3.13 failed (log: $LOG)"; }
[ -f "$WORK/$TARBALL" ] ||
    fail "trixie's python3.13 no longer ships $TARBALL ($(cd "$WORK" && ls ./*.orig.tar.* 2>/dev/null)):" \
        "update VERSION and SHA256 in this script"
echo "$SHA256  $WORK/$TARBALL" | sha256sum --check --quiet - ||
    fail "SHA-256 mismatch for $TARBALL: expected $SHA256, got $(sha256sum "$WORK/$TARBALL" | cut -d' ' -f1)"

echo "CPython $VERSION: building into $DEST (a few minutes; log: $LOG)"
tar -xJf "$WORK/$TARBALL" -C "$WORK"
cd "$WORK/Python-$VERSION"
{
    # -O1 without PGO/LTO: builds in a fraction of the time of an optimised build; the tests need
    # the same language version and bytecode, and the benchmarks compare ratios on one interpreter.
    ./configure --prefix="$DEST" --without-ensurepip --disable-test-modules OPT="-DNDEBUG -O1"
    make -j"$(nproc)"
    make altinstall
} >>"$LOG" 2>&1 || { tail -30 "$LOG" >&2; fail "building CPython failed (log: $LOG)"; }

# Lambda's runtime has these; a missing -dev package silently drops a module, so check them all.
"$DEST/bin/python3.13" -c "import ssl, sqlite3, ctypes, zlib, bz2, lzma, hashlib, decimal, uuid" ||
    fail "CPython built without a module the functions or pip need (install the missing -dev package)"
"$DEST/bin/python3.13" -m ensurepip --altinstall >>"$LOG" 2>&1 || fail "ensurepip failed (log: $LOG)"
cd /
rm -rf "$WORK"
echo "CPython $("$DEST/bin/python3.13" -c 'import sys; print(sys.version.split()[0])') installed in $DEST"
