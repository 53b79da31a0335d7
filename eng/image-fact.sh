#!/usr/bin/env bash
# Prints one value of deploy/images.json, the home of every image fact, by its dotted path:
#   eng/image-fact.sh images.prometheus        -> quay.io/prometheus/prometheus:v3.5.3
#   eng/image-fact.sh dotnetImage.httpPort     -> 8080
set -euo pipefail
python3 - "$(dirname "$0")/../deploy/images.json" "${1:?usage: image-fact.sh dotted.path}" <<'PY'
import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2].split("."):
    value = value[key]
print(value)
PY
