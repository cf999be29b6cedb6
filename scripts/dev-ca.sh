#!/usr/bin/env bash
# dev-ca.sh DIR [NAME...]: a development certificate authority for chipd's
# gRPC TLS (docs/OPERATIONS.md, "TLS"), made with the openssl command-line
# tool (Debian package openssl). Writes into DIR:
#   ca.crt  ca.key        the CA (reused when DIR already has one)
#   node.crt  node.key    a node certificate: serverAuth and clientAuth, so one
#                         file serves clients and also presents the node to
#                         other nodes; names localhost, 127.0.0.1, ::1 and each NAME
#   client.crt client.key a client certificate (CN chip-client) for chip
# Keys are unencrypted EC P-256 keys with mode 0600. NAMEs are extra host
# names or IP addresses the nodes are reached by (e.g. node1.example 10.0.0.5).
# Running it again keeps the CA and issues new node and client certificates,
# so clients that trust ca.crt keep working. Not for production: anyone with
# ca.key can issue certificates the nodes accept.
set -euo pipefail

usage() {
  echo "usage: $0 DIR [NAME...]   (NAME: extra DNS name or IP address of the nodes)" >&2
  exit 2
}
[ $# -ge 1 ] || usage
case "$1" in -h | --help) usage ;; esac
dir=$1
shift

if ! command -v openssl >/dev/null 2>&1; then
  echo "dev-ca: the openssl command is missing: apt-get install openssl (scripts/install-deps.sh)" >&2
  exit 1
fi

# Subject alternative names of the node certificate: gRPC checks the name the
# client dialled (the host of chip --node, or --tls-server-name) against them.
san="DNS:localhost,IP:127.0.0.1,IP:::1"
for name in "$@"; do
  if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then
    san+=",IP:$name"
  elif [[ $name =~ ^[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
    san+=",DNS:$name"
  else
    echo "dev-ca: '$name' is neither a host name nor an IP address" >&2
    exit 2
  fi
done

days_ca=3650
days_leaf=825
mkdir -p "$dir"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run CMD...: runs an openssl command quietly, showing its output if it fails.
run() {
  if ! "$@" >"$tmp/log" 2>&1; then
    cat "$tmp/log" >&2
    echo "dev-ca: failed: $*" >&2
    exit 1
  fi
}

newkey() { # newkey FILE
  run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
  chmod 600 "$1"
}

if [ -f "$dir/ca.crt" ] && [ -f "$dir/ca.key" ]; then
  echo "dev-ca: reusing the CA in $dir"
else
  newkey "$dir/ca.key"
  run openssl req -x509 -new -key "$dir/ca.key" -out "$dir/ca.crt" -days "$days_ca" \
    -subj "/CN=Chipledger development CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
  chmod 644 "$dir/ca.crt"
fi

issue() { # issue NAME CN EXTENDED_KEY_USAGE [SAN]
  local name=$1 cn=$2 eku=$3 alt=${4:-}
  newkey "$tmp/$name.key"
  run openssl req -new -key "$tmp/$name.key" -out "$tmp/$name.csr" -subj "/CN=$cn"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=$eku"
    [ -z "$alt" ] || echo "subjectAltName=$alt"
  } >"$tmp/$name.ext"
  run openssl x509 -req -in "$tmp/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$days_leaf" -extfile "$tmp/$name.ext" \
    -out "$tmp/$name.crt"
  chmod 644 "$tmp/$name.crt"
  # Key and certificate replace the old pair together.
  mv -f "$tmp/$name.key" "$dir/$name.key"
  mv -f "$tmp/$name.crt" "$dir/$name.crt"
}

issue node chipd "serverAuth,clientAuth" "$san"
issue client chip-client "clientAuth"

run openssl verify -CAfile "$dir/ca.crt" "$dir/node.crt" "$dir/client.crt"

abs=$(cd "$dir" && pwd)
cat <<EOF
dev-ca: wrote, in $abs:
  ca.crt      the development CA (give it to clients: chip --tls-ca)
  ca.key      the CA's key (0600): keep it to issue more certificates
  node.crt    node certificate for ${san//,/, }
  node.key    its key (0600)
  client.crt  client certificate (CN chip-client)
  client.key  its key (0600)

Serve TLS:
  chipd start --data-dir DATA --tls-cert $abs/node.crt --tls-key $abs/node.key
  (add --tls-client-ca $abs/ca.crt --tls-require-client-cert to require client certificates)
Connect:
  chip --tls-ca $abs/ca.crt status
  (with client certificates: --tls-cert $abs/client.crt --tls-key $abs/client.key)
EOF
