#!/usr/bin/env bash
# Copies binaries, every shared library they load (ldd) and the CA bundle into
# an empty root filesystem for a FROM scratch image, plus the few files a
# process expects: an unprivileged user, /tmp and the data directory.
#   collect-runtime.sh ROOTFS BINARY...
set -euo pipefail
root=$1; shift
uid=10001
mkdir -p "$root"/{usr/local/bin,usr/lib,usr/lib64,etc/ssl/certs,tmp,dev,proc,var/lib/phonebus}
# Debian's merged /usr: the loader and ldd name /lib and /lib64 paths.
ln -sfn usr/lib "$root/lib"
ln -sfn usr/lib64 "$root/lib64"
for bin in "$@"; do
  cp -a "$bin" "$root/usr/local/bin/"
  # Lines look like "libx.so => /lib/x86_64-linux-gnu/libx.so (0x...)" or
  # "/lib64/ld-linux-x86-64.so.2 (0x...)"; linux-vdso has no file.
  ldd "$bin" | awk '/=> \// {print $3} /^\t\// {print $1}' | while read -r lib; do
    # Keep the path the loader looks up (may be a symlink) and its target.
    for f in "$lib" "$(readlink -f "$lib")"; do
      mkdir -p "$root$(dirname "$f")"
      cp -an "$f" "$root$f"
    done
  done
done
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
echo "root:x:0:0:root:/root:/sbin/nologin" > "$root/etc/passwd"
echo "phonebus:x:$uid:$uid:phonebus:/var/lib/phonebus:/sbin/nologin" >> "$root/etc/passwd"
printf 'root:x:0:\nphonebus:x:%s:\n' "$uid" > "$root/etc/group"
echo "hosts: files dns" > "$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
chown "$uid:$uid" "$root/var/lib/phonebus"
