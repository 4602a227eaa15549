#!/usr/bin/env bash
# Installs wardgate as systemd services: system users, /etc/wardgate, state directories, the
# repository under the prefix with its production bundles built, and the units. Safe to run again: it never overwrites an existing
# config or key and only creates what is missing. See systemd/README.md.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: systemd/install.sh [--prefix DIR] [--only edge|cloud] [--dry-run]

  --prefix DIR   where the repository is installed (default /opt/wardgate)
  --only PART    install only the gateway (edge) or only the cloud (default both)
  --dry-run      print what would be done, change nothing (needs no root)
USAGE
}

PREFIX=/opt/wardgate
ONLY=all
DRY_RUN=0
while (($#)); do
  case "$1" in
    --prefix)
      [[ $# -ge 2 && -n "$2" ]] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }
      PREFIX=$2
      shift 2
      ;;
    --prefix=*) PREFIX=${1#--prefix=}; shift ;;
    --only)
      [[ $# -ge 2 ]] || { echo "install.sh: --only needs edge or cloud" >&2; exit 2; }
      ONLY=$2
      shift 2
      ;;
    --only=*) ONLY=${1#--only=}; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install.sh: unknown option \"$1\"" >&2; usage >&2; exit 2 ;;
  esac
done
case "$ONLY" in
  all) PARTS=(edge cloud) ;;
  edge | cloud) PARTS=("$ONLY") ;;
  *) echo "install.sh: --only must be edge or cloud, got \"$ONLY\"" >&2; exit 2 ;;
esac
[[ "$PREFIX" == /* ]] || { echo "install.sh: --prefix must be absolute, got \"$PREFIX\"" >&2; exit 2; }
PREFIX=${PREFIX%/}

SOURCE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFIG_DIR=/etc/wardgate
UNIT_DIR=/etc/systemd/system
NODE=$(command -v node || true)
[[ -n "$NODE" ]] || { echo "install.sh: node (>= 20) is not on PATH" >&2; exit 1; }
NOLOGIN=$(command -v nologin || echo /usr/sbin/nologin)

if ((!DRY_RUN)) && [[ $(id -u) -ne 0 ]]; then
  echo "install.sh: run as root (or try --dry-run)" >&2
  exit 1
fi

# Every change goes through run: printed in a dry run, executed otherwise.
run() {
  if ((DRY_RUN)); then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}
say() { printf '%s\n' "$*"; }

ensure_user() {
  local user=$1
  if id -u "$user" >/dev/null 2>&1; then
    say "user $user exists"
  else
    run useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell "$NOLOGIN" --comment "wardgate $user" "$user"
  fi
}

ensure_dir() {
  local dir=$1 owner=$2 mode=$3
  run install -d -o "${owner%%:*}" -g "${owner##*:}" -m "$mode" "$dir"
}

install_tree() {
  say "installing $SOURCE to $PREFIX"
  if [[ "$SOURCE" == "$PREFIX" ]]; then
    say "source is the prefix; not copying"
  else
    run install -d -o root -g root -m 0755 "$PREFIX"
    # node_modules comes along: pnpm's links are relative, native addons are already built.
    run rsync -a --delete --exclude=.git --exclude='.wardgate-*' --exclude='*.log' \
      --exclude=.tmp --exclude=coverage --exclude=wardgate-cloud-data "$SOURCE/" "$PREFIX/"
  fi
  # The units run the bundles (edge/dist, cloud/dist), built here from the installed sources with
  # the installed esbuild, so they always match the tree they sit in.
  run "$NODE" "$PREFIX/scripts/build.mjs"
  # Readable by the service users, writable only by root.
  run chown -R root:root "$PREFIX"
  run chmod -R u=rwX,go=rX "$PREFIX"
}

install_unit() {
  local part=$1 unit="wardgate-$1.service"
  local target="$UNIT_DIR/$unit"
  say "unit $target (node $NODE, prefix $PREFIX)"
  if ((DRY_RUN)); then
    run install -m 0644 "$SOURCE/systemd/$unit" "$target"
    [[ "$PREFIX" == /opt/wardgate && "$NODE" == /usr/bin/node ]] ||
      say "+ (rewrite /opt/wardgate -> $PREFIX and /usr/bin/node -> $NODE in $target)"
    return
  fi
  local tmp
  tmp=$(mktemp)
  sed -e "s#/opt/wardgate#$PREFIX#g" -e "s#/usr/bin/node #$NODE #" \
    "$SOURCE/systemd/$unit" >"$tmp"
  if cmp -s "$tmp" "$target"; then
    say "$target is up to date"
    rm -f "$tmp"
  else
    install -m 0644 "$tmp" "$target"
    rm -f "$tmp"
  fi
}

configure_edge() {
  local config="$CONFIG_DIR/edge.yaml" key="$CONFIG_DIR/edge.key"
  if [[ -e "$key" ]]; then
    say "$key exists; keeping it"
  else
    run "$NODE" "$PREFIX/edge/dist/wardgate-edge.mjs" keygen --out "$key"
  fi
  run chown root:wardgate-edge "$key"
  run chmod 0640 "$key"
  if [[ -e "$config" ]]; then
    say "$config exists; keeping it"
  else
    local tmp=/tmp/wardgate-edge-init.$$.yaml
    run "$NODE" "$PREFIX/edge/dist/wardgate-edge.mjs" init --out "$tmp"
    run sed -i -e 's#^\(  dataDir:\).*#\1 /var/lib/wardgate-edge#' \
      -e "s#^\\(  signingKeyFile:\\).*#\\1 $key#" "$tmp"
    run install -o root -g wardgate-edge -m 0640 "$tmp" "$config"
    run rm -f "$tmp"
    say "edit $config (devices, cloud), then: $NODE $PREFIX/edge/dist/wardgate-edge.mjs config check --config $config"
  fi
  run chown root:wardgate-edge "$config"
  run chmod 0640 "$config"
}

configure_cloud() {
  local envfile="$CONFIG_DIR/cloud.env"
  if [[ -e "$envfile" ]]; then
    say "$envfile exists; keeping it"
  elif ((DRY_RUN)); then
    say "+ write $envfile (commented DATABASE_URL / WARDGATE_KEY_FILE / CLOUD_TLS_* / ports)"
  else
    cat >"$envfile" <<'ENV'
# Environment of wardgate-cloud.service. Without DATABASE_URL the cloud keeps a PGlite database
# in /var/lib/wardgate-cloud/db and its PHI key file beside it (db.phi-keys.json, made on first
# start). PostgreSQL needs a key file: wardgate-cloud keys create --key-file /etc/wardgate/phi-keys.json
# (owned by wardgate-cloud, mode 0600), kept apart from the database and its backups.
#DATABASE_URL=postgres://wardgate:secret@127.0.0.1:5432/wardgate
#WARDGATE_KEY_FILE=/etc/wardgate/phi-keys.json
#CLOUD_TLS_CERT=/etc/wardgate/tls/server.crt
#CLOUD_TLS_KEY=/etc/wardgate/tls/server.key
#CLOUD_HTTP_PORT=4780
#CLOUD_MQTT_PORT=4783
ENV
  fi
  run chown root:wardgate-cloud "$envfile"
  run chmod 0640 "$envfile"
}

for part in "${PARTS[@]}"; do ensure_user "wardgate-$part"; done
getent group dialout >/dev/null 2>&1 || run groupadd --system dialout
install_tree
ensure_dir "$CONFIG_DIR" root:root 0755
for part in "${PARTS[@]}"; do
  ensure_dir "/var/lib/wardgate-$part" "wardgate-$part:wardgate-$part" 0700
  "configure_$part"
  install_unit "$part"
done

if [[ -d /run/systemd/system ]]; then
  run systemctl daemon-reload
else
  say "systemd is not running here; skipping systemctl daemon-reload"
fi
say "done. Start with: systemctl enable --now$(printf ' wardgate-%s' "${PARTS[@]}")"
