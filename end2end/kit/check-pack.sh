#!/usr/bin/env bash
# Packs the kit as a QA team would receive it (`npm pack`) and checks the tarball works on its own: unpacked into a
# scratch suite, its example spec type-checks against the packed declarations, an ES module imports it by name, and
# Playwright loads and lists the example from the packed JavaScript. Nothing is downloaded: @playwright/test and
# typescript are end2end's (`npm ci` there first).
set -euo pipefail
kit="$(cd "$(dirname "$0")" && pwd)"
end2end="$(dirname "$kit")"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

(cd "$kit" && npm pack --silent --pack-destination "$scratch" >/dev/null)
tarball="$(ls "$scratch"/forestall-e2e-kit-*.tgz)"
modules="$scratch/suite/node_modules"
mkdir -p "$modules/@forestall/e2e-kit" "$modules/@types" "$modules/@playwright"
tar -xzf "$tarball" -C "$modules/@forestall/e2e-kit" --strip-components=1
for package in @playwright/test playwright playwright-core typescript @types/node undici-types; do
  ln -s "$end2end/node_modules/$package" "$modules/$package"
done
cp "$kit/examples/"*.spec.ts "$scratch/suite/"
cat >"$scratch/suite/tsconfig.json" <<'JSON'
{ "compilerOptions": { "target": "ES2022", "lib": ["ESNext", "DOM"], "module": "commonjs", "strict": true,
                       "noEmit": true, "types": ["node"] },
  "include": ["*.ts"] }
JSON
cat >"$scratch/suite/playwright.config.ts" <<'TS'
import { defineConfig } from '@playwright/test';
import { hydratedAndNoJsProjects } from '@forestall/e2e-kit';
export default defineConfig({ testDir: '.', use: { baseURL: 'http://127.0.0.1:9' }, projects: hydratedAndNoJsProjects() });
TS
cd "$scratch/suite"
node_modules/typescript/bin/tsc -p tsconfig.json
# ESM suites import it by name too (Node reads the CommonJS build's named exports).
node --input-type=module -e "import { test, AlertForm, needsJavaScript } from '@forestall/e2e-kit';
  if (typeof test.extend !== 'function' || typeof AlertForm !== 'function' || !needsJavaScript('x').tag) process.exit(1);"
listed="$(node_modules/@playwright/test/cli.js test --list)"
echo "$listed" | grep -q 'a proactive case for an alert from monitoring' || { echo "$listed"; exit 1; }
echo "kit tarball OK: $(basename "$tarball"), $(echo "$listed" | grep -c '›') tests listed from its example"
