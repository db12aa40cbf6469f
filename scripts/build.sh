#!/usr/bin/env bash
# Builds native addons (when their sources changed), TypeScript (incremental), the bundled Node plugins, and the CNI
# shim (cni/shim, C) that every cni/bin/berth-* is.
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

# The shim bakes in where node and the bundles are (its exec fallback never looks at PATH): rebuilt when its source,
# this script or those paths changed. cni/bin/<name> is a hard link to it for every CNI plugin bundle.mjs lists.
shim=cni/shim/build/berth-cni-shim
shim_defines=("-DBERTH_NODE=\"$(readlink -f "$(command -v node)")\"" "-DBERTH_BUNDLE_DIR=\"$PWD/cni/dist/bundle\"")
if [[ ! -f "$shim" || cni/shim/shim.c -nt "$shim" || cni/shim/socket-io.h -nt "$shim" || scripts/build.sh -nt "$shim" || "$(cat "$shim.defines" 2>/dev/null)" != "${shim_defines[*]}" ]]; then
  echo "setup: building the CNI shim" >&2
  mkdir -p cni/shim/build
  cc -std=c11 -O2 -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong "${shim_defines[@]}" \
    -o "$shim.tmp" cni/shim/shim.c
  mv "$shim.tmp" "$shim"
  printf '%s' "${shim_defines[*]}" > "$shim.defines"
fi
for name in $(node -p "require('./cni/dist/bundle/cni-plugins.json').join(' ')"); do
  ln -f "$shim" "cni/bin/$name"
done

# berth's native front end (runtime-hooks/front): bakes in node, the Node CLI and berth-init, as the shim does.
front=runtime-hooks/build/berth
front_defines=("-DBERTH_NODE=\"$(readlink -f "$(command -v node)")\"" "-DBERTH_CLI=\"$PWD/runtime-hooks/bin/berth.js\""
  "-DBERTH_INIT=\"$PWD/$init_helper\"")
if [[ ! -f "$front" || runtime-hooks/front/berth.c -nt "$front" || cni/shim/socket-io.h -nt "$front" || scripts/build.sh -nt "$front" || "$(cat "$front.defines" 2>/dev/null)" != "${front_defines[*]}" ]]; then
  echo "setup: building berth's front end" >&2
  cc -std=gnu11 -O2 -Wall -Wextra -Werror -D_FORTIFY_SOURCE=2 -fstack-protector-strong "${front_defines[@]}" \
    -o "$front.tmp" runtime-hooks/front/berth.c
  mv "$front.tmp" "$front"
  printf '%s' "${front_defines[*]}" > "$front.defines"
fi
exit 0
