#!/usr/bin/env bash
# Installs the gitfleet agent or hub as a systemd service on this host, in one
# command. Idempotent: a second run with the same options changes nothing (no
# file rewritten, no restart). `--uninstall` removes exactly what it created.
# Needs root, systemd as PID 1 and Node.js >= 20 on PATH. docs/install.md.
#
#   install.sh agent --repo URL [--ref REF] [--path DIR] [--host ID] [--place DIR]
#                    [--hub ws(s)://HUB/agent] [--token TOKEN | --token-file FILE]
#                    [--interval DUR] [--drift-interval DUR] [--health-timeout DUR]
#                    [--docker-socket PATH]   (Podman: /run/podman/podman.sock)
#   install.sh hub   [--listen ADDR:PORT] [--repo URL [--ref REF] [--path DIR]]
#                    [--enrollment-token T] [--admin-token T] [--viewer-token T] [--webhook-secret S]
#   install.sh --uninstall [agent|hub] [--keep-state]   (no component: everything)
# Common: --from DIR  where the built gitfleet is (default: this script's project)
#         --no-start  install and enable, but do not start
set -euo pipefail
umask 022

LIB=/usr/lib/gitfleet
BIN=/usr/local/bin/gitfleet
ETC=/etc/gitfleet
UNITS=/etc/systemd/system
MANIFEST="$LIB/.install-manifest" # what this script created besides its fixed paths
HUB_USER=gitfleet-hub
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() { printf 'install.sh: %s\n' "$*" >&2; exit 2; }
say() { printf '%s\n' "$*"; }
usage() { sed -n '/^#   install.sh/,/^#         --no-start/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

# --- arguments ---------------------------------------------------------------
component="" uninstall=false keep_state=false start=true from="$(dirname "$here")"
declare -A opt=()
[ $# -gt 0 ] || { usage >&2; exit 2; }
case "$1" in
  agent|hub) component="$1"; shift ;;
  --uninstall|uninstall) uninstall=true; shift
    case "${1:-}" in agent|hub) component="$1"; shift ;; esac ;;
  -h|--help) usage; exit 0 ;;
  *) die "the first argument must be agent, hub or --uninstall (got \"$1\"); --help for usage" ;;
esac
agent_opts=" repo ref path host place hub token token-file interval drift-interval health-timeout docker-socket "
hub_opts=" listen repo ref path enrollment-token admin-token viewer-token webhook-secret "
while [ $# -gt 0 ]; do
  case "$1" in
    --from) [ $# -ge 2 ] || die "--from needs a directory"; from="$2"; shift 2 ;;
    --no-start) start=false; shift ;;
    --keep-state) keep_state=true; shift ;;
    -h|--help) usage; exit 0 ;;
    --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
    --*)
      name="${1#--}"
      if $uninstall || [[ "$( [ "$component" = agent ] && echo "$agent_opts" || echo "$hub_opts")" != *" $name "* ]]; then
        die "unknown option --$name for $($uninstall && echo uninstall || echo "$component"); --help for usage"
      fi
      [ $# -ge 2 ] || die "--$name needs a value"
      case "$2" in *$'\n'*|*$'\r'*) die "--$name: the value may not contain a line break" ;; esac
      opt[$name]="$2"; shift 2 ;;
    *) die "unexpected argument \"$1\"; --help for usage" ;;
  esac
done

# --- preconditions -----------------------------------------------------------
[ "$(id -u)" = 0 ] || die "must run as root (it installs a systemd service)"
[ -d /run/systemd/system ] || die "systemd is not running as PID 1 on this host; gitfleet installs as a systemd service"
if dpkg-query -W -f='${Status}' gitfleet 2>/dev/null | grep -q 'install ok installed'; then
  die "the gitfleet .deb package is installed here; manage it with apt/dpkg instead of install.sh"
fi

# --- helpers -----------------------------------------------------------------
changed_any=false
# install_content DEST MODE OWNER:GROUP < content — writes only when different.
install_content() {
  local dest="$1" mode="$2" owner="$3" tmp
  tmp="$(mktemp "$(dirname "$dest")/.gitfleet.XXXXXX")"
  cat > "$tmp"
  chmod "$mode" "$tmp"; chown "$owner" "$tmp"
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest" && [ "$(stat -c '%a %U:%G' "$dest")" = "$(stat -c '%a %U:%G' "$tmp")" ]; then
    rm -f "$tmp"; return 1
  fi
  mv -f "$tmp" "$dest"
  return 0
}
# A YAML double-quoted scalar (JSON-compatible): escapes \ and ".
yq() { local v="${1//\\/\\\\}"; v="${v//\"/\\\"}"; printf '"%s"' "$v"; }
manifest_add() { grep -qxF "$1" "$MANIFEST" 2>/dev/null || echo "$1" >> "$MANIFEST"; }
manifest_has() { grep -qxF "$1" "$MANIFEST" 2>/dev/null; }
random_secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }

require_node() {
  local node major
  node="$(command -v node || true)"
  [ -n "$node" ] || die "Node.js >= 20 is required and \"node\" is not on PATH (install it from your distribution or nodejs.org, then re-run)"
  major="$("$node" -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || die "Node.js >= 20 is required; $node is $("$node" --version)"
  # systemd looks "node" up in its own fixed PATH; it must find the same one.
  case "$node" in /usr/local/sbin/*|/usr/local/bin/*|/usr/sbin/*|/usr/bin/*|/sbin/*|/bin/*) ;;
    *) die "node is at $node, outside the PATH systemd searches (/usr/local/bin, /usr/bin, /bin…): link it, e.g. ln -s $node /usr/local/bin/node" ;;
  esac
}

# Copies the bundle (gitfleet.mjs + the native modules it loads) to $LIB when it differs.
install_bundle() {
  [ -f "$from/dist/gitfleet.mjs" ] || die "no built gitfleet in $from (expected $from/dist/gitfleet.mjs: run \"npm ci\" or \"npm run build\" there, or pass --from)"
  local stage
  stage="$(mktemp -d /usr/lib/.gitfleet.new.XXXXXX)"
  node "$here/bundle-files.mjs" "$from" --copy "$stage" || { rm -rf "$stage"; die "could not collect the bundle from $from"; }
  printf '#!/bin/sh\nexec node %s/gitfleet.mjs "$@"\n' "$LIB" > "$stage/gitfleet"
  chmod -R u=rwX,go=rX "$stage"; chmod 755 "$stage/gitfleet"
  if [ -d "$LIB" ] && diff -rq -x .install-manifest "$stage" "$LIB" >/dev/null 2>&1; then
    rm -rf "$stage"
  else
    [ -f "$MANIFEST" ] && cp -p "$MANIFEST" "$stage/"
    [ -e "$LIB" ] && rm -rf "$LIB"
    mv "$stage" "$LIB"; chmod 755 "$LIB"
    say "  bundle installed in $LIB"; changed_any=true
  fi
  if [ ! -L "$BIN" ] || [ "$(readlink "$BIN")" != "$LIB/gitfleet" ]; then
    [ -e "$BIN" ] && [ ! -L "$BIN" ] && die "$BIN exists and is not ours; remove it first"
    mkdir -p "$(dirname "$BIN")"; ln -sfn "$LIB/gitfleet" "$BIN"; say "  command $BIN"; changed_any=true
  fi
  if [ ! -d "$ETC" ]; then mkdir -m 755 "$ETC"; manifest_add "dir $ETC"; fi
}

# Enables and (re)starts UNIT; restarts only when something it uses changed.
activate() {
  local unit="$1" unit_changed="$2" restart="$3"
  $unit_changed && systemctl daemon-reload
  systemctl is-enabled --quiet "$unit" 2>/dev/null || { systemctl enable --quiet "$unit"; say "  $unit enabled"; }
  $start || return 0
  if systemctl is-active --quiet "$unit"; then
    if $restart; then systemctl restart "$unit"; say "  $unit restarted"; fi
  else
    systemctl reset-failed "$unit" 2>/dev/null || true
    systemctl start "$unit"; say "  $unit started"
  fi
}

install_unit() { # NAME → 0 when written
  install_content "$UNITS/$1" 0644 root:root < "$here/systemd/$1"
}

# --- agent -------------------------------------------------------------------
# The host policy (docs/policy.md): the baseline, written once. It is the
# administrator's file from then on: never overwritten, and the agent re-reads
# it on every reconcile (no restart needed).
install_policy() {
  [ ! -e "$ETC/policy.yaml" ] || return 0
  install_content "$ETC/policy.yaml" 0644 root:root < "$here/policy.yaml" || true
  manifest_add "policy $(sha256sum < "$ETC/policy.yaml" | cut -d' ' -f1)"
  say "  host policy $ETC/policy.yaml (the baseline: review it, docs/policy.md)"
}

install_agent() {
  [ -n "${opt[repo]:-}" ] || die "agent: --repo is required (the fleet repository's URL)"
  [ -z "${opt[token]:-}" ] || [ -z "${opt[token-file]:-}" ] || die "agent: give --token or --token-file, not both"
  [ -z "${opt[host]:-}" ] || [[ "${opt[host]}" =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$ ]] || die "agent: --host must be a hostname label (letters, digits, -)"
  [ -z "${opt[hub]:-}" ] || [[ "${opt[hub]}" =~ ^wss?:// ]] || die "agent: --hub must be a ws:// or wss:// URL (e.g. wss://hub.example.com/agent)"
  require_node
  say "gitfleet agent:"
  install_bundle
  local restart=false token=""
  if [ -n "${opt[token-file]:-}" ]; then
    [ -r "${opt[token-file]}" ] || die "agent: --token-file ${opt[token-file]} is not readable"
    token="$(cat "${opt[token-file]}")"
  fi
  token="${opt[token]:-$token}"
  if [ -n "$token" ]; then
    if install_content "$ETC/agent.token" 0600 root:root <<<"$token"; then say "  token $ETC/agent.token"; restart=true; fi
  elif [ -f "$ETC/agent.token" ]; then
    rm -f "$ETC/agent.token"; restart=true
  fi
  local config
  config="$(
    echo "# Written by gitfleet install.sh; re-run it to change a value (docs/install.md, docs/agent.md)."
    echo "repo: $(yq "${opt[repo]}")"
    for key in ref path host place hub interval drift-interval health-timeout; do
      [ -n "${opt[$key]:-}" ] || continue
      case "$key" in drift-interval) k=driftInterval ;; health-timeout) k=healthTimeout ;; *) k="$key" ;; esac
      echo "$k: $(yq "${opt[$key]}")"
    done
    [ -z "$token" ] || echo "tokenFile: $ETC/agent.token"
    [ -z "${opt[docker-socket]:-}" ] || printf 'docker:\n  socket: %s\n' "$(yq "${opt[docker-socket]}")"
  )"
  if install_content "$ETC/agent.yaml" 0600 root:root <<<"$config"; then say "  config $ETC/agent.yaml"; restart=true; fi
  # The host's age identity for encrypted layers (docs/secrets.md): made once, never replaced.
  if [ ! -f "$ETC/age.key" ]; then
    local recipient
    recipient="$("$LIB/gitfleet" secret keygen --output "$ETC/age.key")" || die "agent: cannot create $ETC/age.key"
    say "  age key $ETC/age.key (public key $recipient: encrypt this host's secrets for it)"
  fi
  install_policy
  local unit_changed=false
  if install_unit gitfleet-agent.service; then unit_changed=true; restart=true; say "  unit $UNITS/gitfleet-agent.service"; fi
  $changed_any && restart=true
  activate gitfleet-agent.service "$unit_changed" "$restart"
  $restart || $unit_changed || say "  unchanged"
}

# --- hub ---------------------------------------------------------------------
existing_hub_value() { # KEY → its value in the current hub.yaml (this script's format)
  [ -f "$ETC/hub.yaml" ] || return 0
  sed -n "s/^$1: \"\(.*\)\"\$/\1/p" "$ETC/hub.yaml" | head -1
}

install_hub() {
  require_node
  say "gitfleet hub:"
  install_bundle
  if ! getent passwd "$HUB_USER" >/dev/null; then
    useradd --system --user-group --home-dir /var/lib/gitfleet-hub --no-create-home --shell /usr/sbin/nologin "$HUB_USER"
    manifest_add "user $HUB_USER"; say "  user $HUB_USER"
  fi
  local restart=false key value config
  config="$(
    echo "# Written by gitfleet install.sh; re-run it to change a value (docs/install.md, docs/hub.md)."
    echo "# Root-only: systemd passes the service a private copy (LoadCredential)."
    echo "listen: $(yq "${opt[listen]:-127.0.0.1:8080}")"
    echo "dataDir: \"/var/lib/gitfleet-hub\""
    for key in repo ref path; do
      [ -z "${opt[$key]:-}" ] || echo "$key: $(yq "${opt[$key]}")"
    done
    # Secrets: the given one, else the one already installed, else a new random one.
    for key in enrollmentToken adminToken; do
      case "$key" in enrollmentToken) value="${opt[enrollment-token]:-}" ;; adminToken) value="${opt[admin-token]:-}" ;; esac
      value="${value:-$(existing_hub_value "$key")}"
      echo "$key: $(yq "${value:-$(random_secret)}")"
    done
    [ -z "${opt[viewer-token]:-}" ] || echo "viewerToken: $(yq "${opt[viewer-token]}")"
    value="${opt[webhook-secret]:-$(existing_hub_value webhookSecret)}"
    echo "webhookSecret: $(yq "${value:-$(random_secret)}")"
  )"
  if install_content "$ETC/hub.yaml" 0600 root:root <<<"$config"; then say "  config $ETC/hub.yaml (tokens inside, root-only)"; restart=true; fi
  local unit_changed=false
  if install_unit gitfleet-hub.service; then unit_changed=true; restart=true; say "  unit $UNITS/gitfleet-hub.service"; fi
  $changed_any && restart=true
  activate gitfleet-hub.service "$unit_changed" "$restart"
  $restart || $unit_changed || say "  unchanged"
}

# --- uninstall ---------------------------------------------------------------
# The baseline goes with the agent; a policy the administrator edited stays.
remove_policy() {
  [ -f "$ETC/policy.yaml" ] || return 0
  if manifest_has "policy $(sha256sum < "$ETC/policy.yaml" | cut -d' ' -f1)"; then rm -f "$ETC/policy.yaml"
  else say "  kept $ETC/policy.yaml (edited since install)"; fi
}

remove_component() { # agent|hub
  local unit="gitfleet-$1.service" state
  [ "$1" = agent ] && state=/var/lib/gitfleet || state=/var/lib/gitfleet-hub
  if [ -f "$UNITS/$unit" ] || systemctl is-active --quiet "$unit" 2>/dev/null; then
    systemctl disable --now --quiet "$unit" 2>/dev/null || true
    rm -f "$UNITS/$unit"
    systemctl daemon-reload
    systemctl reset-failed "$unit" 2>/dev/null || true
    say "  removed $unit"
  fi
  if [ "$1" = agent ]; then rm -f "$ETC/agent.yaml" "$ETC/agent.token" "$ETC/age.key"; remove_policy; else rm -f "$ETC/hub.yaml"; fi
  if ! $keep_state && [ -d "$state" ]; then rm -rf "$state"; say "  removed $state"; fi
  # StateDirectory= with DynamicUser leaves /var/lib/private behind; we use neither, but be exact.
}

uninstall() {
  say "gitfleet uninstall:"
  local parts=("${component:-agent}")
  [ -n "$component" ] || parts+=(hub)
  for c in "${parts[@]}"; do remove_component "$c"; done
  # The shared parts go when no component is left.
  if [ ! -f "$UNITS/gitfleet-agent.service" ] && [ ! -f "$UNITS/gitfleet-hub.service" ]; then
    if manifest_has "user $HUB_USER" && getent passwd "$HUB_USER" >/dev/null; then userdel "$HUB_USER" 2>/dev/null || true; say "  removed user $HUB_USER"; fi
    if manifest_has "dir $ETC"; then rmdir "$ETC" 2>/dev/null && say "  removed $ETC" || say "  kept $ETC (it holds files install.sh did not write)"; fi
    [ -L "$BIN" ] && [ "$(readlink "$BIN")" = "$LIB/gitfleet" ] && rm -f "$BIN"
    if [ -d "$LIB" ]; then rm -rf "$LIB"; say "  removed $LIB and $BIN"; fi
  fi
  say "  done (containers, units and files the agent managed from Git are left as they are)"
}

if $uninstall; then uninstall
elif [ "$component" = agent ]; then install_agent
else install_hub
fi
