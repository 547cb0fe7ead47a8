#!/bin/sh
# The sub-second offset heat map against truth: examples/burst burns CPU for the first
# 200 ms of every second and sleeps the rest, so nearly all samples fall in one 200 ms band
# (10 rows of 20 ms); `fold --time` of a band holds exactly that band's samples; and the
# SVG's own script, run in headless Chromium, draws the flame graph of a clicked cell and of
# a dragged range with the same counts and names the `flamegraph --time` command.
. "$TOP/tests/e2e/lib.sh"
need_root
$PS record -q -F 499 -g -o burst.data -- "$TOP/examples/burst" 4 || fail "record burst"

$PS heatmap -i burst.data --csv >heat.csv || fail "heatmap --csv"
[ "$(head -n 1 heat.csv)" = "second,offset_ms,samples" ] || fail "csv header: $(head -n 1 heat.csv)"
cols=$(awk -F, 'NR > 1 { print $1 }' heat.csv | sort -un | wc -l)
lines=$(($(wc -l <heat.csv) - 1))
[ "$lines" -eq $((cols * 50)) ] || fail "csv has $lines cells for $cols seconds (50 rows each)"
[ "$cols" -ge 4 ] && [ "$cols" -le 6 ] || fail "$cols seconds in a 4 s recording"

# The best band of 10 consecutive rows (wrapping past 980 ms) holds nearly everything.
best=$(awk -F, 'NR > 1 { r[$2 / 20] += $3; t += $3 }
	END { for (s = 0; s < 50; s++) { b = 0; for (k = 0; k < 10; k++) b += r[(s + k) % 50];
		if (b > m) { m = b; at = s } } printf "%d %d %.1f\n", at * 20, t, 100 * m / t }' heat.csv)
echo "best band (start ms, samples, percent): $best"
set -- $best
band=$1 total=$2 pct=$3
[ "$total" -ge 100 ] || fail "only $total samples"
awk -v p="$pct" 'BEGIN { exit !(p >= 90) }' || fail "the best 200 ms band holds $pct% of samples"

# fold --time of second 1's band: exactly the band's cells, and burn() in (nearly) all of it.
s1=$(awk -v b="$band" 'BEGIN { printf "%.3f", 1 + b / 1000 }')
e1=$(awk -v b="$band" 'BEGIN { printf "%.3f", 1 + b / 1000 + 0.2 }')
want=$(awk -F, -v b="$band" 'NR > 1 { t = $1 * 1000 + $2; if (t >= 1000 + b && t < 1200 + b) n += $3 } END { print n + 0 }' heat.csv)
$PS fold -i burst.data --time "$s1,$e1" >band.folded || fail "fold --time $s1,$e1"
got=$(awk '{ t += $NF } END { print t + 0 }' band.folded)
echo "band $s1,$e1: heat map $want samples, fold --time $got"
[ "$got" = "$want" ] || fail "fold --time $s1,$e1 has $got samples, the heat map's cells $want"
[ "$want" -gt 0 ] || fail "no samples in the band"
# the flame graph of the band, as the heat map's cells name it, holds the same samples
$PS flamegraph -i burst.data --time "$s1,$e1" >band.svg || fail "flamegraph --time $s1,$e1"
grep -q "<title>all ($want samples, 100%)" band.svg ||
	fail "flamegraph --time $s1,$e1: $(grep -o '<title>all ([^<]*' band.svg)"
burn=$(share band.folded ';burn')
awk -v p="$burn" 'BEGIN { exit !(p >= 90) }' || fail "burn is $burn% of the band"

# The SVG: valid XML, and its script draws the flame graph of a range.
$PS heatmap -i burst.data >heat.svg || fail "heatmap svg"
if command -v xmllint >/dev/null; then xmllint --noout heat.svg || fail "heat.svg is not XML"; fi
BROWSER=$(command -v chromium || command -v chromium-browser || true)
[ -n "$BROWSER" ] || skip "no headless browser (apt-get install chromium)"
row0=$((band / 20))
c0=$((50 + row0))
c1=$((50 + row0 + 9))
sed '$d' heat.svg >t.svg
cat >>t.svg <<EOF
<text id="result" x="0" y="0"> </text>
<script type="text/ecmascript"><![CDATA[
window.addEventListener("load", function() {
	var out = [];
	function say(k, v) { out.push(k + "=" + v); }
	function burn() {
		var gs = document.querySelectorAll("#flame g"), n = 0;
		for (var i = 0; i < gs.length; i++)
			if (gs[i].getAttribute("data-name") === "burn") n += +gs[i].getAttribute("data-samples");
		return n;
	}
	try {
		function cell(i) { return document.querySelector('rect[data-i="' + i + '"]'); }
		cell($c0).dispatchEvent(new MouseEvent("mousedown", { bubbles: true }));
		cell($c1).dispatchEvent(new MouseEvent("mouseup", { bubbles: true }));
		var cmd = document.getElementById("cmd");
		say("drag_samples", cmd.getAttribute("data-samples"));
		say("drag_time", cmd.getAttribute("data-time"));
		say("drag_burn", burn());
		say("root", document.querySelector("#flame g").getAttribute("data-samples"));
		cell($c0).dispatchEvent(new MouseEvent("mousedown", { bubbles: true }));
		cell($c0).dispatchEvent(new MouseEvent("mouseup", { bubbles: true }));
		say("click_samples", cmd.getAttribute("data-samples"));
		say("click_time", cmd.getAttribute("data-time"));
	} catch (e) { say("error", e); }
	document.getElementById("result").textContent = "[" + out.join("|") + "]";
});
]]></script>
</svg>
EOF
r=$(timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--user-data-dir="$(mktemp -d "$TMP/chrome.XXXXXX")" --virtual-time-budget=10000 --dump-dom \
	"file://$TMP/t.svg" 2>browser.err | tr '\n' ' ' |
	sed -n 's/.*<text id="result"[^>]*>\[\([^]]*\)\]<\/text>.*/\1/p')
[ -n "$r" ] || { tail -n 5 browser.err; fail "no result from the browser"; }
echo "browser: $r"
field() { printf '%s\n' "$r" | tr '|' '\n' | sed -n "s/^$1=//p"; }
[ -z "$(field error)" ] || fail "script error: $(field error)"
[ "$(field drag_samples)" = "$want" ] || fail "dragged band: $(field drag_samples) samples, want $want"
[ "$(field root)" = "$want" ] || fail "the band's flame graph root: $(field root), want $want"
[ "$(field drag_time)" = "$s1,$e1" ] || fail "dragged band's range: $(field drag_time), want $s1,$e1"
b=$(field drag_burn)
[ $((b * 10)) -ge $((want * 9)) ] || fail "burn is $b of $want in the band's flame graph"
one=$(awk -F, -v c=1 -v o="$band" 'NR > 1 && $1 == c && $2 == o { print $3 }' heat.csv)
[ "$(field click_samples)" = "$one" ] || fail "clicked cell: $(field click_samples), want $one"
e2=$(awk -v s="$s1" 'BEGIN { printf "%.3f", s + 0.02 }')
[ "$(field click_time)" = "$s1,$e2" ] || fail "clicked cell's range: $(field click_time)"
echo "ok"
