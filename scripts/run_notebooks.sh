#!/usr/bin/env bash
# Executes the notebooks in examples/notebooks with the tslab TypeScript kernel and stores their
# outputs in place (run it after changing a notebook or the library, then commit the notebooks).
#   scripts/run_notebooks.sh                  # every notebook
#   scripts/run_notebooks.sh path/to/nb.ipynb # some
# Needs: Jupyter (Debian: jupyter-nbconvert python3-nbclient python3-jupyter-client python3-ipykernel
# jupyter-core), `npm install --no-save tslab@1.0.22 && npx tslab install --python=/usr/bin/python3`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH" # the kernel spec runs `tslab` from here
command -v tslab >/dev/null || { echo "tslab not found: npm install --no-save tslab@1.0.22 && npx tslab install --python=/usr/bin/python3" >&2; exit 1; }
[ "${SKIP_BUILD:-}" = 1 ] || npm run build --silent # SKIP_BUILD=1: use the dist/ already built
if [ "$#" -eq 0 ]; then set -- examples/notebooks/*.ipynb; fi
exec jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=120 "$@"
