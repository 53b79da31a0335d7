#!/usr/bin/env bash
# Builds the ComputeApi image as a user ships it and pushes it to the loopback registry; prints the reference.
#   eng/push-computeapi.sh [TAG]      (default: test, overwritten by each run)
# The AppHost's own pipeline step does the work (`push`: dotnet publish -t:PublishContainer, Native AOT, named from
# deploy/images.json), so the image is the one `aspire do push` makes. Needs a build of the AppHost (Release, or
# CLOUDAPP_CONFIGURATION) and the environment eng/prepare.sh prints. ./test.sh runs it once and every test that
# needs the image pulls this one.
set -euo pipefail
cd "$(dirname "$0")/.."

registry=${CLOUDAPP_REGISTRY:?run eval "\$(eng/prepare.sh)" first: it starts the registry}
pinned=$(eng/image-fact.sh images.computeApi.reference)
repository=${pinned%:*}
tag=${1:-test}
reference=$registry/$repository:$tag

dotnet "AppHost/bin/${CLOUDAPP_CONFIGURATION:-Release}/net10.0/AppHost.dll" --operation publish --step push \
  "--ComputeApi:Registry=$registry" "--Images:ComputeApi=$repository:$tag" >&2
# The pipeline logs a failed step but may still exit 0: pulling the image back is the proof.
docker pull -q "$reference" >/dev/null
echo "$reference"
