#!/usr/bin/env bash
# cargo deny (advisories, bans, licenses, sources), offline: these machines reach package registries
# only, so the RustSec database comes from the snapshot in ../shared/advisory-db beside the clone.
#
#   scripts/deny.sh                          # what CI runs: all four checks
#   scripts/deny.sh licenses bans            # only some of them
#   DENY_INCLUSION_GRAPH=1 scripts/deny.sh   # also print who pulls in each reported crate
#
# Needs: cargo, git; ../shared/ beside the repository. Installs cargo-deny 0.20.2 when missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

DENY_VERSION=0.20.2

shared=$(cd "$root/../shared" 2>/dev/null && pwd) || {
  echo "deny.sh: $root/../shared not found (the advisory snapshot lives there)" >&2
  exit 1
}
snapshot="$shared/advisory-db"
builder="$shared/tools/advisory-db.sh"
[ -d "$snapshot/crates" ] || { echo "deny.sh: no advisory snapshot at $snapshot" >&2; exit 1; }
[ -f "$builder" ] || { echo "deny.sh: missing $builder" >&2; exit 1; }

# 1. cargo-deny, the version deny.toml is written for.
if [ "$(cargo deny --version 2>/dev/null || true)" != "cargo-deny $DENY_VERSION" ]; then
  echo "deny.sh: installing cargo-deny $DENY_VERSION (a few minutes)"
  cargo install cargo-deny --version "$DENY_VERSION" --locked
fi

# 2. The advisory database: a git checkout under the cache, as cargo-deny expects it. deny.toml
#    reads its location from CONTEXTWORKER_ADVISORY_DB. Rebuilt when missing, when anything in the
#    snapshot (or its builder) is newer than the checkout, or when the checkout is 60 days old:
#    cargo-deny --offline refuses a database whose checkout is older than 90 days
#    (`maximum-db-staleness`), and it dates the checkout by its .git/HEAD, not by the snapshot.
export CONTEXTWORKER_ADVISORY_DB="${XDG_CACHE_HOME:-$HOME/.cache}/contextworker-advisory-db"
db_root=$CONTEXTWORKER_ADVISORY_DB
mkdir -p "$db_root"
checkout() { find "$db_root" -mindepth 1 -maxdepth 1 -type d -name 'advisory-db-*' -print -quit; }
repo=$(checkout)
if [ -z "$repo" ] || [ ! -f "$repo/.git/HEAD" ] \
  || [ -n "$(find "$snapshot" "$builder" -newer "$repo/.git/HEAD" -print -quit)" ] \
  || [ -n "$(find "$repo/.git/HEAD" -mtime +60 -print -quit)" ]; then
  for old in "$db_root"/advisory-db-*; do
    [ -e "$old" ] || continue
    chmod -R u+w "$old"   # the snapshot's files are copied read-only
    rm -rf "$old"
  done
  echo "deny.sh: building the advisory database under $db_root"
fi
bash "$builder" "$db_root" >/dev/null
repo=$(checkout)
db_date=$(git -C "$repo" show -s --format=%cs HEAD)
db_age=$(( ($(date +%s) - $(git -C "$repo" show -s --format=%ct HEAD)) / 86400 ))
echo "deny.sh: RustSec snapshot of $db_date ($db_age days old); later advisories are not checked (deny.toml lists the known ones)"

# 3. Every crate's source for every platform (license files, manifests), from the lock file.
cargo fetch --locked --quiet

# 4. The checks.
checks=("$@")
[ ${#checks[@]} -gt 0 ] || checks=(advisories bans licenses sources)
graph=(--hide-inclusion-graph)
[ "${DENY_INCLUSION_GRAPH:-0}" = 1 ] && graph=()
exec cargo deny --offline --locked check --show-stats "${graph[@]}" "${checks[@]}"
