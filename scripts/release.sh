#!/usr/bin/env bash
# Builds a release into dist/: a static binary per architecture packed as
#   tesla2mqtt_<version>_linux_<arch>.tar.gz  (binary, LICENSE, README.md,
#   CHANGELOG.md, config.example.toml, tesla2mqtt.service)
# for amd64, arm64, armv7 and armv6, SHA256SUMS over the archives and
# packages, and a .deb per Debian architecture (amd64, arm64, armhf) built
# with nfpm (go tool nfpm). CI runs this same script.
#
#   VERSION=0.2.0 scripts/release.sh
#   VERSION=0.2.0 ARCHES=amd64 scripts/release.sh     # one architecture
#
# Debian's armhf is both Raspberry Pi OS on a Pi Zero/1 (ARMv6) and Debian on
# ARMv7, so its .deb carries the armv6 build, which runs on both; a second
# armhf package for armv7 could not be told apart by apt.
#
# A release: move the CHANGELOG's Unreleased entries under the new version,
# set addon/tesla2mqtt/config.yaml's version (the add-on downloads the
# archive of exactly that version), tag v<version>, run this script and
# upload everything in dist/ to the GitHub release of the tag.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${VERSION:?set VERSION, e.g. VERSION=0.2.0 scripts/release.sh}"
VERSION="${VERSION#v}"
if ! [[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
	echo "release: VERSION=$VERSION is not a version like 1.2.3 or 1.2.3-rc.1" >&2
	exit 2
fi
ARCHES="${ARCHES:-amd64 arm64 armv7 armv6}"
DIST="${DIST:-dist}"

addon_version="$(sed -n 's/^version: "\(.*\)"$/\1/p' addon/tesla2mqtt/config.yaml)"
if [ "$addon_version" != "$VERSION" ]; then
	echo "release: note: addon/tesla2mqtt/config.yaml has version $addon_version, not $VERSION; the add-on installs the archive of its own version" >&2
fi

# Same inputs, same bytes: file times from the last commit, owners 0:0, no
# gzip timestamp, so SHA256SUMS can be checked against a rebuild.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
export TZ=UTC

rm -rf "$DIST"
mkdir -p "$DIST"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The packaged unit is the hand-install unit with the package's paths and a
# header for package users instead of the install steps.
packaged_unit() {
	cat <<'HEAD'
# tesla2mqtt, from its .deb package: the package made the user tesla2mqtt,
# /etc/tesla2mqtt/config.toml (0640 root:tesla2mqtt) and /var/lib/tesla2mqtt.
#   sudoedit /etc/tesla2mqtt/config.toml                  # fill in [tesla]
#   sudo -u tesla2mqtt tesla2mqtt login -c /etc/tesla2mqtt/config.toml --paste
#   sudo systemctl start tesla2mqtt
# Local changes belong in a drop-in: sudo systemctl edit tesla2mqtt
HEAD
	sed -n '/^\[Unit\]/,$p' examples/systemd/tesla2mqtt.service | sed 's|/usr/local/bin/tesla2mqtt|/usr/bin/tesla2mqtt|g'
}

# The packaged config keeps its state where the unit's StateDirectory= is.
packaged_config() {
	sed 's|^state_dir = .*|state_dir = "/var/lib/tesla2mqtt"|' config.example.toml
}

for arch in $ARCHES; do
	case "$arch" in
	amd64) goarch=amd64 goarm= deb=amd64 ;;
	arm64) goarch=arm64 goarm= deb=arm64 ;;
	armv7) goarch=arm goarm=7 deb= ;;
	armv6) goarch=arm goarm=6 deb=armhf ;;
	*)
		echo "release: unknown architecture $arch (amd64, arm64, armv7, armv6)" >&2
		exit 2
		;;
	esac
	name="tesla2mqtt_${VERSION}_linux_${arch}"
	dir="$work/$name"
	mkdir -p "$dir"
	CGO_ENABLED=0 GOOS=linux GOARCH="$goarch" GOARM="$goarm" \
		go build -trimpath -ldflags="-s -w -X main.buildVersion=${VERSION}" -o "$dir/tesla2mqtt" ./cmd/tesla2mqtt
	cp LICENSE README.md CHANGELOG.md config.example.toml examples/systemd/tesla2mqtt.service "$dir/"
	chmod 0644 "$dir"/*.md "$dir/LICENSE" "$dir/config.example.toml" "$dir/tesla2mqtt.service"
	tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
		-C "$work" -cf - "$name" | gzip -9n >"$DIST/$name.tar.gz"
	printf '  %-40s %9d bytes (binary %d)\n' "$name.tar.gz" "$(stat -c %s "$DIST/$name.tar.gz")" "$(stat -c %s "$dir/tesla2mqtt")"

	if [ -n "$deb" ]; then
		stage="$work/deb-$deb"
		mkdir -p "$stage"
		cp "$dir/tesla2mqtt" LICENSE README.md CHANGELOG.md "$stage/"
		packaged_unit >"$stage/tesla2mqtt.service"
		packaged_config >"$stage/config.toml"
		grep -q '^state_dir = "/var/lib/tesla2mqtt"$' "$stage/config.toml" ||
			{ echo "release: could not set state_dir in the packaged config" >&2; exit 1; }
		pkg="tesla2mqtt_${VERSION}_${deb}.deb"
		ARCH="$deb" VERSION="$VERSION" STAGE="$stage" \
			go tool nfpm package --config packaging/nfpm.yaml --packager deb --target "$DIST/$pkg" >/dev/null
		printf '  %-40s %9d bytes\n' "$pkg" "$(stat -c %s "$DIST/$pkg")"
	fi
done

(cd "$DIST" && shopt -s nullglob && sha256sum -- *.tar.gz *.deb >SHA256SUMS)
echo "release $VERSION in $DIST/:"
cat "$DIST/SHA256SUMS"
