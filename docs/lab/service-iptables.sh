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
#   --prometheus PATH   a Prometheus server binary ($PROMETHEUS): adds the original lab's failure as phase 4, a
#                       Prometheus "pod" whose pod targets go DOWN with "context deadline exceeded" while the node
#                       reaches them, until the CNI's FORWARD rules are put back. Without it phase 4 is skipped.
#   --cleanup           only remove what an earlier, killed run left behind (namespaces, their processes,
#                       temp dirs); do not use it while a run is in progress
# Output ends with one machine-readable line, e.g.
#   RESULT spread a=103 b=97 failover a=200 b=0 noendpoints refused=5/5 forwarding down=2 self=up node=200 up=2 backend=nf_tables status=pass
# ("forwarding skipped" without --prometheus).
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
PROMETHEUS=${PROMETHEUS:-}
SCRAPE_WAIT=${SCRAPE_WAIT:-60}           # seconds for Prometheus to report what phase 4 expects
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
# The container port of the ComputeApi image, where the pods listen (deploy/images.json).
TARGET_PORT=$("$(dirname "${BASH_SOURCE[0]}")/../../eng/image-fact.sh" images.runtimeDeps.port)
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
    --prometheus) PROMETHEUS=${2:?--prometheus needs a path}; shift 2 ;;
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

# The lab's functions (clean-up, the pods, the requests) and the rules kube-proxy writes; they run
# with this script's settings and state.
# shellcheck source=docs/lab/service-iptables-functions.sh
. "$(dirname "${BASH_SOURCE[0]}")/service-iptables-functions.sh"
# shellcheck source=docs/lab/kube-proxy-rules.sh
. "$(dirname "${BASH_SOURCE[0]}")/kube-proxy-rules.sh"

# ---------------------------------------------------------------------------------------------------
# Clean-up. Runs on every exit (normal, error, Ctrl-C, SIGTERM) and is safe to run twice. Deleting a
# namespace deletes the veths and the bridge inside it; processes are stopped first because a process
# keeps its network namespace alive after `ip netns del`.
# ---------------------------------------------------------------------------------------------------
POD_PIDS=()
CREATED_NS=() # only these are deleted: a namespace that existed before this run is not ours to remove
TMP=""
RESULT_PRINTED=false


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
find_computeapi

# ---------------------------------------------------------------------------------------------------
# Namespaces and wiring.
# ---------------------------------------------------------------------------------------------------
build_network

# ---------------------------------------------------------------------------------------------------
# The pods: the real ComputeApi, bound to the pod's address like a container listening on :8080.
# ---------------------------------------------------------------------------------------------------
log "starting ComputeApi in pod-a and pod-b"
start_pod "$NS_POD_A" "$POD_A_IP" pod-a
start_pod "$NS_POD_B" "$POD_B_IP" pod-b
wait_ready "$POD_A_IP" pod-a "${POD_PIDS[0]}"
wait_ready "$POD_B_IP" pod-b "${POD_PIDS[1]}"

# ---------------------------------------------------------------------------------------------------
# The rules, written the way kube-proxy writes them.
# ---------------------------------------------------------------------------------------------------
SVC_CHAIN=KUBE-SVC-$(chain_hash "$SERVICE_PORT_NAME$PROTOCOL")

# One sync, as kube-proxy's syncProxyRules does it: the whole state for the given ready endpoints
# (pod IPs), applied atomically with iptables-restore --noflush. A chain line (":NAME - [0:0]") flushes
# that chain; chains of endpoints that are gone are flushed and deleted (-X). Rules in chains that are
# not kube-proxy's (PREROUTING, ...) are left alone, which is what --noflush is for.
ACTIVE_SEPS=()

# ---------------------------------------------------------------------------------------------------
# Requests and counting.
# ---------------------------------------------------------------------------------------------------
# Runs a phase and sets A and B to the requests each pod served during it.
A=0 B=0 OK=0 FAILED=0

FAILURES=()

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
# Phase 4: the original lab's failure. Every pod target DOWN with "context deadline exceeded", Prometheus'
# own target UP, and yet `curl` from the node reached the pods. The node forwards pod-to-pod traffic through
# its FORWARD chain (bridged traffic too, with bridge-nf-call-iptables=1); Docker sets that chain's policy to
# DROP, and the CNI (flannel) adds ACCEPT rules for the pod CIDR. Without them a scrape from one pod to another
# is dropped, while a request from the node itself goes through OUTPUT and INPUT and never meets FORWARD.
# ---------------------------------------------------------------------------------------------------
forwarding=skipped
if [[ -n $PROMETHEUS ]]; then
  [[ -x $PROMETHEUS ]] || die "no Prometheus binary at $PROMETHEUS"
  # The client namespace plays the Prometheus pod: it scrapes both pods straight at their IPs, as
  # kubernetes-pods discovery does, and itself.
  printf '%s\n' "global:" "  scrape_interval: 2s" "  scrape_timeout: 1s" "scrape_configs:" \
    "  - job_name: prometheus" "    static_configs: [{targets: [\"localhost:9090\"]}]" \
    "  - job_name: kubernetes-pods" \
    "    static_configs: [{targets: [\"$POD_A_IP:$TARGET_PORT\", \"$POD_B_IP:$TARGET_PORT\"]}]" >"$TMP/prometheus.yml"
  targets() { # "job instance health lastError" per target, read from inside the Prometheus pod
    in_ns "$NS_CLIENT" curl -fsS --max-time 2 "http://localhost:9090/api/v1/targets?state=active" 2>/dev/null |
      python3 -c 'import json, sys
for t in json.load(sys.stdin)["data"]["activeTargets"]:
    print(t["labels"]["job"], t["labels"]["instance"], t["health"], t["lastError"] or "-")' 2>/dev/null || true
  }
  wait_targets() { # description, awk condition that each of the three targets must meet
    local deadline=$((SECONDS + SCRAPE_WAIT))
    until targets | awk "$2 { ok++ } END { exit !(ok == 3) }"; do
      ((SECONDS < deadline)) || { echo "Prometheus did not report $1 within ${SCRAPE_WAIT}s:"; targets | sed 's/^/  /'; return 1; }
      sleep 1
    done
    targets | sed 's/^/  /'
  }

  log "the node's FORWARD chain as Docker leaves it: policy DROP, the CNI's pod-CIDR rules missing"
  in_ns "$NS_NODE" "$IPT" -P FORWARD DROP
  in_ns "$NS_NODE" "$IPT" -S FORWARD | sed 's/^/  /'
  echo "  net.bridge.bridge-nf-call-iptables = $(in_ns "$NS_NODE" sysctl -n net.bridge.bridge-nf-call-iptables)"

  log "Prometheus in the client namespace ($CLIENT_IP), scraping pod-a, pod-b and itself every 2s (timeout 1s)"
  nsenter --net="/run/netns/$NS_CLIENT" "$PROMETHEUS" --config.file="$TMP/prometheus.yml" \
    --storage.tsdb.path="$TMP/prometheus-data" --web.listen-address=:9090 >"$TMP/pod-prometheus.log" 2>&1 &
  POD_PIDS+=($!)
  wait_targets "both pod targets down with context deadline exceeded and its own up" \
    '($1 == "prometheus" && $3 == "up") || ($1 == "kubernetes-pods" && $3 == "down" && /context deadline exceeded/)' || true
  down=$(targets | awk '$1 == "kubernetes-pods" && $3 == "down" && /context deadline exceeded/' | wc -l)
  self=$(targets | awk '$1 == "prometheus" { print $3 }')
  node_status=$(in_ns "$NS_NODE" curl -sS -o /dev/null -w '%{http_code}' --max-time "$CURL_TIMEOUT" "http://$POD_A_IP:$TARGET_PORT/metrics" 2>/dev/null || true)
  rc=0
  in_ns "$NS_CLIENT" curl -sS -o /dev/null --max-time 2 "http://$POD_A_IP:$TARGET_PORT/metrics" 2>/dev/null || rc=$?
  echo "from the node: $POD_A_IP:$TARGET_PORT/metrics answered ${node_status:-nothing}; from the Prometheus pod: curl exit $rc (28: timed out)"
  check "both pod targets DOWN with \"context deadline exceeded\"" "down == 2"
  check "Prometheus' own target UP" "$([[ $self == up ]] && echo 1 || echo 0) == 1"
  check "the node itself reaches pod-a" "${node_status:-0} == 200"
  check "a request from the Prometheus pod to pod-a times out" "rc == 28"

  log "the fix: the CNI's ACCEPT rules for the pod CIDR (the two flannel adds)"
  in_ns "$NS_NODE" "$IPT" -A FORWARD -s "$CLUSTER_CIDR" -j ACCEPT
  in_ns "$NS_NODE" "$IPT" -A FORWARD -d "$CLUSTER_CIDR" -j ACCEPT
  in_ns "$NS_NODE" "$IPT" -S FORWARD | sed 's/^/  /'
  wait_targets "every target up" '$3 == "up"' || true
  up=$(targets | awk '$1 == "kubernetes-pods" && $3 == "up"' | wc -l)
  check "both pod targets UP after the fix" "up == 2"
  forwarding="down=$down self=${self:-none} node=${node_status:-none} up=$up"
fi

# ---------------------------------------------------------------------------------------------------
status=pass
((${#FAILURES[@]} == 0)) || status=fail
echo
RESULT_PRINTED=true
echo "RESULT spread a=$SPREAD_A b=$SPREAD_B failover a=$FAILOVER_A b=$FAILOVER_B noendpoints refused=$refused/$NO_ENDPOINT_REQUESTS forwarding $forwarding backend=$BACKEND status=$status"
[[ $status == pass ]] || exit 1
