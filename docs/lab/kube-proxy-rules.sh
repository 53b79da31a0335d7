# shellcheck shell=bash
# Sourced by service-iptables.sh: the iptables rules kube-proxy (iptables mode) writes for the lab's Service,
# from its settings (ClusterIP, ports, the endpoints given) and with its iptables commands.

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

sep_chain() { echo "KUBE-SEP-$(chain_hash "$SERVICE_PORT_NAME$PROTOCOL$1:$TARGET_PORT")"; }

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
