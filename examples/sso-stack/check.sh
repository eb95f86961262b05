#!/usr/bin/env bash
# Renders the example with the catalog's charts and checks that the pieces agree:
# Authelia's LDAP address is the yaldap Service on its Service port, and both
# render cleanly. Run from anywhere: examples/sso-stack/check.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The releases of the README: yaldap as `ldap`, authelia as `auth`, both in `sso`.
render() { # chart release values out
  local chart_dir="$root/charts/$1"
  helm_bin="$(cargo xtask tools 2>/dev/null | awk '$1 == "helm" {print $3; exit}')"
  "${helm_bin:-helm}" template "$2" "$chart_dir" --namespace sso -f "$3" >"$4"
}

cargo xtask render authelia -f "$here/authelia-values.yaml" >/dev/null # vendors the library too
render authelia auth "$here/authelia-values.yaml" "$tmp/authelia.yaml"
grep -q 'address: ldap://ldap-yaldap.sso.svc.cluster.local:389' "$tmp/authelia.yaml" \
  || { echo "authelia: LDAP address is not the yaldap Service" >&2; exit 1; }
grep -q 'kind: HTTPRoute' "$tmp/authelia.yaml" || { echo "authelia: no HTTPRoute" >&2; exit 1; }
# No secret in the ConfigMap: secrets are files named by AUTHELIA_*_FILE.
awk '/^kind: ConfigMap$/ {c=1} /^---/ {c=0} c' "$tmp/authelia.yaml" >"$tmp/configmap.yaml"
if grep -Eq '^\s+(password|jwt_secret|secret|encryption_key|hmac_secret):' "$tmp/configmap.yaml"; then
  echo "authelia: a secret in the ConfigMap" >&2; exit 1
fi
grep -q 'AUTHELIA_AUTHENTICATION_BACKEND_LDAP_PASSWORD_FILE' "$tmp/authelia.yaml" \
  || { echo "authelia: the LDAP bind password is not a file" >&2; exit 1; }

if [[ -d "$root/charts/yaldap" ]]; then
  cargo xtask render yaldap -f "$here/yaldap-values.yaml" >/dev/null
  render yaldap ldap "$here/yaldap-values.yaml" "$tmp/yaldap.yaml"
  awk '/^kind: Service$/ {svc=1} svc && /^  name: / {print $2; exit}' "$tmp/yaldap.yaml" | grep -qx 'ldap-yaldap' \
    || { echo "yaldap: the Service is not ldap-yaldap" >&2; exit 1; }
  grep -Eq '^\s+port: 389$' "$tmp/yaldap.yaml" || { echo "yaldap: no Service port 389" >&2; exit 1; }
else
  echo "charts/yaldap is not in this tree yet: only the authelia side was checked" >&2
fi
echo "sso-stack: authelia and yaldap agree"
