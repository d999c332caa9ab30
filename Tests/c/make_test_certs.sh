#!/bin/sh
# Test certificates for the TLS tests (C, Swift, Python), ECDSA P-256.
#
#   Tests/c/make_test_certs.sh OUTDIR
#
# Writes into OUTDIR (names are stable; other tests rely on them):
#   ca.pem        test CA certificate (trust this one)
#   server.pem    chain: server certificate (DNS:localhost, IP:127.0.0.1)
#                 signed by the test CA, then the CA certificate
#   server.key    its private key
#   wrong-ca.pem  an unrelated CA: trusting only it makes server.pem untrusted
#   other.pem     chain for DNS:other.example only (host name mismatch), test CA
#   other.key     its private key
#   expired.pem   chain for DNS:localhost + IP:127.0.0.1, test CA, valid only
#                 in 2020 (expired)
#   expired.key   its private key
#
# Idempotent: a complete, current set is left alone (so concurrent test runs
# never see half-written files); otherwise everything is regenerated in a
# scratch directory and renamed into place.
set -eu

VERSION=1
out=${1:?usage: make_test_certs.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

files="ca.pem server.pem server.key wrong-ca.pem other.pem other.key expired.pem expired.key"
complete=1
for f in $files; do [ -s "$out/$f" ] || complete=0; done
if [ $complete = 1 ] && [ "$(cat "$out/.version" 2>/dev/null)" = "$VERSION" ] &&
   openssl x509 -in "$out/server.pem" -noout -checkend 86400 >/dev/null 2>&1 &&
   openssl x509 -in "$out/ca.pem" -noout -checkend 86400 >/dev/null 2>&1; then
    exit 0
fi

tmp=$(mktemp -d "$out/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() { # ca NAME SUBJECT
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -subj "$2" -days 3650 -sha256 \
        -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign -out "$1.pem" 2>/dev/null
}

leaf_ext() { # leaf_ext FILE SAN
    printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
        'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' \
        "subjectAltName=$2" > "$1"
}

leaf() { # leaf NAME CN SAN: signed by the test CA, valid now
    key "$1.key"
    leaf_ext "$1.ext" "$2"
    openssl req -new -key "$1.key" -subj "/CN=$3" -out "$1.csr" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
        -days 825 -sha256 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    cat "$1.crt" ca.pem > "$1.pem"
}

ca ca "/CN=RingFeed Test CA"
ca wrong-ca "/CN=RingFeed Wrong CA"
leaf server "DNS:localhost,IP:127.0.0.1" localhost
leaf other "DNS:other.example" other.example

# openssl x509 (3.0) cannot back-date a certificate; openssl ca can.
key expired.key
leaf_ext expired.ext "DNS:localhost,IP:127.0.0.1"
openssl req -new -key expired.key -subj "/CN=localhost" -out expired.csr 2>/dev/null
mkdir newcerts
: > index.txt
echo 01 > serial
cat > ca.cnf <<CNF
[ca]
default_ca = test_ca
[test_ca]
dir = .
database = index.txt
new_certs_dir = newcerts
serial = serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
CNF
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr \
    -startdate 20200101000000Z -enddate 20201231000000Z -extfile expired.ext \
    -notext -out expired.crt 2>/dev/null
cat expired.crt ca.pem > expired.pem

for f in $files; do mv -f "$f" "$out/$f"; done
echo "$VERSION" > "$out/.version"
