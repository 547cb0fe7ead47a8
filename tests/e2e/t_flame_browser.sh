#!/bin/sh
# The flame graph's own script, run by a real browser (headless Chromium): search with the
# matched share (nested matches counted once, only what is visible while zoomed), zoom to
# a frame, unzoom, the ignore-case toggle; then how long zoom and search take on a big
# graph (printed, not asserted). Exit 0 pass, 77 skip (reason on the last line), else fail.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=${TMP:-$(mktemp -d)}
cd "$TMP" || exit 1

skip() {
	echo "$1"
	exit 77
}
fail() {
	echo "FAIL: $1"
	exit 1
}

BROWSER=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$BROWSER" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >apt.log 2>&1 || true
	BROWSER=$(command -v chromium || true)
fi
[ -n "$BROWSER" ] || skip "no headless browser (apt-get install chromium)"

# The SVG comes from perfsample once its flamegraph command is wired, else from a tiny
# driver of the renderer built here.
PS=${PS:-$TOP/perfsample}
if [ -x "$PS" ] && "$PS" flamegraph --help >/dev/null 2>&1; then
	render() { "$PS" flamegraph --folded "$@"; }
else
	cat >drv.c <<'EOF'
#include <stdio.h>
#include <string.h>
#include "formats/ps_error.h"
#include "formats/ps_profile.h"
#include "render/ps_flame.h"
int main(int argc, char **argv)
{
	ps_flame_opts o;
	ps_flame_opts_init(&o);
	ps_profile *p = ps_profile_new(0);
	FILE *f = argc > 1 ? fopen(argv[1], "r") : NULL;
	if (!p || !f || ps_profile_read_folded(p, f, 0, NULL, NULL))
		return 1;
	int err = ps_flame_render(p, &o, stdout);
	if (err)
		fprintf(stderr, "drv: %s\n", ps_strerror(err));
	return err != 0;
}
EOF
	${CC:-cc} -std=gnu11 -O2 -I"$TOP" -o drv drv.c "$TOP"/render/ps_flame.c \
		"$TOP"/render/ps_flame_js.c "$TOP"/formats/ps_profile.c "$TOP"/formats/ps_util.c \
		"$TOP"/formats/ps_error.c -lm || fail "cannot build the renderer driver"
	render() { ./drv "$@"; }
fi

# 100 samples. x matches 30 under a and 25 under b (5 of them x inside x: not twice).
cat >small.folded <<'EOF'
main;a;x 30
main;a;y 10
main;b;x 20
main;b;x;x 5
main;c 35
EOF
render small.folded >small.svg || fail "render small"

# A big graph for the timings: about 1M samples over 100k distinct stacks.
awk 'BEGIN { for (i = 0; i < 150000; i++) {
	s = "app;main;loop" i % 13 ";work" i % 101 ";step" i % 7 ";leaf" i % 11;
	print s, 1 + (i * 7919) % 13 } }' >big.folded
render big.folded >big.svg || fail "render big"

# Appends a script to a copy of the SVG that drives the page's own functions after it has
# loaded and writes what it saw into a <text id="result">, which --dump-dom then prints.
with_test() {
	sed '$d' "$1" >"$2" # drop the closing </svg>
	cat >>"$2" <<'EOF'
<text id="result" x="0" y="0"> </text>
<script type="text/ecmascript"><![CDATA[
window.addEventListener("load", function() {
	var out = [];
	function frame(name) {
		var gs = document.querySelectorAll("#frames g");
		for (var i = 0; i < gs.length; i++)
			if (frame_info(gs[i]).name === name) return gs[i];
		return null;
	}
	function say(k, v) { out.push(k + "=" + v); }
	function matched() { return document.getElementById("matched").textContent; }
	function width(g) { return g.children[1].getAttribute("width"); }
	try {
		TEST_BODY
	} catch (e) { say("error", e); }
	document.getElementById("result").textContent = "[" + out.join("|") + "]";
});
]]></script>
</svg>
EOF
}

run_browser() {
	timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$(mktemp -d "$TMP/chrome.XXXXXX")" --virtual-time-budget=20000 --dump-dom \
		"file://$TMP/$1" 2>browser.err
}

result_of() {
	run_browser "$1" | tr '\n' ' ' | sed -n 's/.*<text id="result"[^>]*>\[\([^]]*\)\]<\/text>.*/\1/p'
}

field() { printf '%s\n' "$1" | tr '|' '\n' | sed -n "s/^$2=//p"; }

expect() { # name want got
	[ "$2" = "$3" ] || fail "$1: want '$2', got '$3'"
	echo "ok $1: $3"
}

with_test small.svg t_small.svg
# shellcheck disable=SC2016
body='
	search("^x$");
	say("all", matched());
	say("hl", document.querySelectorAll("#frames rect[fill=\"" + fg_conf.searchcolor + "\"]").length);
	zoom(frame("a"));
	say("zoom_a", matched());
	say("width_a", width(frame("a")));
	say("hidden_b", getComputedStyle(frame("b")).display);
	frame("x").children[1].dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
	say("details", document.getElementById("details").textContent);
	zoom(frame("b"));
	say("zoom_b", matched());
	say("width_b", width(frame("b")));
	say("width_bx", width(first_frame(frame("b"))));
	unzoom();
	say("unzoomed", matched());
	say("width_a2", width(frame("a")));
	search("^X$");
	say("case", matched());
	toggle_ignorecase();
	say("nocase", matched());
	zoom(frame("a"));
	window.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
	say("reset", matched().trim() === "" ? "empty" : matched());
	say("esc_width_a", width(frame("a")));
	say("hl2", document.querySelectorAll("#frames rect[fill=\"" + fg_conf.searchcolor + "\"]").length);
'
BODY="$body" awk '{ if (index($0, "TEST_BODY")) print ENVIRON["BODY"]; else print }' t_small.svg >t.svg
mv t.svg t_small.svg
r=$(result_of t_small.svg)
[ -n "$r" ] || { tail -n 5 browser.err; fail "no result from the browser (script did not run?)"; }
echo "browser: $r"
[ -z "$(field "$r" error)" ] || fail "script error: $(field "$r" error)"
expect "search ^x$ over all" "Matched: 55.0%" "$(field "$r" all)"
expect "highlighted frames" "3" "$(field "$r" hl)"
expect "zoomed to a (40): x is 30" "Matched: 75.0% of zoomed, 30.0% of all" "$(field "$r" zoom_a)"
expect "zoomed frame width" "1180.0" "$(field "$r" width_a)"
expect "other branch hidden" "none" "$(field "$r" hidden_b)"
expect "zoomed to b (25): x inside x counted once" "Matched: 100% of zoomed, 25.0% of all" \
	"$(field "$r" zoom_b)"
expect "zoomed frame width" "1180.0" "$(field "$r" width_b)"
expect "its callee fills it" "1180.0" "$(field "$r" width_bx)"
expect "details while zoomed" "Function: x (30 samples, 30.00%; 75.0% of zoomed)" \
	"$(field "$r" details)"
expect "unzoom restores the match" "Matched: 55.0%" "$(field "$r" unzoomed)"
expect "unzoom restores the geometry" "472" "$(field "$r" width_a2)"
expect "case-sensitive search" "Matched: 0.0%" "$(field "$r" case)"
expect "ignore-case toggle" "Matched: 55.0%" "$(field "$r" nocase)"
expect "Escape clears the match" "empty" "$(field "$r" reset)"
expect "Escape unzooms" "472" "$(field "$r" esc_width_a)"
expect "reset clears highlights" "0" "$(field "$r" hl2)"

with_test big.svg t_big.svg
body='
	var n = document.querySelectorAll("#frames g").length;
	var t0 = performance.now();
	var res = search("work1");
	var t1 = performance.now();
	zoom(frame("loop3"));
	var t2 = performance.now();
	unzoom();
	var t3 = performance.now();
	say("frames", n);
	say("search_ms", (t1 - t0).toFixed(1));
	say("zoom_ms", (t2 - t1).toFixed(1));
	say("unzoom_ms", (t3 - t2).toFixed(1));
	say("matched", matched());
'
BODY="$body" awk '{ if (index($0, "TEST_BODY")) print ENVIRON["BODY"]; else print }' t_big.svg >t.svg
mv t.svg t_big.svg
r=$(result_of t_big.svg)
[ -n "$r" ] || fail "no result from the browser for the big graph"
[ -z "$(field "$r" error)" ] || fail "script error: $(field "$r" error)"
echo "big graph: $(wc -c <big.svg) bytes, $(field "$r" frames) frames;" \
	"search $(field "$r" search_ms) ms, zoom $(field "$r" zoom_ms) ms," \
	"unzoom $(field "$r" unzoom_ms) ms; $(field "$r" matched)"
case "$(field "$r" matched)" in
"Matched: "*%) ;;
*) fail "no matched share on the big graph" ;;
esac
exit 0
