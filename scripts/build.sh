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

# berth-runtime's C helper (runtime-hooks/native), rebuilt when a source is newer than the binary.
init_helper=runtime-hooks/build/berth-init
if [[ ! -x "$init_helper" ]] || [[ -n "$(find runtime-hooks/native -newer "$init_helper" -print -quit)" ]]; then
  echo "setup: building $init_helper" >&2
  mkdir -p runtime-hooks/build
  cc -O2 -Wall -Wextra -Werror -std=gnu11 -o "$init_helper.tmp" runtime-hooks/native/*.c && mv "$init_helper.tmp" "$init_helper"
fi

node_modules/.bin/tsc -b
[[ -f scripts/bundle.mjs ]] && node scripts/bundle.mjs
exit 0
