#!/bin/bash
# Turns flannel's subnet.env into docker daemon options. Same options and same output as
# upstream flannel's dist/mk-docker-opts.sh (v0.7.0 and v0.20.2, run as /bin/sh), e.g.
#   DOCKER_OPT_BIP="--bip=10.1.82.1/24"
#   DOCKER_OPT_IPMASQ="--ip-masq=true"
#   DOCKER_OPT_MTU="--mtu=1472"
#   DOCKER_OPTS=" --bip=10.1.82.1/24 --ip-masq=true --mtu=1472"
# - docker masquerades its containers' traffic (--ip-masq=true) unless flanneld already does
#   (FLANNEL_IPMASQ=true: then --ip-masq=false, so nothing is masqueraded twice); -m leaves
#   --ip-masq out; a FLANNEL_MTU or FLANNEL_IPMASQ missing from subnet.env leaves its option out.
# - The individual lines are every DOCKER_OPT_* variable the shell has, in name order (byte
#   order): ours, and any from the environment (systemd's EnvironmentFile) or set by
#   subnet.env. The combined line is the key's value from the environment (plus a space, if
#   set), then a space before each option's value: hence its leading space.
# - As v0.20.2: when `ip route show` already routes docker's subnet via a gateway, the file is
#   still written, then the script says so and exits 1.
# Deliberate differences from upstream:
# - A missing subnet.env, or one with neither FLANNEL_SUBNET nor FLANNEL_IPV6_SUBNET, is an
#   error (exit 1, with the reason); upstream writes empty options (DOCKER_OPTS="") and exits 0.
#   An IPv6-only network's file (FLANNEL_IPV6_SUBNET alone) gives the options without --bip,
#   as upstream's, and a note saying how to give docker the IPv6 subnet.
# - The output file is written whole, then renamed over the old one (never half written).
# - The route check matches docker's exact network (10.1.82.0/24 for FLANNEL_SUBNET=10.1.82.1/24),
#   not any line where that text occurs (upstream's grep also refuses 110.1.82.0/24 via ...);
#   it is skipped when there is no `ip` command, and the message says how to fix it.
# - An option's value is written as it is. Upstream splits values on spaces, so a value with a
#   space gives it broken lines; and `bash upstream.sh` (not as sh) also lists words of its own
#   usage text: ours gives the same output under bash and sh.
# - A relative -f without a slash is read from the current directory (sh's `.` searched PATH),
#   and -k must be a variable name.

usage() {
    printf '%s [-f FLANNEL-ENV-FILE] [-d DOCKER-ENV-FILE] [-i] [-c] [-m] [-k COMBINED-KEY]\n\n' "$0" >&2
    printf '%s\n' "Generate Docker daemon options based on flannel env file" "OPTIONS:" >&2
    printf '\t-%s\t%s\n' \
        f "Path to flannel env file. Defaults to /run/flannel/subnet.env" \
        d "Path to Docker env file to write to. Defaults to /run/docker_opts.env" \
        i "Output each Docker option as individual var. e.g. DOCKER_OPT_MTU=1500" \
        c "Output combined Docker options into DOCKER_OPTS var" \
        k "Set the combined options key to this value (default DOCKER_OPTS=)" \
        m "Do not output --ip-masq (useful for older Docker version)" >&2
    printf '\n' >&2
    exit 1
}

flannel_env="/run/flannel/subnet.env"
docker_env="/run/docker_opts.env"
combined_opts_key="DOCKER_OPTS"
indiv_opts=false
combined_opts=false
ipmasq=true

# '?' is in the list so that -? is usage too (as upstream); an unknown option or a missing
# argument makes getopts complain and answer '?' as well.
while getopts "f:d:icmk:?h" opt; do
    case $opt in
        f) flannel_env=$OPTARG ;;
        d) docker_env=$OPTARG ;;
        i) indiv_opts=true ;;
        c) combined_opts=true ;;
        m) ipmasq=false ;;
        k) combined_opts_key=$OPTARG ;;
        *) usage ;;
    esac
done

if [ "$indiv_opts" = false ] && [ "$combined_opts" = false ]; then
    indiv_opts=true
    combined_opts=true
fi

case $combined_opts_key in
    "" | [0-9]* | *[!A-Za-z0-9_]*)
        echo "$0: -k $combined_opts_key: the combined options key must be a variable name" >&2
        exit 1 ;;
esac

if [ ! -f "$flannel_env" ]; then
    echo "$0: $flannel_env does not exist; is flanneld running (it writes the file once it holds a lease)?" >&2
    exit 1
fi
case $flannel_env in
    */*) ;;
    *) flannel_env="./$flannel_env" ;;
esac
# shellcheck disable=SC1090
. "$flannel_env"

if [ -z "${FLANNEL_SUBNET:-}" ] && [ -z "${FLANNEL_IPV6_SUBNET:-}" ]; then
    echo "$0: $flannel_env has no FLANNEL_SUBNET (nor FLANNEL_IPV6_SUBNET); it is not flanneld's subnet file" >&2
    exit 1
fi
if [ -z "${FLANNEL_SUBNET:-}" ]; then
    echo "$0: $flannel_env is an IPv6-only network's (FLANNEL_IPV6_SUBNET=$FLANNEL_IPV6_SUBNET): no --bip, as upstream; give dockerd --ipv6 --fixed-cidr-v6=$FLANNEL_IPV6_SUBNET for its containers' IPv6 addresses" >&2
fi

# These three are read back by name, with any other DOCKER_OPT_* variable, below.
# shellcheck disable=SC2034
if [ -n "${FLANNEL_SUBNET:-}" ]; then
    DOCKER_OPT_BIP="--bip=$FLANNEL_SUBNET"
else
    unset DOCKER_OPT_BIP
fi
# shellcheck disable=SC2034
if [ -n "${FLANNEL_MTU:-}" ]; then
    DOCKER_OPT_MTU="--mtu=$FLANNEL_MTU"
fi
# shellcheck disable=SC2034
if [ "$ipmasq" = true ] && [ -n "${FLANNEL_IPMASQ:-}" ]; then
    case $FLANNEL_IPMASQ in
        true) DOCKER_OPT_IPMASQ="--ip-masq=false" ;;
        false) DOCKER_OPT_IPMASQ="--ip-masq=true" ;;
        *)
            echo "Invalid value of FLANNEL_IPMASQ: $FLANNEL_IPMASQ" >&2
            exit 1 ;;
    esac
fi

# The names of the shell's DOCKER_OPT_* variables, in byte order. `set` lists variables as
# NAME=value (bash also lists functions, indented); a line of a multi-line value that only
# looks like one is dropped by asking the shell whether that variable is set.
option_names=""
for name in $(set | sed -n 's/^\(DOCKER_OPT_[A-Za-z0-9_]*\)=.*$/\1/p' | LC_ALL=C sort -u); do
    if eval "[ -n \"\${$name+set}\" ]"; then
        option_names="$option_names $name"
    fi
done

eval "combined=\${$combined_opts_key-}"
if [ -n "$combined" ]; then
    combined="$combined "
fi

temporary="$docker_env.tmp.$$"
{
    for name in $option_names; do
        value=""
        eval "value=\$$name"
        if [ "$indiv_opts" = true ]; then
            printf '%s="%s"\n' "$name" "$value"
        fi
        combined="$combined $value"
    done
    if [ "$combined_opts" = true ]; then
        printf '%s="%s"\n' "$combined_opts_key" "$combined"
    fi
} > "$temporary" || { rm -f "$temporary"; exit 1; }
mv -f "$temporary" "$docker_env" || { rm -f "$temporary"; exit 1; }

# docker0 gets FLANNEL_SUBNET; a route to that network via a gateway (another host's, left
# over) would send its containers' traffic away. IPv4 only, as upstream's check.
if [ -n "${FLANNEL_SUBNET:-}" ] && command -v ip >/dev/null 2>&1; then
    clashes=$(ip route show 2>/dev/null | awk -v subnet="$FLANNEL_SUBNET" '
        function flush() {
            if (route != "" && via) print route
            route = ""; via = 0
        }
        BEGIN {
            # 10.1.82.1/24 -> 10.1.82.0/24; anything else: no network, no check.
            if (split(subnet, part, "/") != 2 || part[2] !~ /^[0-9]+$/ || part[2] > 32) exit
            if (split(part[1], octet, ".") != 4) exit
            address = 0
            for (i = 1; i <= 4; i++) {
                if (octet[i] !~ /^[0-9]+$/ || octet[i] > 255) exit
                address = address * 256 + octet[i]
            }
            size = 2 ^ (32 - part[2])
            address = int(address / size) * size
            network = sprintf("%d.%d.%d.%d", int(address / 16777216), int(address / 65536) % 256,
                int(address / 256) % 256, address % 256)
            if (part[2] != 32) network = network "/" part[2]
        }
        /^[ \t]/ {
            # a multipath route continues on indented nexthop lines
            if (route != "") { route = route "\n" $0; for (i = 1; i <= NF; i++) if ($i == "via") via = 1 }
            next
        }
        {
            flush()
            if ($1 == network || ($1 == "unicast" && $2 == network)) {
                route = $0
                for (i = 2; i <= NF; i++) if ($i == "via") via = 1
            }
        }
        END { flush() }')
    if [ -n "$clashes" ]; then
        echo "Your routing table already contains the subnet: $clashes" >&2
        newline='
'
        set -f
        # shellcheck disable=SC2086
        set -- ${clashes%%"$newline"*}
        set +f
        if [ "$1" = unicast ]; then shift; fi
        delete="ip route del $1"
        network=$1
        while [ $# -gt 1 ]; do
            if [ "$1" = via ]; then delete="$delete via $2"; break; fi
            shift
        done
        echo "$0: docker's network $network (FLANNEL_SUBNET=$FLANNEL_SUBNET) is routed via another host, so this host's containers would be unreachable; delete that route ($delete) or stop whatever adds it, then run $0 again" >&2
        exit 1
    fi
fi
