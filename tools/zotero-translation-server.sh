#!/usr/bin/env bash
# Fetch and start Zotero's translation-server (with Zotero's translators) on 127.0.0.1:1969, for
# tests/test_zotero.py: FORUM_ZOTERO_SERVER=http://127.0.0.1:1969 make test PYTEST_ARGS=tests/test_zotero.py
# Needs git (GitHub), Node.js and npm. The server is Zotero's code, AGPL-3.0; it is not part of this project.
set -euo pipefail
dir=${ZOTERO_SERVER_DIR:-var/zotero-translation-server}
if [ ! -d "$dir" ]; then
  git clone --depth 1 --recurse-submodules --shallow-submodules https://github.com/zotero/translation-server "$dir"
fi
cd "$dir"
# Its one git dependency (a fork of wicked-good-xpath) is taken from the npm registry instead.
node -e 'const f="package.json",p=require("./"+f);p.dependencies["wicked-good-xpath"]="1.3.0";delete p.devDependencies;require("fs").writeFileSync(f,JSON.stringify(p,null,1))'
rm -f package-lock.json
npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
exec node src/server.js
