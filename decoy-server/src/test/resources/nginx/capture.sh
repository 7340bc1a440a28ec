#!/usr/bin/env bash
# Records a real nginx's raw answers to the probes of Probes.java into responses/NAME.http.
# Needs nginx (Debian: apt-get install nginx-light) and a JDK; no root, no build. The golden files
# in this folder were recorded from Debian 12's nginx 1.22.1 (nginx-light 1.22.1-9+deb12u11).
#   decoy-server/src/test/resources/nginx/capture.sh [PORT]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../../java/fortress/decoy/http/Probes.java"
port="${1:-18080}"
work="$(mktemp -d)"
chmod 755 "$work"  # nginx workers run as another user when started by root
trap 'if [ -f "$work/nginx.pid" ]; then kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

mkdir -p "$work/html" "$work/logs" "$work/classes"
chmod 755 "$work/html"
# The page the decoy's template serves at / in NginxParityTest (Probes.ROOT_PAGE), byte for byte.
printf '<html><body>hello</body></html>\n' > "$work/html/index.html"
sed -e "s|@WORK@|$work|g" -e "s|@PORT@|$port|g" "$here/nginx.conf" > "$work/nginx.conf"
nginx -v 2>&1
nginx -c "$work/nginx.conf" -p "$work" &
for _ in $(seq 50); do [ -f "$work/nginx.pid" ] && break; sleep 0.1; done

javac -d "$work/classes" "$src"
java -cp "$work/classes" fortress.decoy.http.Probes capture "127.0.0.1:$port" "$here/responses"
