#!/bin/sh
# Install the Wharf agent on this host, as a systemd service. A Wharf server
# serves this script at /install.sh with its URL, the cluster CA and the
# SHA-256 of the agent binary it serves filled in. `wharf node join-token`
# prints the one line that fetches and runs it; the CA is inline in that
# line and is curl's only trust anchor, so nothing runs unless the server
# holds a certificate from the cluster CA:
#
#   printf '%s\n' '-----BEGIN CERTIFICATE-----' ... | curl -q -fsS --cacert /dev/stdin --capath /dev/null https://SERVER/install.sh | sudo sh -s -- --token TOKEN [--label k=v]...
#   ... | sudo sh -s -- --uninstall [--purge]
#
# Every download then trusts that CA alone (curl, or GNU wget), and the
# agent binary is installed as /usr/local/bin/wharf-agent only if its
# SHA-256 is the one filled in here (with --server, the one the server at
# URL serves, fetched with the CA). It is the agent-only build, or the whole
# wharf binary from a server that has none beside it: the unit runs
# `wharf-agent agent --config ...`, which both understand. busybox
# wget checks no certificate: it is used only as a last resort, and what it
# fetches must match the checksum in this script. The join token goes to
# /etc/wharf/join-token (0600), never into the config or a command line of
# the agent. Running the script again upgrades. The whole script is one
# function, called on its last line, so a download cut short runs nothing.
# WHARF_PREFIX moves every path under a directory (for tests).
set -eu

SERVER='@@WHARF_SERVER@@'
SHA256='@@WHARF_SHA256@@'
SERVED_ARCH='@@WHARF_ARCH@@'

PREFIX="${WHARF_PREFIX:-}"
BIN="$PREFIX/usr/local/bin/wharf-agent"
# OLD_BIN is where installs before the agent-only build put the whole wharf
# binary; it is removed when the unit found still runs it (it was ours).
OLD_BIN="$PREFIX/usr/local/bin/wharf"
CONF_DIR="$PREFIX/etc/wharf"
CONF="$CONF_DIR/agent.yaml"
TOKEN_FILE="$CONF_DIR/join-token"
DATA_DIR="$PREFIX/var/lib/wharf"
UNIT="$PREFIX/etc/systemd/system/wharf-agent.service"

say() { echo "wharf-install: $*"; }
die() {
	echo "wharf-install: error: $*" >&2
	exit 1
}

ca_pem() {
	cat <<'WHARF_CA'
@@WHARF_CA_PEM@@
WHARF_CA
}

usage() {
	cat <<EOF_USAGE
usage: sh install.sh --token JOIN_TOKEN [--label k=v]... [--server URL]
       sh install.sh --uninstall [--purge]

  --token T     join token (wharf node join-token); kept in $TOKEN_FILE
                (0600) until the agent has joined; on a re-run the one
                there is kept
  --label k=v   node label, repeatable
  --server URL  the server's API URL (default $SERVER); https only, checked
                with the cluster CA in this script
  --uninstall   remove the service, the binary and $CONF_DIR
  --purge       with --uninstall, also remove $DATA_DIR
EOF_USAGE
}

have() { command -v "$1" >/dev/null 2>&1; }

systemd_runs() { [ -d "$PREFIX/run/systemd/system" ] && have systemctl; }

# drop_old_bin removes OLD_BIN when the unit runs it: this script put it there.
drop_old_bin() {
	if [ -f "$UNIT" ] && grep -qF "ExecStart=$OLD_BIN agent " "$UNIT"; then
		rm -f "$OLD_BIN"
		say "removed $OLD_BIN, which older installs ran the agent with ($BIN runs it now)"
	fi
}

uninstall() {
	if systemd_runs; then
		systemctl disable --now wharf-agent || true
	fi
	drop_old_bin
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

# pem_digest prints the SHA-256 of a PEM certificate's DER.
pem_digest() {
	if have base64; then
		sed '/^-----/d' "$1" | base64 -d >"$TMP/digest.der" || die "$1 is not a valid PEM certificate"
	elif have openssl; then
		openssl x509 -in "$1" -outform DER -out "$TMP/digest.der" || die "$1 is not a valid PEM certificate"
	else
		die "no base64 or openssl to check the cluster CA with"
	fi
	sha256 "$TMP/digest.der"
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

# downloader names what fetches files: curl or gnu-wget (both check the
# server with the cluster CA alone), or busybox-wget (checks nothing).
downloader() {
	if have curl; then
		echo curl
	elif have wget && wget --help 2>&1 | grep -q -- --ca-certificate; then
		echo gnu-wget
	elif have wget; then
		echo busybox-wget
	else
		die "neither curl nor wget is installed: install curl"
	fi
}

# fetch URL FILE
fetch() {
	case "$DL" in
	curl)
		curl -q -fsS --cacert "$TMP/ca.crt" --capath /dev/null -o "$2" "$1" ||
			die "download of $1 failed (only a server with a certificate from the cluster CA in this script is trusted)"
		;;
	gnu-wget)
		wget -q --ca-certificate="$TMP/ca.crt" --ca-directory=/dev/null -O "$2" "$1" ||
			die "download of $1 failed (only a server with a certificate from the cluster CA in this script is trusted)"
		;;
	busybox-wget)
		# No certificate check: the checksum in this script is what counts.
		wget -q -O "$2" "$1" || die "download of $1 with busybox wget failed: install curl, which checks the server with the cluster CA"
		;;
	esac
}

quote() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

main() {
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
		--uninstall)
			UNINSTALL=1
			shift
			continue
			;;
		--purge)
			PURGE=1
			shift
			continue
			;;
		-h | --help)
			usage
			exit 0
			;;
		*) die "unknown argument $1 (see --help)" ;;
		esac
		case "$opt" in
		--token) TOKEN=$val ;;
		--server)
			SERVER=${val%/}
			SERVER_SET=1
			case "$SERVER" in
			https://?*) ;;
			*) die "--server $val: want https://host:port (the script checks the server with the cluster CA, which plain HTTP cannot)" ;;
			esac
			;;
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
		die "run me as root: pipe me into 'sudo sh -s -- ...' as the line 'wharf node join-token' prints does"
	fi

	if [ -n "$UNINSTALL" ]; then
		uninstall
		exit 0
	fi

	TMP=$(mktemp -d)
	trap 'rm -rf "$TMP"' EXIT INT TERM
	ca_pem >"$TMP/ca.crt"
	ca_digest=$(pem_digest "$TMP/ca.crt")

	# The token: from the flag, or the one a previous run kept (an install
	# from before the token file kept it in the config). A host that has
	# joined needs none: its identity is in the data dir.
	if [ -z "$TOKEN" ] && [ -f "$TOKEN_FILE" ]; then
		TOKEN=$(cat "$TOKEN_FILE")
	fi
	if [ -z "$TOKEN" ] && [ -f "$CONF" ]; then
		TOKEN=$(sed -n 's/^token: "\(.*\)"$/\1/p' "$CONF")
	fi
	joined=
	[ -f "$DATA_DIR/node.json" ] && joined=1
	if [ -n "$TOKEN" ]; then
		case "$TOKEN" in
		*[!A-Za-z0-9-]*) die "--token has characters a join token never has; copy the whole token that 'wharf node join-token' printed" ;;
		WHARF-1-*-*) ;;
		*) die "--token does not look like a join token (WHARF-1-<digest>-<secret>)" ;;
		esac
		want_ca=$(echo "$TOKEN" | cut -d- -f3 | tr 'A-F' 'a-f')
		[ "$ca_digest" = "$want_ca" ] ||
			die "the cluster CA in this script (sha256 $ca_digest) is not the one the join token pins ($want_ca): refusing to trust $SERVER"
	elif [ -z "$joined" ]; then
		die "--token is required (run 'wharf node join-token' on a machine with access to the server)"
	fi
	if [ -n "$joined" ]; then
		[ -f "$DATA_DIR/ca.crt" ] || die "$DATA_DIR/node.json exists but $DATA_DIR/ca.crt does not: run with --uninstall --purge, then install afresh"
		node_ca=$(pem_digest "$DATA_DIR/ca.crt")
		[ "$ca_digest" = "$node_ca" ] ||
			die "the cluster CA in this script (sha256 $ca_digest) is not the one this node joined ($node_ca): refusing to trust $SERVER (to move this host to another cluster, run with --uninstall --purge first)"
	fi

	DL=$(downloader)
	arch=$(machine_arch)
	file="wharf-agent-linux-$arch"
	if [ -z "$SERVER_SET" ]; then
		[ "$arch" = "$SERVED_ARCH" ] || die "$SERVER serves wharf-agent for linux/$SERVED_ARCH only, and this host is linux/$arch"
		want=$SHA256
	elif [ "$DL" != busybox-wget ]; then
		# Another server: its checksum, over a channel checked with the CA.
		fetch "$SERVER/download/$file.sha256" "$TMP/sum"
		want=$(cut -d' ' -f1 "$TMP/sum")
	elif [ "$arch" = "$SERVED_ARCH" ]; then
		# busybox wget checks no certificate, so a checksum it fetched
		# proves nothing: the one in this script is the reference.
		want=$SHA256
	else
		die "only busybox wget here, which checks no certificate, so the checksum of $file cannot be fetched from $SERVER safely: install curl"
	fi
	case "$want" in
	'' | *[!0-9a-f]*) die "no valid SHA-256 for $file from $SERVER" ;;
	esac
	[ "${#want}" -eq 64 ] || die "no valid SHA-256 for $file from $SERVER"
	say "downloading $SERVER/download/$file"
	fetch "$SERVER/download/$file" "$TMP/wharf-agent"
	got=$(sha256 "$TMP/wharf-agent")
	[ "$got" = "$want" ] || die "checksum mismatch for $file: expected $want, got $got; refusing to install it"
	chmod 0755 "$TMP/wharf-agent"
	"$TMP/wharf-agent" agent --help >/dev/null 2>&1 || die "the downloaded binary does not run on this host"

	upgrade=
	{ [ -f "$BIN" ] || [ -f "$UNIT" ]; } && upgrade=1
	mkdir -p "$(dirname "$BIN")" "$CONF_DIR" "$DATA_DIR" "$(dirname "$UNIT")"
	chmod 0700 "$CONF_DIR" "$DATA_DIR"
	cp "$TMP/wharf-agent" "$BIN.new"
	chmod 0755 "$BIN.new"
	mv -f "$BIN.new" "$BIN"
	say "installed $BIN"

	# The token file: 0600 from the start, replaced whole.
	keep_token=
	if [ -n "$TOKEN" ] && [ -z "$joined" ]; then
		(
			umask 077
			printf '%s\n' "$TOKEN" >"$TOKEN_FILE.new"
		)
		mv -f "$TOKEN_FILE.new" "$TOKEN_FILE"
		keep_token=1
		say "wrote $TOKEN_FILE"
	elif [ -f "$TOKEN_FILE" ]; then
		rm -f "$TOKEN_FILE"
		say "this host has joined already ($DATA_DIR/node.json): removed $TOKEN_FILE"
	fi
	{
		echo "# Written by the Wharf install script; the agent (wharf-agent) reads it. Flags beat it."
		echo "server: $(quote "$SERVER")"
		if [ -n "$keep_token" ]; then
			echo "token_file: $(quote "$TOKEN_FILE")"
		fi
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

	drop_old_bin
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
}

main "$@"
