#!/usr/bin/env bash
# KDC for docker-compose's "kerberos" profile: MIT krb5 from Debian, realm
# EXAMPLE.COM as in the in-JVM test bed, with principals for the Hadoop
# services and the users alice and bob; keytabs land in the keytabs volume.
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq krb5-kdc krb5-admin-server >/dev/null
cat > /etc/krb5.conf <<CONF
[libdefaults]
  default_realm = EXAMPLE.COM
  dns_lookup_kdc = false
  rdns = false
  udp_preference_limit = 1
[realms]
  EXAMPLE.COM = { kdc = kdc:88 }
CONF
kdb5_util create -s -r EXAMPLE.COM -P "$(head -c 24 /dev/urandom | base64)"
for p in nn/namenode dn/datanode rm/resourcemanager nm/nodemanager \
         HTTP/namenode HTTP/resourcemanager alice bob; do
  kadmin.local -q "addprinc -randkey $p" >/dev/null
  kadmin.local -q "ktadd -k /keytabs/${p//\//_}.keytab $p" >/dev/null
done
chmod 0644 /keytabs/*.keytab
cp /etc/krb5.conf /keytabs/krb5.conf
exec krb5kdc -n
