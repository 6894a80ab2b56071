#!/usr/bin/env bash
# Install the Debian packages the app and its tests need, when they are missing.
# Usage: scripts/system-packages.sh run|test
# Never fails the build on its own: it says what is missing and what to do instead.
set -u
want=(fonts-noto-cjk libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0)
if [ "${1:-run}" = "test" ]; then
  want+=(chromium poppler-utils nginx)  # nginx: bench.exam_load runs behind it, as production
fi
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  want+=(python3-venv)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "!! Missing system packages: ${missing[*]}. This is not a Debian/Ubuntu machine:" >&2
  echo "!! install their equivalents by hand (a CJK font, HarfBuzz subset, Pango, Chromium)." >&2
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "!! Missing system packages: ${missing[*]}" >&2
  echo "!! Run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
  echo "!! Continuing: PDFs may lack Chinese glyphs and browser tests will be skipped." >&2
  exit 0
fi
echo ">> Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >/dev/null && "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "!! apt-get could not install ${missing[*]}; install them by hand." >&2
exit 0
