#!/usr/bin/env bash
# Reproduces, on one Linux machine, what kube-proxy (iptables mode) does for the Service
# cloudapp/computeapi (ClusterIP 10.96.0.80:80 -> pods :8080, port name "http"), with real netfilter
# and the real ComputeApi. See docs/service-iptables.md, section "Run the lab on one machine".
#
#   node    network namespace that plays the Kubernetes node: bridge cni0 (10.244.0.1/24), the
#           KUBE-* chains, IP forwarding, br_netfilter.
#   pod-a   10.244.0.11, runs ComputeApi on :8080      } each on a veth into cni0, exactly like
#   pod-b   10.244.0.12, runs ComputeApi on :8080      } a bridge CNI plugin (flannel, kubenet)
#   client  10.244.0.20, sends requests to the ClusterIP } wires pods on a node.
#
# Phases: two probes (a request from the node itself, through nat OUTPUT; requests from pod-a that come
# back to pod-a, hairpin), then spread (2 endpoints, 50/50), failover (pod-b's endpoint removed the way
# kube-proxy removes it) and no endpoints (filter-table REJECT). Which pod served a request is read from
# each pod's own /metrics, scraped directly from the pod IP as Prometheus does, never via the Service.
#
# Safety: every address used exists only inside namespaces this script creates; none of them has a
# default route (checked), the script refuses to start if the host already routes any of its ranges or
# if a namespace with its names exists, and everything is removed on exit, Ctrl-C or error.
#
# Usage: sudo docs/lab/service-iptables.sh [options]      (needs root: namespaces and netfilter)
#   --computeapi PATH   ComputeApi.dll, or a folder holding it (a build or publish output).
#                       Default: $COMPUTEAPI, else `dotnet publish` of the repository's ComputeApi into a temp dir.
#   --requests N        requests per phase (default $REQUESTS or 200)
#   --min-share P / --max-share P   accepted share of each pod in the spread phase, percent (30 / 70)
#   --backend B         iptables backend: auto (default), nft or legacy ($IPTABLES_BACKEND)
#   --cleanup           only remove what an earlier, killed run left behind (namespaces, their processes,
#                       temp dirs); do not use it while a run is in progress
# Output ends with one machine-readable line, e.g.
#   RESULT spread a=103 b=97 failover a=200 b=0 noendpoints refused=5/5 backend=nf_tables status=pass
# Exit status: 0 when every assertion held, 1 when one failed, 2 on usage or refusal, other on errors.
set -euo pipefail

# ---------------------------------------------------------------------------------------------------
# Settings. The addresses are Kubernetes' defaults (kubeadm's service CIDR, flannel's pod CIDR); they
# are private and, after the preflight check, known not to be used by the host.
# ---------------------------------------------------------------------------------------------------
REQUESTS=${REQUESTS:-200}
MIN_SHARE=${MIN_SHARE:-30}
MAX_SHARE=${MAX_SHARE:-70}
NO_ENDPOINT_REQUESTS=${NO_ENDPOINT_REQUESTS:-5}
HAIRPIN_REQUESTS=${HAIRPIN_REQUESTS:-10}
CURL_TIMEOUT=${CURL_TIMEOUT:-5}          # seconds per request; a kernel of size 1000 takes microseconds
READY_TIMEOUT=${READY_TIMEOUT:-90}       # seconds for a pod's ComputeApi to answer /health
IPTABLES_BACKEND=${IPTABLES_BACKEND:-auto}
COMPUTEAPI=${COMPUTEAPI:-}
PREFIX=${LAB_PREFIX:-cloudapp-lab}

NS_NODE="$PREFIX-node"
NS_POD_A="$PREFIX-pod-a"
NS_POD_B="$PREFIX-pod-b"
NS_CLIENT="$PREFIX-client"
ALL_NS=("$NS_NODE" "$NS_POD_A" "$NS_POD_B" "$NS_CLIENT")

CLUSTER_CIDR=10.244.0.0/16     # kube-proxy --cluster-cidr: sources outside it are masqueraded
NODE_IP=10.244.0.1             # on the bridge, with this node's pod range 10.244.0.0/24: the pods' gateway
POD_A_IP=10.244.0.11
POD_B_IP=10.244.0.12
CLIENT_IP=10.244.0.20
SERVICE_CIDR=10.96.0.0/12
CLUSTER_IP=10.96.0.80
SERVICE_PORT=80
TARGET_PORT=8080
SERVICE_PORT_NAME=cloudapp/computeapi:http   # namespace/name:portName, as kube-proxy spells it
PROTOCOL=tcp
MASQ_MARK=0x4000
URL="http://$CLUSTER_IP:$SERVICE_PORT/api/compute/primes?size=1000"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

ARGS=("$@")
CLEANUP_ONLY=false
while (($#)); do
  case $1 in
    --computeapi) COMPUTEAPI=${2:?--computeapi needs a path}; shift 2 ;;
    --requests) REQUESTS=${2:?}; shift 2 ;;
    --min-share) MIN_SHARE=${2:?}; shift 2 ;;
    --max-share) MAX_SHARE=${2:?}; shift 2 ;;
    --backend) IPTABLES_BACKEND=${2:?}; shift 2 ;;
    --cleanup) CLEANUP_ONLY=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
for n in REQUESTS MIN_SHARE MAX_SHARE NO_ENDPOINT_REQUESTS HAIRPIN_REQUESTS CURL_TIMEOUT READY_TIMEOUT; do
  [[ ${!n} =~ ^[0-9]+$ ]] || { echo "$n must be a whole number, got '${!n}'" >&2; exit 2; }
done
((REQUESTS >= 1 && REQUESTS <= 5000)) || { echo "--requests must be between 1 and 5000" >&2; exit 2; }

log() { printf '\n== %s\n' "$*"; }
die() { echo "error: $*" >&2; exit 3; }

if ((EUID != 0)); then
  echo "This lab needs root: it creates network namespaces, veth pairs and a bridge, and writes netfilter rules" >&2
  echo "(all inside its own namespaces). Run it as: sudo $0 ${ARGS[*]}" >&2
  exit 2
fi
for tool in ip nsenter curl sha256sum base32 awk; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed"
done

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ---------------------------------------------------------------------------------------------------
# Clean-up. Runs on every exit (normal, error, Ctrl-C, SIGTERM) and is safe to run twice. Deleting a
# namespace deletes the veths and the bridge inside it; processes are stopped first because a process
# keeps its network namespace alive after `ip netns del`.
# ---------------------------------------------------------------------------------------------------
POD_PIDS=()
CREATED_NS=() # only these are deleted: a namespace that existed before this run is not ours to remove
TMP=""
RESULT_PRINTED=false

stop_lab() {
  local pid ns deadline
  for pid in "${POD_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + 10))
  for pid in "${POD_PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  POD_PIDS=()
  for ns in "${CREATED_NS[@]}"; do
    [[ -e /run/netns/$ns ]] || continue
    # Anything still running inside one of the lab's namespaces was started by this lab.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}

on_exit() {
  local status=$?
  set +e
  # Clean-up must not be cut short: a second Ctrl-C, or the same signal sent to the whole process group
  # (as timeout(1) and terminals do), would otherwise kill the shell half way and leave namespaces behind.
  trap '' INT TERM
  trap - EXIT
  if ! $RESULT_PRINTED && ((status != 0)); then
    if [[ -n $TMP ]] && ((status != 130 && status != 143)); then
      for log_file in "$TMP"/pod-*.log; do
        [[ -s $log_file ]] && { echo "--- last lines of $(basename "$log_file")"; tail -n 20 "$log_file"; }
      done
    fi
    echo "RESULT status=aborted exit=$status"
  fi
  stop_lab
  [[ -n $TMP && -d $TMP ]] && rm -rf "$TMP"
  for ns in "${CREATED_NS[@]}"; do
    [[ ! -e /run/netns/$ns ]] || echo "warning: could not remove namespace $ns" >&2
  done
  exit "$status"
}
trap on_exit EXIT
# Ctrl-C and SIGTERM end the script through on_exit with the conventional 128+signal status.
trap 'echo "interrupted" >&2; exit 130' INT
trap 'echo "terminated" >&2; exit 143' TERM

if $CLEANUP_ONLY; then
  RESULT_PRINTED=true
  CREATED_NS=("${ALL_NS[@]}") # by name: what a killed run of this lab left behind
  stop_lab
  rm -rf "${TMPDIR:-/tmp}"/service-iptables-lab.*
  echo "removed what was left of the lab (namespaces $PREFIX-*, their processes, temp dirs)"
  exit 0
fi

# ---------------------------------------------------------------------------------------------------
# Preflight: refuse rather than touch anything that is not ours.
# ---------------------------------------------------------------------------------------------------
ip_to_int() { local IFS=. a b c d; read -r a b c d <<<"$1"; echo $(((a << 24) | (b << 16) | (c << 8) | d)); }
# True when two CIDRs share at least one address.
cidrs_overlap() {
  local n1=${1%/*} l1=${1#*/} n2=${2%/*} l2=${2#*/} len mask
  [[ $1 == */* ]] || l1=32
  [[ $2 == */* ]] || l2=32
  len=$((l1 < l2 ? l1 : l2))
  mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
  (($(($(ip_to_int "$n1") & mask)) == $(($(ip_to_int "$n2") & mask))))
}

refusals=()
for ns in "${ALL_NS[@]}"; do
  if ip netns list | awk '{ print $1 }' | grep -qxF "$ns"; then
    refusals+=("network namespace $ns already exists (another run, or left by a killed one: $0 --cleanup)")
  fi
done
# Every route of the host, in every table. The default route is left out on purpose: it matches every
# address, and what matters is whether the host has a route or an address of its own in the lab's ranges.
while read -r line; do
  # shellcheck disable=SC2086 # split the route into its words on purpose
  set -- $line
  case $1 in local | broadcast | unicast | multicast | blackhole | unreachable | prohibit | throw | anycast | nat) shift ;; esac
  dest=$1
  [[ $dest == default || $dest == 0.0.0.0/0 ]] && continue
  [[ $dest =~ ^[0-9.]+(/[0-9]+)?$ ]] || continue
  for range in "$CLUSTER_CIDR" "$SERVICE_CIDR"; do
    cidrs_overlap "$dest" "$range" && refusals+=("the host already routes $dest, which overlaps the lab's $range: $line")
  done
done < <(ip -4 -o route show table all)
while read -r _ dev _ cidr _; do
  for range in "$CLUSTER_CIDR" "$SERVICE_CIDR"; do
    cidrs_overlap "${cidr%/*}" "$range" && refusals+=("the host has address $cidr on $dev, inside the lab's $range")
  done
done < <(ip -4 -o addr show)
set --
if ((${#refusals[@]})); then
  RESULT_PRINTED=true
  echo "refusing to run:" >&2
  printf '  - %s\n' "${refusals[@]}" >&2
  exit 2
fi

# The iptables backend. Both write the same rules into the kernel's netfilter (nf_tables or the legacy
# x_tables); kube-proxy picks the one the host already uses. Inside a fresh namespace either is empty.
case $IPTABLES_BACKEND in
  auto) candidates=(nft legacy) ;;
  nft | legacy) candidates=("$IPTABLES_BACKEND") ;;
  *) echo "--backend must be auto, nft or legacy" >&2; exit 2 ;;
esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/service-iptables-lab.XXXXXX")

# ---------------------------------------------------------------------------------------------------
# The ComputeApi, built from this repository unless a build is given.
# ---------------------------------------------------------------------------------------------------
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
command -v dotnet >/dev/null || die "the .NET SDK (dotnet) is not installed"
if [[ -z $COMPUTEAPI ]]; then
  log "publishing ComputeApi from $REPO (pass --computeapi to use an existing build)"
  dotnet publish "$REPO/ComputeApi/ComputeApi.csproj" -c Release -o "$TMP/computeapi" --nologo -v quiet
  COMPUTEAPI=$TMP/computeapi/ComputeApi.dll
elif [[ -d $COMPUTEAPI ]]; then
  COMPUTEAPI=$COMPUTEAPI/ComputeApi.dll
fi
[[ -f $COMPUTEAPI ]] || die "no ComputeApi.dll at $COMPUTEAPI"
COMPUTEAPI=$(cd "$(dirname "$COMPUTEAPI")" && pwd)/$(basename "$COMPUTEAPI")
echo "ComputeApi: $COMPUTEAPI"

# ---------------------------------------------------------------------------------------------------
# Namespaces and wiring.
# ---------------------------------------------------------------------------------------------------
log "creating namespaces ${ALL_NS[*]}"
for ns in "${ALL_NS[@]}"; do
  ip netns add "$ns"
  CREATED_NS+=("$ns")
  ip -n "$ns" link set lo up
  # IPv4 only: no IPv6 link-local addresses or router solicitations to reason about.
  in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done

# The node: a bridge with the pods' gateway address, forwarding on, and bridged traffic passed through
# iptables (br_netfilter). kubeadm refuses nodes without bridge-nf-call-iptables=1 for this reason: a
# reply from pod-b to the client crosses the bridge without being routed, and only br_netfilter lets
# conntrack see it and rewrite its source back from pod-b:8080 to the ClusterIP.
ip -n "$NS_NODE" link add cni0 type bridge
ip -n "$NS_NODE" addr add "$NODE_IP/24" dev cni0
ip -n "$NS_NODE" link set cni0 up
in_ns "$NS_NODE" sysctl -qw net.ipv4.ip_forward=1
in_ns "$NS_NODE" sysctl -qw net.bridge.bridge-nf-call-iptables=1 ||
  die "net.bridge.bridge-nf-call-iptables is not available (load br_netfilter: modprobe br_netfilter)"

# The service CIDR leads nowhere. A real node has a default route, so a packet to a ClusterIP that no rule
# rewrote is routed (and meets kube-proxy's REJECT in the filter table on its way), and the node's own
# connections to a ClusterIP pass the routing lookup that precedes the OUTPUT hook. Here a veth whose other
# end stays down stands in for that route (a dummy device would do, where the kernel has one): it carries
# no address and delivers nothing anywhere.
ip -n "$NS_NODE" link add svc-sink type veth peer name svc-sink-end
ip -n "$NS_NODE" link set svc-sink up
ip -n "$NS_NODE" route add "$SERVICE_CIDR" dev svc-sink

attach() { # namespace, address, name of the node-side veth
  local ns=$1 addr=$2 host_if=$3
  ip -n "$NS_NODE" link add "$host_if" type veth peer name eth0 netns "$ns"
  ip -n "$NS_NODE" link set "$host_if" master cni0 up
  # Hairpin mode lets the bridge send a frame back out of the port it came from: a pod that reaches
  # itself through the ClusterIP needs that (the CNI bridge plugin's hairpinMode, kubelet's hairpin-veth).
  ip -n "$NS_NODE" link set "$host_if" type bridge_slave hairpin on
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  # Pods reach Services through their gateway, the node. Deliberately no default route.
  ip -n "$ns" route add "$SERVICE_CIDR" via "$NODE_IP"
}
attach "$NS_POD_A" "$POD_A_IP" veth-pod-a
attach "$NS_POD_B" "$POD_B_IP" veth-pod-b
attach "$NS_CLIENT" "$CLIENT_IP" veth-client

for ns in "${ALL_NS[@]}"; do
  if [[ -n $(ip -n "$ns" -4 route show table all default) ]]; then die "namespace $ns has a default route"; fi
done
echo "no default route in any lab namespace; the node's routes:"
ip -n "$NS_NODE" -4 route show | sed 's/^/  /'

IPT="" IPT_SAVE="" IPT_RESTORE="" BACKEND=""
for candidate in "${candidates[@]}"; do
  if command -v "iptables-$candidate" >/dev/null && in_ns "$NS_NODE" "iptables-$candidate" -t nat -S >/dev/null 2>&1; then
    IPT=iptables-$candidate IPT_SAVE=iptables-$candidate-save IPT_RESTORE=iptables-$candidate-restore
    break
  fi
done
[[ -n $IPT ]] || die "no working iptables backend among: ${candidates[*]}"
BACKEND=$([[ $IPT == iptables-nft ]] && echo nf_tables || echo legacy)
echo "iptables backend: $BACKEND ($($IPT --version))"

# ---------------------------------------------------------------------------------------------------
# The pods: the real ComputeApi, bound to the pod's address like a container listening on :8080.
# ---------------------------------------------------------------------------------------------------
start_pod() { # namespace, address, pod name
  local ns=$1 addr=$2 name=$3
  # A clean environment: only what a container would get (no OTLP endpoint, no URLs from the caller).
  # k8s.pod.name in the resource attributes makes each pod name itself in target_info on /metrics.
  # nsenter --net rather than `ip netns exec`: the latter also mounts a fresh /sys, which hides
  # /sys/fs/cgroup, and the service's resource monitoring reads its CPU and memory limits from there.
  nsenter --net="/run/netns/$ns" env -i PATH="$PATH" HOME="$TMP" \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_gcServer=0 \
    ASPNETCORE_ENVIRONMENT=Production \
    OTEL_SERVICE_NAME=computeapi POD_NAME="$name" \
    OTEL_RESOURCE_ATTRIBUTES="k8s.pod.name=$name,k8s.namespace.name=cloudapp,service.instance.id=$name" \
    dotnet "$COMPUTEAPI" --urls "http://$addr:$TARGET_PORT" >"$TMP/$name.log" 2>&1 &
  POD_PIDS+=($!)
}
wait_ready() { # address, pod name, pid
  local addr=$1 name=$2 pid=$3 deadline=$((SECONDS + READY_TIMEOUT))
  # Probed from the node, straight at the pod IP, like the kubelet's readiness probe.
  until in_ns "$NS_NODE" curl -fsS -o /dev/null --max-time 2 "http://$addr:$TARGET_PORT/health" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || die "$name exited during start-up"
    ((SECONDS < deadline)) || die "$name did not answer /health within ${READY_TIMEOUT}s"
    sleep 0.3
  done
  echo "$name ready at $addr:$TARGET_PORT"
}
log "starting ComputeApi in pod-a and pod-b"
start_pod "$NS_POD_A" "$POD_A_IP" pod-a
start_pod "$NS_POD_B" "$POD_B_IP" pod-b
wait_ready "$POD_A_IP" pod-a "${POD_PIDS[0]}"
wait_ready "$POD_B_IP" pod-b "${POD_PIDS[1]}"

# ---------------------------------------------------------------------------------------------------
# The rules, written the way kube-proxy writes them.
# ---------------------------------------------------------------------------------------------------
# kube-proxy names a service port's chain after the first 16 characters of base32(sha256(
# "namespace/name:port" + protocol)); an endpoint's chain adds "ip:port" to the hashed text. Chain names
# are limited to 28 characters, and the hash keeps them stable across restarts. The same input gives
# the same name as on a real cluster.
chain_hash() {
  local hex
  hex=$(printf '%s' "$1" | sha256sum | cut -c1-64)
  # The hex digits become \xNN escapes that printf turns into the 32 bytes of the digest.
  # shellcheck disable=SC2059,SC2001
  printf "$(sed 's/../\\x&/g' <<<"$hex")" | base32 -w0 | cut -c1-16
}
SVC_CHAIN=KUBE-SVC-$(chain_hash "$SERVICE_PORT_NAME$PROTOCOL")
sep_chain() { echo "KUBE-SEP-$(chain_hash "$SERVICE_PORT_NAME$PROTOCOL$1:$TARGET_PORT")"; }

# One sync, as kube-proxy's syncProxyRules does it: the whole state for the given ready endpoints
# (pod IPs), applied atomically with iptables-restore --noflush. A chain line (":NAME - [0:0]") flushes
# that chain; chains of endpoints that are gone are flushed and deleted (-X). Rules in chains that are
# not kube-proxy's (PREROUTING, ...) are left alone, which is what --noflush is for.
ACTIVE_SEPS=()
sync_rules() {
  local endpoints=("$@") i ep chain probability
  local n=${#endpoints[@]}
  local nat_chains nat_rules filter_rules="" stale=()
  nat_chains=$(printf ':%s - [0:0]\n' KUBE-SERVICES KUBE-NODEPORTS KUBE-POSTROUTING KUBE-MARK-MASQ)
  # Marked packets are masqueraded once, on their way out; the mark is cleared first so a packet that
  # crosses the stack again is not masqueraded twice.
  nat_rules="-A KUBE-POSTROUTING -m mark ! --mark $MASQ_MARK/$MASQ_MARK -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark $MASQ_MARK
-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark $MASQ_MARK"
  if ((n > 0)); then
    nat_chains+=$'\n'":$SVC_CHAIN - [0:0]"
    nat_rules+="
-A KUBE-SERVICES -m comment --comment \"$SERVICE_PORT_NAME cluster IP\" -m $PROTOCOL -p $PROTOCOL -d $CLUSTER_IP --dport $SERVICE_PORT -j $SVC_CHAIN
-A $SVC_CHAIN -m comment --comment \"$SERVICE_PORT_NAME cluster IP\" -m $PROTOCOL -p $PROTOCOL -d $CLUSTER_IP --dport $SERVICE_PORT ! -s $CLUSTER_CIDR -j KUBE-MARK-MASQ"
    for ((i = 0; i < n; i++)); do
      ep=${endpoints[i]}
      chain=$(sep_chain "$ep")
      nat_chains+=$'\n'":$chain - [0:0]"
      # Rule i is tried only by the packets rules 0..i-1 let through, so 1/(n-i) gives every endpoint
      # 1/n overall; the last rule takes whatever is left, unconditionally.
      if ((i < n - 1)); then
        probability=$(awk -v k=$((n - i)) 'BEGIN { printf "%0.10f", 1 / k }')
        nat_rules+=$'\n'"-A $SVC_CHAIN -m comment --comment \"$SERVICE_PORT_NAME -> $ep:$TARGET_PORT\" -m statistic --mode random --probability $probability -j $chain"
      else
        nat_rules+=$'\n'"-A $SVC_CHAIN -m comment --comment \"$SERVICE_PORT_NAME -> $ep:$TARGET_PORT\" -j $chain"
      fi
      # Hairpin: a pod that reaches itself through the Service must see the node as the source, or
      # it would answer itself directly and the client side would never match the reply.
      nat_rules+="
-A $chain -m comment --comment $SERVICE_PORT_NAME -s $ep -j KUBE-MARK-MASQ
-A $chain -m comment --comment $SERVICE_PORT_NAME -m $PROTOCOL -p $PROTOCOL -j DNAT --to-destination $ep:$TARGET_PORT"
    done
  else
    # No endpoints: nothing in nat for this service; the filter table refuses new connections at once
    # (ICMP port unreachable, "connection refused") instead of letting them time out.
    filter_rules="-A KUBE-SERVICES -m comment --comment \"$SERVICE_PORT_NAME has no endpoints\" -m $PROTOCOL -p $PROTOCOL -d $CLUSTER_IP --dport $SERVICE_PORT -j REJECT"
  fi
  # Stale chains: the service chain when it has no endpoints left, and every endpoint chain not written now.
  local current=() active
  for ep in "${endpoints[@]}"; do current+=("$(sep_chain "$ep")"); done
  for active in "${ACTIVE_SEPS[@]}"; do
    [[ " ${current[*]} " == *" $active "* ]] || stale+=("$active")
  done
  if ((n == 0)) && in_ns "$NS_NODE" "$IPT" -t nat -S "$SVC_CHAIN" >/dev/null 2>&1; then stale+=("$SVC_CHAIN"); fi
  for chain in "${stale[@]}"; do
    nat_chains+=$'\n'":$chain - [0:0]"
    nat_rules+=$'\n'"-X $chain"
  done
  # The kube-proxy chain at the end of KUBE-SERVICES: NodePorts are matched only after every ClusterIP.
  nat_rules+=$'\n''-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS'
  ACTIVE_SEPS=("${current[@]}")

  {
    printf '*filter\n:KUBE-SERVICES - [0:0]\n'
    [[ -z $filter_rules ]] || printf '%s\n' "$filter_rules"
    printf 'COMMIT\n*nat\n%s\n%s\nCOMMIT\n' "$nat_chains" "$nat_rules"
  } >"$TMP/rules.restore"
  in_ns "$NS_NODE" "$IPT_RESTORE" --noflush <"$TMP/rules.restore"

  # The jumps from the built-in chains are kept outside the restore, as kube-proxy does: it owns only
  # its KUBE-* chains and inserts one rule at the top of each built-in chain if it is missing.
  ensure_jump nat PREROUTING "kubernetes service portals" KUBE-SERVICES
  ensure_jump nat OUTPUT "kubernetes service portals" KUBE-SERVICES
  ensure_jump nat POSTROUTING "kubernetes postrouting rules" KUBE-POSTROUTING
  ensure_jump filter FORWARD "kubernetes service portals" KUBE-SERVICES -m conntrack --ctstate NEW
  ensure_jump filter OUTPUT "kubernetes service portals" KUBE-SERVICES -m conntrack --ctstate NEW
}
ensure_jump() { # table, built-in chain, comment, target, extra matches...
  local table=$1 from=$2 comment=$3 to=$4
  shift 4
  local rule=("$@" -m comment --comment "$comment" -j "$to")
  in_ns "$NS_NODE" "$IPT" -t "$table" -C "$from" "${rule[@]}" 2>/dev/null ||
    in_ns "$NS_NODE" "$IPT" -t "$table" -I "$from" 1 "${rule[@]}"
}
show_rules() {
  echo "--- iptables-save -t nat (node namespace $NS_NODE)"
  in_ns "$NS_NODE" "$IPT_SAVE" -t nat | grep -v '^#'
  if (($# > 0)); then
    echo "--- iptables-save -t filter (node namespace $NS_NODE)"
    in_ns "$NS_NODE" "$IPT_SAVE" -t filter | grep -v '^#'
  fi
}

# ---------------------------------------------------------------------------------------------------
# Requests and counting.
# ---------------------------------------------------------------------------------------------------
# Jobs a pod has served, from its own /metrics, scraped from the node straight at the pod IP.
served() {
  in_ns "$NS_NODE" curl -fsS --max-time 5 "http://$1:$TARGET_PORT/metrics" |
    awk '/^compute_jobs_total\{/ && /compute_kernel="primes"/ && /compute_outcome="success"/ { n += $NF } END { print n + 0 }'
}
pod_name_of() {
  in_ns "$NS_NODE" curl -fsS --max-time 5 "http://$1:$TARGET_PORT/metrics" |
    sed -n 's/^target_info{.*k8s_pod_name="\([^"]*\)".*/\1/p' | head -n 1
}
# One new TCP connection per request: kube-proxy's rules pick an endpoint per connection (the choice is
# kept in conntrack), so requests on one kept-alive connection would all land on the same pod.
# Runs in this shell, not in a subshell, so that an interrupt stops it together with the script.
send_requests() { # namespace, count; sets OK and FAILED
  local ns=$1 count=$2 code i
  OK=0 FAILED=0
  for ((i = 0; i < count; i++)); do
    code=$(in_ns "$ns" curl -sS -o /dev/null -w '%{http_code}' --connect-timeout 2 --max-time "$CURL_TIMEOUT" "$URL" 2>>"$TMP/curl.err") || true
    if [[ $code == 200 ]]; then OK=$((OK + 1)); else FAILED=$((FAILED + 1)); fi
  done
}
# Runs a phase and sets A and B to the requests each pod served during it.
A=0 B=0 OK=0 FAILED=0
phase() { # namespace, count
  local base_a base_b deadline
  base_a=$(served "$POD_A_IP")
  base_b=$(served "$POD_B_IP")
  send_requests "$1" "$2"
  # A job is counted when its response is written, so the last one can trail the client by a moment.
  deadline=$((SECONDS + 5))
  while :; do
    A=$(($(served "$POD_A_IP") - base_a))
    B=$(($(served "$POD_B_IP") - base_b))
    ((A + B >= OK || SECONDS >= deadline)) && break
    sleep 0.2
  done
  echo "requests: $OK answered, $FAILED failed; served by pod-a: $A, by pod-b: $B"
}

FAILURES=()
check() { # description, condition (arithmetic)
  if (($2)); then echo "  ok: $1"; else echo "  FAILED: $1"; FAILURES+=("$1"); fi
}

echo "the pods name themselves in their metrics: $POD_A_IP is $(pod_name_of "$POD_A_IP"), $POD_B_IP is $(pod_name_of "$POD_B_IP")"

# ---------------------------------------------------------------------------------------------------
# Phase 1: two ready endpoints.
# ---------------------------------------------------------------------------------------------------
log "kube-proxy sync: $SERVICE_PORT_NAME -> $POD_A_IP:$TARGET_PORT, $POD_B_IP:$TARGET_PORT"
sync_rules "$POD_A_IP" "$POD_B_IP"
show_rules

log "the ClusterIP is on no interface: the node has no route or address for $CLUSTER_IP of its own"
ip -n "$NS_NODE" -4 addr show | awk '/inet /{ print "  " $NF ": " $2 }'

log "node-originated traffic (nat OUTPUT -> KUBE-SERVICES): 1 request from the node namespace"
in_ns "$NS_NODE" curl -sS --max-time "$CURL_TIMEOUT" "$URL"
echo

log "hairpin: $HAIRPIN_REQUESTS requests from pod-a to the ClusterIP (about half come back to pod-a itself)"
phase "$NS_POD_A" "$HAIRPIN_REQUESTS"
masqueraded=$(in_ns "$NS_NODE" "$IPT_SAVE" -c -t nat |
  awk '/-A KUBE-POSTROUTING/ && /MASQUERADE/ { gsub(/[][]/, "", $1); split($1, c, ":"); print c[1] }')
echo "pod-a reached itself $A times; packets masqueraded by KUBE-POSTROUTING: ${masqueraded:-0}"
check "every hairpin request was answered" "FAILED == 0"
check "requests that came back to pod-a were masqueraded" "A == 0 || ${masqueraded:-0} > 0"

log "spread: $REQUESTS requests from the client to $URL"
phase "$NS_CLIENT" "$REQUESTS"
SPREAD_A=$A SPREAD_B=$B
total=$((SPREAD_A + SPREAD_B))
((total > 0)) || total=1
echo "split: pod-a $((100 * SPREAD_A / total))%, pod-b $((100 * SPREAD_B / total))%"
check "all $REQUESTS requests answered" "FAILED == 0 && OK == REQUESTS"
check "pods counted every answered request ($((SPREAD_A + SPREAD_B)) of $OK)" "SPREAD_A + SPREAD_B == OK"
check "pod-a served between $MIN_SHARE% and $MAX_SHARE%" "100 * SPREAD_A >= MIN_SHARE * REQUESTS && 100 * SPREAD_A <= MAX_SHARE * REQUESTS"
check "pod-b served between $MIN_SHARE% and $MAX_SHARE%" "100 * SPREAD_B >= MIN_SHARE * REQUESTS && 100 * SPREAD_B <= MAX_SHARE * REQUESTS"

# ---------------------------------------------------------------------------------------------------
# Phase 2: pod-b is no longer a ready endpoint (failed readiness probe, or deleted). The process keeps
# running, so its metrics can prove that nothing reaches it any more.
# ---------------------------------------------------------------------------------------------------
log "kube-proxy sync: pod-b's endpoint is gone ($(sep_chain "$POD_B_IP") and its jump removed, pod-a's rule unconditional)"
sync_rules "$POD_A_IP"
show_rules

log "failover: $REQUESTS requests from the client"
phase "$NS_CLIENT" "$REQUESTS"
FAILOVER_A=$A FAILOVER_B=$B
check "all $REQUESTS requests answered" "FAILED == 0 && OK == REQUESTS"
check "pod-a served all of them" "FAILOVER_A == REQUESTS"
check "pod-b served none, though it still runs" "FAILOVER_B == 0"

# ---------------------------------------------------------------------------------------------------
# Phase 3: no endpoints at all (kubectl scale --replicas=0).
# ---------------------------------------------------------------------------------------------------
log "kube-proxy sync: no endpoints (nat chains removed, REJECT in the filter table)"
sync_rules
show_rules filter

log "no endpoints: $NO_ENDPOINT_REQUESTS requests from the client"
refused=0
for ((i = 0; i < NO_ENDPOINT_REQUESTS; i++)); do
  rc=0
  in_ns "$NS_CLIENT" curl -sS -o /dev/null --connect-timeout 2 --max-time "$CURL_TIMEOUT" "$URL" 2>>"$TMP/curl.err" || rc=$?
  ((rc == 7)) && refused=$((refused + 1)) # 7: could not connect (here: ICMP port unreachable)
done
echo "refused at once: $refused of $NO_ENDPOINT_REQUESTS ($(tail -n 1 "$TMP/curl.err" 2>/dev/null))"
check "every request was refused" "refused == NO_ENDPOINT_REQUESTS"

# ---------------------------------------------------------------------------------------------------
status=pass
((${#FAILURES[@]} == 0)) || status=fail
echo
RESULT_PRINTED=true
echo "RESULT spread a=$SPREAD_A b=$SPREAD_B failover a=$FAILOVER_A b=$FAILOVER_B noendpoints refused=$refused/$NO_ENDPOINT_REQUESTS backend=$BACKEND status=$status"
[[ $status == pass ]] || exit 1
