#!/usr/bin/env bash
# Build the dispatcher's image with podman on a Debian machine that cannot pull a base image or
# reach PyPI from inside a build:
#
#   1. the base: Debian 12 made from Debian's packages with debootstrap and imported into podman
#      as localhost/debian:bookworm (skipped when that image exists);
#   2. the wheels: the host's pip downloads the dependencies into deploy/wheelhouse/;
#   3. the image: deploy/Containerfile on that base, tagged localhost/fmk-dispatcher:VERSION;
#   4. with --smoke: `dispatcher doctor` (with a database and the mail catcher in the same
#      container) and `dispatcher demo` run inside it.
#
# Run as root from anywhere: deploy/build-image.sh [--smoke]. Needs podman, debootstrap and a
# Python 3.11 with pip on the host (apt-get install podman debootstrap). Settings, from the
# environment:
#   MIRROR      the Debian mirror (default http://deb.debian.org/debian)
#   SECURITY    the security mirror (default http://deb.debian.org/debian-security)
#   BASE        the base image (default localhost/debian:bookworm)
#   TAG         the image (default localhost/fmk-dispatcher:<version in pyproject.toml>)
#   PYTHON      the host's Python for pip (default python3)
#   PODMAN_RUN  extra options for every container podman starts, builds included (e.g. the
#               sandbox workarounds in deploy/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."

MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}
BASE=${BASE:-localhost/debian:bookworm}
PYTHON=${PYTHON:-python3}
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml)
TAG=${TAG:-localhost/fmk-dispatcher:$VERSION}
read -r -a RUN_OPTS <<<"${PODMAN_RUN:-}"

smoke=false
case "${1:-}" in
  "") ;;
  --smoke) smoke=true ;;
  *) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
esac

if ! podman image exists "$BASE"; then
  echo "== base: debootstrap bookworm from $MIRROR, imported as $BASE"
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase bookworm "$root" "$MIRROR"
  cat >"$root/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
EOF
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | podman import - "$BASE"
fi

echo "== wheels: deploy/wheelhouse/"
rm -f deploy/wheelhouse/*.whl
"$PYTHON" -m pip download --quiet --only-binary :all: --python-version 3.11 \
  --dest deploy/wheelhouse . "setuptools>=69"

echo "== image: $TAG on $BASE"
podman build "${RUN_OPTS[@]}" --format docker --build-arg "BASE=$BASE" \
  -f deploy/Containerfile -t "$TAG" .

if $smoke; then
  echo "== inside $TAG: dispatcher doctor (a fresh database, the mail catcher alongside)"
  podman run --rm "${RUN_OPTS[@]}" --network none --entrypoint sh "$TAG" -c \
    'dispatcher mailcatcher --folder /tmp/mail >/dev/null 2>&1 &
     dispatcher db upgrade && sleep 1 && dispatcher doctor'
  echo "== inside $TAG: dispatcher demo"
  podman run --rm "${RUN_OPTS[@]}" --network none --workdir /tmp "$TAG" demo
fi
echo "== built $TAG"
