#!/usr/bin/env bash
# Makes a local certificate authority, one server certificate signed by it
# and a random bearer token, for security.* in tests, compose and small
# clusters:
#   scripts/make_certs.sh OUT_DIR [NAME ...]
# writes OUT_DIR/ca.pem, server.pem, server.key and token (ca.key stays
# there too: keep it private or delete it). The certificate is valid for
# localhost, 127.0.0.1, ::1, learner, reward (the compose and Kubernetes
# service names) and every NAME given (host names or IP addresses).
set -euo pipefail
if [[ $# -lt 1 ]]; then
  echo "usage: $0 OUT_DIR [NAME ...]" >&2
  exit 2
fi
out=$1
shift
command -v openssl >/dev/null || {
  echo "error: openssl is not installed (apt-get install openssl)" >&2
  exit 2
}
mkdir -p "$out"
umask 077
cd "$out"

names="DNS:localhost,IP:127.0.0.1,IP:::1,DNS:learner,DNS:reward"
for n in "$@"; do
  if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then
    names+=",IP:$n"
  else
    names+=",DNS:$n"
  fi
done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout ca.key -out ca.pem -days 3650 -subj "/CN=Lantern local CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout server.key -out server.csr -subj "/CN=lantern" 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
  "$names" >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
  -out server.pem -days 825 -extfile server.ext 2>/dev/null
rm -f server.csr server.ext ca.srl
openssl rand -hex 32 >token
# Readable by the service user in containers; the key and token stay 0600.
chmod 644 ca.pem server.pem
echo "wrote $(pwd)/{ca.pem,server.pem,server.key,token}" >&2
