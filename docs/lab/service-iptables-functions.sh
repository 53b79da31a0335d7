# shellcheck shell=bash
# Sourced by service-iptables.sh: the lab's functions (clean-up, wiring, the pods, the requests). They use
# its settings (namespaces, addresses, ports) and state (POD_PIDS, CREATED_NS, TMP, the iptables commands).

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

check() { # description, condition (arithmetic)
  if (($2)); then echo "  ok: $1"; else echo "  FAILED: $1"; FAILURES+=("$1"); fi
}

# Namespaces and wiring: the node with its bridge, the pods and the client attached to it, the Service CIDR
# routed nowhere, and the iptables backend the node uses (sets IPT, IPT_SAVE, IPT_RESTORE and BACKEND).
build_network() {
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
}

# The ComputeApi the pods run: the build given with --computeapi, or one published from this repository
# (sets COMPUTEAPI to the absolute path of ComputeApi.dll).
find_computeapi() {
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
}
