#!/usr/bin/env bash
# Builds native addons (when their sources changed), TypeScript (incremental) and the bundled executables.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build against the installed Node headers (offline) when the machine has them.
nodedir=()
[[ -f /usr/include/node/node_api.h ]] && nodedir=(--nodedir=/usr)
for dir in cni/netns-napi firewall/nftables-napi; do
  addon=$(node -e "console.log(require('./$dir/package.json').berth?.addon ?? '')")
  [[ -n "$addon" ]] || continue
  out="$dir/build/Release/$addon.node"
  if [[ ! -f "$out" ]] || [[ -n "$(find "$dir/native" "$dir/binding.gyp" -newer "$out" -print -quit)" ]]; then
    echo "setup: building $dir" >&2
    (cd "$dir" && ../../node_modules/.bin/node-gyp rebuild "${nodedir[@]}" --loglevel=error >&2)
  fi
done

node_modules/.bin/tsc -b
[[ -f scripts/bundle.mjs ]] && node scripts/bundle.mjs
exit 0
