#!/usr/bin/env bash
# Install Opencom as a systemd service on Linux.
#
#   ./install.sh [--binary PATH] [--dry-run]
#
# Builds the binary from this checkout (or takes PATH), creates the system
# user "opencom" and /var/lib/opencom, writes /etc/opencom/opencom.yaml from
# config.example.yaml unless it exists, installs the binary to
# /usr/local/bin and installs + starts the service. --dry-run prints every
# step without doing it (and needs neither root nor Go).
set -euo pipefail

SERVICE_USER=opencom
DATA_DIR=/var/lib/opencom
CONFIG_DIR=/etc/opencom
CONFIG_FILE=$CONFIG_DIR/opencom.yaml
BIN_PATH=/usr/local/bin/opencom
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

binary=""
dry_run=0

usage() {
	echo "usage: $0 [--binary PATH] [--dry-run]" >&2
	exit 2
}

die() {
	echo "install.sh: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	--binary)
		[ $# -ge 2 ] || usage
		binary=$2
		shift 2
		;;
	--binary=*)
		binary=${1#--binary=}
		shift
		;;
	--dry-run)
		dry_run=1
		shift
		;;
	-h | --help) usage ;;
	*)
		echo "install.sh: unknown argument: $1" >&2
		usage
		;;
	esac
done

# step prints a command and runs it unless this is a dry run.
step() {
	printf '+'
	printf ' %q' "$@"
	printf '\n'
	if [ "$dry_run" -eq 0 ]; then
		"$@"
	fi
}

[ "$(uname -s)" = Linux ] || die "install.sh installs a systemd service and runs on Linux only (on Windows use: opencom install)"
if [ "$dry_run" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
	die "run as root (or try --dry-run)"
fi
[ "$dry_run" -eq 1 ] && echo "dry run: printing the steps without doing them"

# 1. The binary.
if [ -n "$binary" ]; then
	if [ "$dry_run" -eq 0 ] && [ ! -x "$binary" ]; then
		die "--binary $binary is not an executable file"
	fi
	echo "using binary $binary"
else
	if [ "$dry_run" -eq 0 ]; then
		command -v go >/dev/null || die "Go is needed to build opencom (or pass --binary PATH)"
	fi
	if [ "$dry_run" -eq 0 ]; then
		build_dir=$(mktemp -d)
		# The temporary build is not needed once it is installed.
		trap 'rm -rf "$build_dir"' EXIT
	else
		build_dir=/tmp/opencom-build
	fi
	binary=$build_dir/opencom
	version=$(git -C "$SRC_DIR" describe --tags --always --dirty 2>/dev/null || echo dev)
	step env CGO_ENABLED=0 go -C "$SRC_DIR" build -trimpath \
		-ldflags "-X github.com/opencom-go/opencom/server.Version=$version" -o "$binary" .
fi

# 2. The system user and the data directory.
if id -u "$SERVICE_USER" >/dev/null 2>&1; then
	echo "user $SERVICE_USER exists"
else
	step useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
		--shell /usr/sbin/nologin --comment "Opencom server" "$SERVICE_USER"
fi
step install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA_DIR"

# 3. The config file, only if there is none: an admin's edits survive reinstalls.
if [ -e "$CONFIG_FILE" ]; then
	echo "$CONFIG_FILE exists: keeping it"
else
	example=$SRC_DIR/config.example.yaml
	[ -f "$example" ] || [ "$dry_run" -eq 1 ] || die "$example not found: run install.sh from the opencom checkout or release folder"
	step install -d -m 0755 "$CONFIG_DIR"
	echo "+ write $CONFIG_FILE from $example (data_dir: $DATA_DIR, service.user: $SERVICE_USER)"
	if [ "$dry_run" -eq 0 ]; then
		sed -e "s|^data_dir: .*|data_dir: $DATA_DIR|" \
			-e "s|^  user: .*|  user: $SERVICE_USER|" "$example" >"$CONFIG_FILE.tmp"
		grep -q "^data_dir: $DATA_DIR\$" "$CONFIG_FILE.tmp" || die "could not set data_dir in $CONFIG_FILE"
		grep -q "^  user: $SERVICE_USER\$" "$CONFIG_FILE.tmp" || die "could not set service.user in $CONFIG_FILE"
		mv "$CONFIG_FILE.tmp" "$CONFIG_FILE"
	fi
	# The server reads it as $SERVICE_USER; it may hold secrets, so not world-readable.
	step chown "root:$SERVICE_USER" "$CONFIG_FILE"
	step chmod 0640 "$CONFIG_FILE"
fi

# 4. The binary in place, then the service.
step install -m 0755 "$binary" "$BIN_PATH"
if [ "$dry_run" -eq 0 ] && ! "$BIN_PATH" status --config "$CONFIG_FILE" | grep -q "not installed"; then
	# Reinstall so the unit matches this binary's template.
	step "$BIN_PATH" stop --config "$CONFIG_FILE" || true
	step "$BIN_PATH" uninstall --config "$CONFIG_FILE"
fi
step "$BIN_PATH" install --config "$CONFIG_FILE"
step "$BIN_PATH" start --config "$CONFIG_FILE"

if [ "$dry_run" -eq 0 ]; then
	"$BIN_PATH" status --config "$CONFIG_FILE"
	echo "Opencom is installed. Settings: $CONFIG_FILE; data: $DATA_DIR; logs: journalctl -u opencom"
	echo "Next: create the first owner with opencom admin create EMAIL (see README.md)"
else
	echo "dry run: nothing was changed"
fi
