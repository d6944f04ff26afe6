#!/usr/bin/env bash
# `make demo`: the main job end to end against the local sandbox, on the example
# manifests: validate -> plan -> apply -> plan again (no changes left but the refusal),
# then catalogs, image data with rebuilds and rotation, and an SCS policy check.
# One image in the examples (a public base image owned by the admin project) is refused
# by Glance with 403 and rolled back: apply exits 3 for it, which the demo expects.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
EXAMPLES=${EXAMPLES:-manifests/examples}
SANDBOX_DIR=${RECONCILER_SANDBOX_DIR:-.sandbox}
OUT=${OUT:-out/demo}
mkdir -p "$OUT"
eval "$("$BIN/reconciler" sandbox env --dir "$SANDBOX_DIR")"

step() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }

step "reconciler validate $EXAMPLES"
"$BIN/reconciler" validate "$EXAMPLES"

step "reconciler plan $EXAMPLES --out $OUT/plan.json"
"$BIN/reconciler" plan "$EXAMPLES" --out "$OUT/plan.json"
"$BIN/reconciler" plan "$EXAMPLES" --format markdown > "$OUT/plan.md"
echo "(Markdown for a pull request: $OUT/plan.md)"

step "reconciler apply $OUT/plan.json"
set +e
"$BIN/reconciler" apply "$OUT/plan.json" --journal "$OUT/journal.jsonl"
code=$?
set -e
case $code in
  0) echo "apply: every image applied" ;;
  3) echo "apply: exit 3 as expected: the base image change was refused (403) and rolled back" ;;
  *) echo "apply failed with exit $code" >&2; exit "$code" ;;
esac

step "reconciler plan $EXAMPLES --detailed-exitcode (again)"
set +e
"$BIN/reconciler" plan "$EXAMPLES" --detailed-exitcode
code=$?
set -e
echo "plan exit code: $code (2: only the refused base image still differs)"
[ "$code" = 0 ] || [ "$code" = 2 ] || exit "$code"

step "reconciler drift $EXAMPLES (what differs between Git and the cloud)"
set +e
"$BIN/reconciler" drift "$EXAMPLES" --unmanaged \
  --report junit="$OUT/drift.xml" --report html="$OUT/drift.html" --report markdown="$OUT/drift.md"
code=$?
set -e
echo "drift exit code: $code (2: drift found: the refused base image; 0: none)"
[ "$code" = 0 ] || [ "$code" = 2 ] || exit "$code"
echo "(reports: $OUT/drift.html, $OUT/drift.xml, $OUT/drift.md)"

step "reconciler import --name 'base-*' (manifests from live images, read-only)"
"$BIN/reconciler" import --name 'base-*'

step "catalogs: a second manifest set (catalog team-ml) in the same project"
mkdir -p "$OUT/team-ml"
cat > "$OUT/team-ml/images.yaml" <<'YAML'
version: 1
catalog: team-ml
images:
  - name: demo-team-ml-cuda
    visibility: private
    properties: {os_distro: ubuntu, team: ml}
YAML
"$BIN/reconciler" apply --auto-approve "$OUT/team-ml"
echo "(the examples' plan counts it as another catalog's image, not as an orphan:)"
"$BIN/reconciler" plan "$EXAMPLES" --prune | tail -1

step "image data: an image built from a file, verified end to end, then rebuilt and rotated"
mkdir -p "$OUT/data"
build() {  # $1: version; writes the disk file and the manifest naming its checksum
  head -c 2097152 /dev/urandom > "$OUT/data/disk-$1.raw"
  sum=$(sha256sum "$OUT/data/disk-$1.raw" | cut -d' ' -f1)
  cat > "$OUT/data/images.yaml" <<YAML
version: 1
catalog: demo-data
images:
  - name: demo-debian-13
    disk_format: raw
    container_format: bare
    visibility: private
    properties: {os_distro: debian, os_version: "13"}
    source: {url: disk-$1.raw, checksum: "sha256:$sum", method: upload, version: "$1"}
    rotation:
      previous: {properties: {os_purpose: oldgeneric}}
      keep: 2
      retired: hide
YAML
}
build 20261101
"$BIN/reconciler" apply --auto-approve "$OUT/data"
echo "(a second plan finds the build current: nothing to upload)"
"$BIN/reconciler" plan "$OUT/data" | tail -1
build 20261127
echo "(the source changed: the plan shows a rebuild)"
"$BIN/reconciler" plan "$OUT/data"
"$BIN/reconciler" apply --auto-approve "$OUT/data"
build 20261201
echo "(a third build: the previous one is renamed 'oldgeneric', the oldest retired: hidden)"
"$BIN/reconciler" plan "$OUT/data"
"$BIN/reconciler" apply --auto-approve "$OUT/data"
"$BIN/reconciler" plan "$OUT/data" --detailed-exitcode | tail -1

step "upstream sources: bump finds the newest upstream build, apply builds it"
# A loopback upstream laid out as Debian's (a folder per build, SHA512SUMS in each),
# served by the sandbox's mirror; the image is published xz-compressed.
MIRROR_PORT=$("$BIN/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["mirror_port"])' "$SANDBOX_DIR/state.json")
UPSTREAM="http://127.0.0.1:$MIRROR_PORT/upstream/demo"
UP_DIR="$SANDBOX_DIR/mirror/upstream/demo"
rm -rf "$UP_DIR" && mkdir -p "$UP_DIR"
publish() {  # $1: version: a folder with the xz-compressed image and its SHA512SUMS
  mkdir -p "$UP_DIR/$1"
  head -c 1048576 /dev/urandom | xz -1 -T1 > "$UP_DIR/$1/demo-cloud-$1.raw.xz"
  (cd "$UP_DIR/$1" && sha512sum "demo-cloud-$1.raw.xz" > SHA512SUMS)
}
publish 20261101-0001
first=$(cut -d' ' -f1 "$UP_DIR/20261101-0001/SHA512SUMS")
mkdir -p "$OUT/upstream"
cat > "$OUT/upstream/images.yaml" <<YAML
version: 1
catalog: demo-upstream
images:
  # Kept current by \`reconciler bump\` (a scheduled CI job opens the pull request).
  - name: demo-upstream-cloud
    disk_format: raw
    container_format: bare
    visibility: private
    properties:
      os_distro: debian
      image_build_date: "2026-11-01"
    source:
      url: $UPSTREAM/20261101-0001/demo-cloud-20261101-0001.raw.xz
      checksum: sha512:$first
      version: "20261101-0001"
      watch:
        url: $UPSTREAM/{version}/demo-cloud-{version}.raw.xz
        checksums: $UPSTREAM/{version}/SHA512SUMS
        index: $UPSTREAM/
YAML
"$BIN/reconciler" apply --auto-approve "$OUT/upstream"
publish 20261124-0002
echo "(a newer build is published upstream; the pull request body bump would open:)"
set +e
"$BIN/reconciler" bump "$OUT/upstream" --dry-run --format markdown
"$BIN/reconciler" bump "$OUT/upstream"
code=$?
set -e
echo "bump exit code: $code (2: manifests rewritten)"
[ "$code" = 2 ] || exit 1
grep -n "20261124-0002" "$OUT/upstream/images.yaml"
"$BIN/reconciler" apply --auto-approve "$OUT/upstream"
echo "(bump again: everything current, exit 0)"
"$BIN/reconciler" bump "$OUT/upstream" | tail -1

step "policies: the examples' public images against the SCS image metadata standard"
set +e
"$BIN/reconciler" drift "$EXAMPLES" --policy scs-0102 --fail-on policy  # each image, its violations
code=$?
set -e
echo "drift --policy exit code: $code (2: public images that break scs-0102 rules, listed above)"
[ "$code" = 0 ] || [ "$code" = 2 ] || exit "$code"
