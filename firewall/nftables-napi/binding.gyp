{
  "targets": [
    {
      "target_name": "nftables",
      "sources": ["native/nftables.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-lnftables"]
    }
  ]
}
