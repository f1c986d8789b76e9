#!/bin/bash
# Turns flannel's subnet.env into docker daemon options, as upstream's mk-docker-opts.sh:
#   DOCKER_NETWORK_OPTIONS=" --bip=10.1.82.1/24 --ip-masq=true --mtu=1472"
# docker masquerades its containers' traffic (--ip-masq=true) unless flanneld already does
# (FLANNEL_IPMASQ=true: then --ip-masq=false, so nothing is masqueraded twice).

usage() {
    echo "$0 [-f FLANNEL-ENV-FILE] [-d DOCKER-ENV-FILE] [-i] [-c] [-m] [-k COMBINED-KEY]

Generate Docker daemon options based on flannel env file
OPTIONS:
    -f  Path to flannel env file. Defaults to /run/flannel/subnet.env
    -d  Path to Docker env file to write to. Defaults to /run/docker_opts.env
    -i  Output each Docker option as individual var. e.g. DOCKER_OPT_MTU=1500
    -c  Output combined Docker options into DOCKER_OPTS var
    -k  Set the combined options key to this value (default DOCKER_OPTS=)
    -m  Do not output --ip-masq (useful for older Docker version)" >&2
    exit 1
}

flannel_env="/run/flannel/subnet.env"
docker_env="/run/docker_opts.env"
combined_opts_key="DOCKER_OPTS"
indiv_opts=false
combined_opts=false
ipmasq=true

while getopts "f:d:icmk:h" opt; do
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

if [ ! -f "$flannel_env" ]; then
    echo "$0: $flannel_env does not exist; is flanneld running (it writes the file once it holds a lease)?" >&2
    exit 1
fi
# shellcheck disable=SC1090
. "$flannel_env"

if [ -z "${FLANNEL_SUBNET:-}" ] || [ -z "${FLANNEL_MTU:-}" ]; then
    echo "$0: $flannel_env has no FLANNEL_SUBNET or FLANNEL_MTU; it is not flanneld's subnet file" >&2
    exit 1
fi

docker_opt_bip="--bip=$FLANNEL_SUBNET"
docker_opt_mtu="--mtu=$FLANNEL_MTU"
docker_opt_ipmasq=""
if [ "$ipmasq" = true ] && [ -n "${FLANNEL_IPMASQ:-}" ]; then
    if [ "$FLANNEL_IPMASQ" = true ]; then
        docker_opt_ipmasq="--ip-masq=false"
    elif [ "$FLANNEL_IPMASQ" = false ]; then
        docker_opt_ipmasq="--ip-masq=true"
    else
        echo "$0: FLANNEL_IPMASQ=$FLANNEL_IPMASQ in $flannel_env is neither true nor false" >&2
        exit 1
    fi
fi

# Written whole, then renamed: docker never reads half a file.
mkdir -p "$(dirname "$docker_env")"
temporary="$docker_env.tmp.$$"
{
    if [ "$indiv_opts" = true ]; then
        echo "DOCKER_OPT_BIP=\"$docker_opt_bip\""
        if [ -n "$docker_opt_ipmasq" ]; then echo "DOCKER_OPT_IPMASQ=\"$docker_opt_ipmasq\""; fi
        echo "DOCKER_OPT_MTU=\"$docker_opt_mtu\""
    fi
    if [ "$combined_opts" = true ]; then
        echo "${combined_opts_key}=\" $docker_opt_bip${docker_opt_ipmasq:+ $docker_opt_ipmasq} $docker_opt_mtu\""
    fi
} > "$temporary" && mv "$temporary" "$docker_env"
