#!/bin/sh
# Install the Wharf agent on this host, as a systemd service. A Wharf server
# serves this script at /install.sh with its URL, its CA and the checksum of
# its binary filled in:
#
#   curl -sfL --cacert ca.crt https://SERVER/install.sh | sudo sh -s -- --token TOKEN [--label k=v]...
#   curl -sfL ... | sudo sh -s -- --uninstall [--purge]
#
# The CA inside the script must match the digest pinned in the join token, so
# `curl -k` is safe for the script itself; the binary is checked against its
# SHA-256 before it is installed. Running the script again upgrades.
# WHARF_PREFIX moves every path under a directory (for tests).
set -eu

SERVER='@@WHARF_SERVER@@'
SHA256='@@WHARF_SHA256@@'
SERVED_ARCH='@@WHARF_ARCH@@'

PREFIX="${WHARF_PREFIX:-}"
BIN="$PREFIX/usr/local/bin/wharf"
CONF_DIR="$PREFIX/etc/wharf"
CONF="$CONF_DIR/agent.yaml"
DATA_DIR="$PREFIX/var/lib/wharf"
UNIT="$PREFIX/etc/systemd/system/wharf-agent.service"

say() { echo "wharf-install: $*"; }
die() { echo "wharf-install: error: $*" >&2; exit 1; }

ca_pem() {
	cat <<'WHARF_CA'
@@WHARF_CA_PEM@@
WHARF_CA
}

usage() {
	cat <<EOF_USAGE
usage: sh install.sh --token JOIN_TOKEN [--label k=v]... [--server URL]
       sh install.sh --uninstall [--purge]

  --token T     join token (wharf node join-token); on a re-run the one in
                $CONF is kept
  --label k=v   node label, repeatable
  --server URL  the server's API URL (default $SERVER)
  --uninstall   remove the service, the binary and $CONF_DIR
  --purge       with --uninstall, also remove $DATA_DIR
EOF_USAGE
}

TOKEN=
LABELS=
UNINSTALL=
PURGE=
SERVER_SET=
while [ $# -gt 0 ]; do
	case "$1" in
	--token | --server | --label)
		[ $# -ge 2 ] || die "$1 needs a value"
		opt=$1
		val=$2
		shift 2
		;;
	--token=* | --server=* | --label=*)
		opt=${1%%=*}
		val=${1#*=}
		shift
		;;
	--uninstall) UNINSTALL=1; shift; continue ;;
	--purge) PURGE=1; shift; continue ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
	case "$opt" in
	--token) TOKEN=$val ;;
	--server) SERVER=${val%/}; SERVER_SET=1 ;;
	--label)
		case "$val" in
		=* | *[!A-Za-z0-9_./=-]*) die "--label $val: want k=v with letters, digits and _ . / - only" ;;
		*=*) LABELS="$LABELS $val" ;;
		*) die "--label $val: want k=v" ;;
		esac
		;;
	esac
done

if [ -z "$PREFIX" ] && [ "$(id -u)" != 0 ]; then
	die "run me as root: curl -sfL $SERVER/install.sh | sudo sh -s -- ..."
fi

have() { command -v "$1" >/dev/null 2>&1; }

systemd_runs() { [ -d "$PREFIX/run/systemd/system" ] && have systemctl; }

uninstall() {
	if systemd_runs; then
		systemctl disable --now wharf-agent || true
	fi
	rm -f "$UNIT" "$BIN"
	if systemd_runs; then
		systemctl daemon-reload
	fi
	rm -rf "$CONF_DIR"
	if [ -n "$PURGE" ]; then
		rm -rf "$DATA_DIR"
		say "removed the agent, its configuration and $DATA_DIR"
	else
		say "removed the agent and its configuration; kept $DATA_DIR (--purge removes it)"
	fi
	say "containers the agent started keep running until you stop them"
}

if [ -n "$UNINSTALL" ]; then
	uninstall
	exit 0
fi

sha256() {
	if have sha256sum; then
		sha256sum "$1" | cut -d' ' -f1
	elif have shasum; then
		shasum -a 256 "$1" | cut -d' ' -f1
	elif have openssl; then
		openssl dgst -sha256 -r "$1" | cut -d' ' -f1
	else
		die "no sha256sum, shasum or openssl to check the download with"
	fi
}

machine_arch() {
	case "$(uname -m)" in
	x86_64 | amd64) echo amd64 ;;
	aarch64 | arm64) echo arm64 ;;
	armv6* | armv7*) echo arm ;;
	i386 | i686) echo 386 ;;
	riscv64) echo riscv64 ;;
	ppc64le) echo ppc64le ;;
	s390x) echo s390x ;;
	*) die "unsupported machine $(uname -m)" ;;
	esac
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

# The token: from the flag, or the one a previous install wrote.
if [ -z "$TOKEN" ] && [ -f "$CONF" ]; then
	TOKEN=$(sed -n 's/^token: "\(.*\)"$/\1/p' "$CONF")
fi
[ -n "$TOKEN" ] || die "--token is required (run 'wharf node join-token' on a machine with access to the server)"

# Pin the CA: its digest must be the one in the join token.
ca_pem >"$TMP/ca.crt"
case "$TOKEN" in
WHARF-1-*-*) ;;
*) die "--token does not look like a join token (WHARF-1-<digest>-<secret>)" ;;
esac
want_ca=$(echo "$TOKEN" | cut -d- -f3 | tr 'A-F' 'a-f')
if have base64; then
	sed '/^-----/d' "$TMP/ca.crt" | base64 -d >"$TMP/ca.der" || die "the cluster CA in this script is not valid PEM"
elif have openssl; then
	openssl x509 -in "$TMP/ca.crt" -outform DER -out "$TMP/ca.der" || die "the cluster CA in this script is not valid PEM"
else
	die "no base64 or openssl to check the cluster CA with"
fi
got_ca=$(sha256 "$TMP/ca.der")
[ "$got_ca" = "$want_ca" ] || die "the cluster CA in this script (sha256 $got_ca) is not the one the join token pins ($want_ca): refusing to trust $SERVER"

fetch() {
	if have curl; then
		curl -fsSL --cacert "$TMP/ca.crt" -o "$2" "$1" || die "download of $1 failed"
	elif have wget; then
		if wget --help 2>&1 | grep -q -- --ca-certificate; then
			wget -q --ca-certificate="$TMP/ca.crt" -O "$2" "$1" || die "download of $1 failed"
		else
			# busybox wget checks no certificates; the checksum below does.
			wget -q -O "$2" "$1" || die "download of $1 failed"
		fi
	else
		die "neither curl nor wget is installed: install one of them"
	fi
}

arch=$(machine_arch)
file="wharf-linux-$arch"
if [ -z "$SERVER_SET" ]; then
	[ "$arch" = "$SERVED_ARCH" ] || die "$SERVER serves wharf for linux/$SERVED_ARCH only, and this host is linux/$arch"
	want=$SHA256
else
	fetch "$SERVER/download/$file.sha256" "$TMP/sum"
	want=$(cut -d' ' -f1 "$TMP/sum")
fi
say "downloading $SERVER/download/$file"
fetch "$SERVER/download/$file" "$TMP/wharf"
got=$(sha256 "$TMP/wharf")
[ "$got" = "$want" ] || die "checksum mismatch for $file: expected $want, got $got; refusing to install it"
chmod 0755 "$TMP/wharf"
"$TMP/wharf" --help >/dev/null 2>&1 || die "the downloaded binary does not run on this host"

upgrade=
[ -f "$BIN" ] && upgrade=1
mkdir -p "$(dirname "$BIN")" "$CONF_DIR" "$DATA_DIR" "$(dirname "$UNIT")"
chmod 0700 "$DATA_DIR"
cp "$TMP/wharf" "$BIN.new"
chmod 0755 "$BIN.new"
mv -f "$BIN.new" "$BIN"
say "installed $BIN"

quote() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
{
	echo "# Written by the Wharf install script; wharf agent reads it. Flags beat it."
	echo "server: $(quote "$SERVER")"
	echo "token: $(quote "$TOKEN")"
	echo "data_dir: $(quote "$DATA_DIR")"
	if [ -n "$LABELS" ]; then
		echo "labels:"
		for kv in $LABELS; do
			echo "  $(quote "${kv%%=*}"): $(quote "${kv#*=}")"
		done
	fi
} >"$TMP/agent.yaml"
chmod 0600 "$TMP/agent.yaml"
mv -f "$TMP/agent.yaml" "$CONF"
say "wrote $CONF"

cat >"$UNIT" <<EOF_UNIT
[Unit]
Description=Wharf agent
Documentation=https://github.com/wharfhq/wharf/blob/main/docs/install.md
Wants=network-online.target
After=network-online.target docker.service

[Service]
ExecStart=$BIN agent --config $CONF
Restart=always
RestartSec=5
# Only the agent: its containers outlive a restart or an upgrade.
KillMode=process
LimitNOFILE=1048576

[Install]
WantedBy=multi-user.target
EOF_UNIT
chmod 0644 "$UNIT"
say "wrote $UNIT"

if systemd_runs; then
	systemctl daemon-reload
	systemctl enable --now wharf-agent
	if [ -n "$upgrade" ]; then
		systemctl restart wharf-agent
	fi
	say "wharf-agent is running: systemctl status wharf-agent; journalctl -u wharf-agent"
else
	say "systemd is not running here, so the agent was not started; start it by hand:"
	say "  $BIN agent --config $CONF"
fi
