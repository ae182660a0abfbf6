#!/bin/sh
# Regenerates the PNG icons from the project's SVG drawings (icon.svg, tray.svg).
# Chromium renders the SVGs (this ImageMagick build has no SVG reader); ImageMagick resizes.
# The PNGs are committed; run this only after editing an SVG.  .icns (macOS) is made by electron-builder
# from icon.png at package time.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
render() { # svg size out
  printf '<html><body style="margin:0;background:transparent"><img src="file://%s" width="%s" height="%s"></body></html>' "$PWD/$1" "$2" "$2" >"$tmp/page.html"
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --default-background-color=00000000 \
    --window-size="$2,$2" --screenshot="$3" "file://$tmp/page.html" >/dev/null 2>&1
}
render icon.svg 1024 icon.png
render tray.svg 256 "$tmp/tray-256.png"
# macOS menu bar: template images (black + alpha), 16 pt at 1x and 2x
convert "$tmp/tray-256.png" -filter Lanczos -resize 16x16 trayTemplate.png
convert "$tmp/tray-256.png" -filter Lanczos -resize 32x32 trayTemplate@2x.png
# Linux/Windows tray: the colour icon
convert icon.png -filter Lanczos -resize 32x32 tray.png
convert icon.png -filter Lanczos -resize 64x64 tray@2x.png
# Linux desktop icon set (electron-builder: linux.icon = assets/icons)
mkdir -p icons
for s in 16 24 32 48 64 128 256 512; do convert icon.png -filter Lanczos -resize "${s}x${s}" "icons/${s}x${s}.png"; done
