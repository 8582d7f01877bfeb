#!/bin/sh
# Fetch what the real-Flink tests need, each piece only when it is missing:
#   - a JDK (javac, jar): apt-get install openjdk-17-jdk-headless
#   - Flink 2.3.0's jars: the PyPI wheel apache-flink-libraries, unpacked to BUILD/lib
#   - BUILD/counter.jar: tests/flink/Counter.java compiled with javac
# Usage: tests/flink/get_flink.sh [BUILD_DIR]   (default build/flink; PYTHON picks the pip to use)
# Quiet and idempotent: a second run does nothing and takes well under a second.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-build/flink}
PYTHON=${PYTHON:-python3}
FLINK_VERSION=2.3.0
WHEEL_NAME=apache-flink-libraries

say() { echo "get_flink: $*" >&2; }

# 1. A JDK.
if ! command -v javac >/dev/null 2>&1 || ! command -v jar >/dev/null 2>&1; then
    say "no javac/jar: installing openjdk-17-jdk-headless with apt-get"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        openjdk-17-jdk-headless >/dev/null
fi

# 2. Flink's jars (flink-dist with the JobManager, TaskManager and REST API; log4j).
mkdir -p "$BUILD"
if [ ! -f "$BUILD/lib/.complete-$FLINK_VERSION" ]; then
    say "downloading $WHEEL_NAME==$FLINK_VERSION (about 330 MB) and unpacking pyflink/lib"
    rm -rf "$BUILD/lib" "$BUILD/download"
    "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-input --no-deps \
        "$WHEEL_NAME==$FLINK_VERSION" -d "$BUILD/download"
    "$PYTHON" - "$BUILD" <<'EOF'
import sys, zipfile
from pathlib import Path

build = Path(sys.argv[1])
(wheel,) = (build / "download").glob("apache_flink_libraries-*.whl")
lib = build / "lib"
lib.mkdir()
with zipfile.ZipFile(wheel) as zf:
    for info in zf.infolist():
        name = info.filename
        if name.startswith("pyflink/lib/") and not info.is_dir():
            (lib / Path(name).name).write_bytes(zf.read(info))
if not list(lib.glob("flink-dist-*.jar")):
    sys.exit("get_flink: no flink-dist jar in " + str(wheel))
EOF
    rm -rf "$BUILD/download"
    touch "$BUILD/lib/.complete-$FLINK_VERSION"
fi

# 3. The test job, rebuilt when its source is newer than the jar.
if [ ! -f "$BUILD/counter.jar" ] || [ "$HERE/Counter.java" -nt "$BUILD/counter.jar" ]; then
    rm -rf "$BUILD/classes"
    mkdir -p "$BUILD/classes"
    javac -nowarn -Xlint:none -cp "$BUILD/lib/*" -d "$BUILD/classes" "$HERE/Counter.java"
    jar cf "$BUILD/counter.jar.tmp" -C "$BUILD/classes" .
    mv "$BUILD/counter.jar.tmp" "$BUILD/counter.jar"
fi
