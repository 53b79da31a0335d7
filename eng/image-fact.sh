#!/usr/bin/env bash
# The shell's one reader of deploy/images.json, the home of every image fact (one record per image); the C# side
# reads it through AppHost/ContainerImages.cs. CLOUDAPP_IMAGES_FILE names another file by its absolute path (the
# scripts change folders; tests pin other versions in a copy without touching the committed one).
#   eng/image-fact.sh images.prometheus.reference     -> quay.io/prometheus/prometheus:v3.5.3
#   eng/image-fact.sh images.runtimeDeps.port         -> 8080
#   eng/image-fact.sh --keys                          -> every image's key, one a line
#   eng/image-fact.sh --keys standIn.debianPackage    -> the keys of the images whose record has that field
#   eng/image-fact.sh --stand-in prometheus           -> cloudapp/prometheus:3.5.3, the local stand-in's reference;
#                                                        fails, naming the pin and the version the stand-in is built
#                                                        from, when the two differ
set -euo pipefail
file=${CLOUDAPP_IMAGES_FILE:-$(dirname "$0")/../deploy/images.json}
[ -r "$file" ] || { printf 'image-fact: %s cannot be read\n' "$file" >&2; exit 1; }
[ $# -ge 1 ] || { sed -n '5,11s/^# \{0,1\}//p' "$0" >&2; exit 2; }
python3 - "$file" "$@" <<'PY'
import json, sys

path, args = sys.argv[1], sys.argv[2:]
images = json.load(open(path))["images"]

def fail(message):
    print(f"image-fact: {message}", file=sys.stderr)
    sys.exit(1)

def lookup(value, dotted, where):
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            fail(f"{path} has no {where}")
        value = value[key]
    return value

def has(value, dotted):
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    return True

def version_of(reference):
    # The tag (after the last ':' of the last path segment), without the 'v' some projects prefix: v3.5.3 -> 3.5.3.
    tag = reference.rsplit("/", 1)[-1].rpartition(":")[2]
    return tag[1:] if tag.startswith("v") else tag

if args[0] == "--keys":
    for key, record in images.items():
        if len(args) < 2 or has(record, args[1]):
            print(key)
elif args[0] == "--stand-in":
    if len(args) < 2:
        fail("--stand-in needs an image key")
    key = args[1]
    stand_in = lookup(images, f"{key}.standIn", f"stand-in for image '{key}' (images.{key}.standIn)")
    if "debianRelease" in stand_in:
        print(f"{stand_in['name']}:{stand_in['debianRelease']}")
    else:
        reference = lookup(images, f"{key}.reference", f"reference for image '{key}'")
        pinned, available = version_of(reference), stand_in["version"]
        if pinned != available:
            fail(f"image '{key}' is pinned to {pinned} ({reference}), but its local stand-in can only be built from "
                 f"Debian's {stand_in['debianPackage']} {available}; refusing to stand in another version than the pin. "
                 f"Pin {available}, make {reference} available (pull or mirror it), or change the stand-in's record "
                 f"once Debian ships {pinned}.")
        print(f"{stand_in['name']}:{available}")
else:
    value = lookup({"images": images}, args[0], f"'{args[0]}'")
    if isinstance(value, (dict, list)):
        fail(f"'{args[0]}' is not a single value")
    print(value)
PY
