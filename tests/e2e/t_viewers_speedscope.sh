#!/bin/sh
# perfsample's speedscope JSON export and its perf-script text, loaded by the real speedscope
# web app (npm package speedscope, installed by scripts/install-deps.sh into build/npm/) in
# headless Chromium, driven by chromedriver over WebDriver: the app fetches each file from a
# local HTTP server (index.html#profileURL=...), as a user's speedscope would. Checked in the
# page: the title the app sets once a profile is imported, no error screen or alert, one
# profile per thread ("comm pid/tid" for the JSON; "comm pid: P tid: T", speedscope's own
# naming, for the perf text), and each profile's weight as speedscope totals it: samples
# times the period for the JSON, the thread's span of timestamps for the perf text. A perf
# text with two samples swapped must be refused, so the check can tell a refusal.
. "$TOP/tests/e2e/lib.sh"
need_root

app=$TOP/build/npm/node_modules/speedscope/dist/release
[ -f "$app/index.html" ] || fail "no speedscope app in $app (scripts/install-deps.sh test installs it)"
BROWSER=$(command -v chromium || true)
DRIVER=$(command -v chromedriver || true)
if [ -z "$BROWSER" ] || [ -z "$DRIVER" ]; then
	fail "chromium and chromedriver are needed (scripts/install-deps.sh installs them)"
fi

# Three threads spinning for a second on two CPUs: their samples interleave in time.
$PS record -q -F 999 -g -o t.data -- "$TOP/examples/threads" 3 1 >/dev/null || fail "record failed"
mkdir www
cp -r "$app/." www/
$PS export --format speedscope -i t.data -o www/t.json || fail "export speedscope failed"
$PS script -i t.data >www/t.perf || fail "script failed"
# The same text with two samples of one thread swapped: speedscope must refuse it.
python3 - <<'EOF' || fail "could not make the swapped perf text"
recs = open("www/t.perf").read().split("\n\n")
thread = [r.split()[1] if r.strip() else None for r in recs]
i = next(i for i in range(len(recs)) if thread[i] and thread.count(thread[i]) > 10)
j = next(j for j in range(i + 1, len(recs)) if thread[j] == thread[i])
recs[i], recs[j] = recs[j], recs[i]
open("www/swapped.perf", "w").write("\n\n".join(recs))
EOF

# What the trace holds, per thread: "comm pid/tid count first_time last_time".
awk '/^[^\t ]/ { t = $4; sub(":", "", t); k = $1 " " $2
	if (!(k in n)) first[k] = t; n[k]++; last[k] = t }
	END { for (k in n) print k, n[k], first[k], last[k] }' www/t.perf | sort >threads.txt
[ "$(wc -l <threads.txt)" -ge 3 ] || { cat threads.txt; fail "fewer than 3 threads sampled"; }

port=$(free_port)
python3 -m http.server "$port" --bind 127.0.0.1 --directory www >http.log 2>&1 &
http_pid=$!
dport=$(free_port)
"$DRIVER" --port="$dport" >driver.log 2>&1 &
driver_pid=$!
trap 'kill $http_pid $driver_pid 2>/dev/null' EXIT

python3 - "$BROWSER" "$dport" "$port" <<'EOF' || fail "speedscope did not load perfsample's files as it should"
import base64, json, re, sys, time, urllib.error, urllib.request

browser, dport, port = sys.argv[1], sys.argv[2], sys.argv[3]
driver = "http://127.0.0.1:%s" % dport
site = "http://127.0.0.1:%s/" % port
PERIOD = 1000000000 // 999


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(driver + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as f:
            return json.load(f)["value"]
    except urllib.error.HTTPError as e:
        return {"webdriver_error": json.load(e)["value"].get("error")}


def wait_for(what, fn, secs=60):
    end = time.time() + secs
    while time.time() < end:
        try:
            v = fn()
            if v:
                return v
        except (OSError, ValueError):
            pass
        time.sleep(0.25)
    sys.exit("timed out waiting for " + what)


wait_for("chromedriver", lambda: call("GET", "/status").get("ready"))
wait_for("the HTTP server", lambda: urllib.request.urlopen(site + "index.html", timeout=5).status == 200)

# WebGL in headless Chromium without a GPU is SwiftShader's: speedscope draws on a WebGL
# canvas and imports nothing until it has one.
caps = {"capabilities": {"alwaysMatch": {
    "browserName": "chrome",
    "unhandledPromptBehavior": "ignore",
    "goog:loggingPrefs": {"browser": "ALL"},
    "goog:chromeOptions": {"binary": browser, "args": [
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800",
        "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]}}}}
session = call("POST", "/session", caps)
if "sessionId" not in session:
    sys.exit("no WebDriver session: %s" % session)
sid = "/session/" + session["sessionId"]

STATE = """
var rows = Array.prototype.map.call(document.querySelectorAll("tbody tr[title]"),
    function (r) { return [r.title, r.cells[2].textContent]; });
return {title: document.title, text: document.body.innerText, rows: rows,
        canvas: !!document.querySelector("canvas")};
"""


def load(name):
    """Opens speedscope on a file of the server; returns what the page shows once it has
    imported the file, failed (its error screen) or alerted."""
    # From one file to the next only the #hash would change, and speedscope reads it once,
    # when the page loads: leave the page first.
    call("POST", sid + "/url", {"url": "about:blank"})
    call("POST", sid + "/url", {"url": site + "index.html#profileURL=" + site + name})

    def settled():
        alert = call("GET", sid + "/alert/text")
        if isinstance(alert, str):
            call("POST", sid + "/alert/accept", {})
            return {"alert": alert}
        s = call("POST", sid + "/execute/sync", {"script": STATE, "args": []})
        if "Something went wrong" in s["text"]:
            return dict(s, error=True)
        if s["title"] != "speedscope":
            time.sleep(0.5)  # the profile list renders after the title is set
            return call("POST", sid + "/execute/sync", {"script": STATE, "args": []})
        return None

    state = wait_for("speedscope to import " + name, settled)
    shot = call("GET", sid + "/screenshot")
    if isinstance(shot, str):
        open(name + ".png", "wb").write(base64.b64decode(shot))
    logs = call("POST", sid + "/se/log", {"type": "browser"})
    state["log"] = [l.get("message", "") for l in logs] if isinstance(logs, list) else []
    return state


def seconds(text):
    """speedscope's formatted time ("667.67ms", "1.00s") in seconds."""
    m = re.fullmatch(r"([\d.]+)(ns|µs|us|ms|s|min|h)", text.strip())
    assert m, "not a time: %r" % text
    scale = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1, "min": 60, "h": 3600}
    return float(m.group(1)) * scale[m.group(2)]


def check(ok, what, state):
    if not ok:
        print("FAIL:", what)
        print("page:", json.dumps({k: v for k, v in state.items() if k != "log"})[:2000])
        print("console:", "\n".join(state.get("log", []))[:2000])
        sys.exit(1)


threads = []
for line in open("threads.txt"):
    comm, pt, n, first, last = line.split()
    pid, tid = pt.split("/")
    threads.append((comm, pid, tid, int(n), float(first), float(last)))

try:
    # The JSON export: its name is the recorded command line, one profile per thread.
    doc = json.load(open("www/t.json"))
    s = load("t.json")
    check("alert" not in s and "error" not in s, "speedscope refused t.json", s)
    check(s["title"] == doc["name"] + " - speedscope", "title is not the file's name", s)
    got = {name: seconds(w) for name, w in s["rows"]}
    want = {"%s %s/%s" % (c, p, t): n * PERIOD / 1e9 for c, p, t, n, _, _ in threads}
    check(sorted(got) == sorted(want), "profiles are not one per thread, named comm pid/tid: %s"
          % sorted(want), s)
    for name in want:
        check(abs(got[name] - want[name]) <= 0.01 * want[name] + 1e-5,
              "%s weighs %gs in speedscope, %gs in the trace" % (name, got[name], want[name]), s)
    print("speedscope JSON: %s; %d thread profiles: %s" % (s["title"], len(got),
          ", ".join("%s %.3fs" % kv for kv in sorted(got.items()))))

    # The perf-script text: speedscope's perf importer, which requires time order.
    s = load("t.perf")
    check("alert" not in s and "error" not in s, "speedscope refused t.perf", s)
    check(s["title"] == "t.perf - speedscope", "title is not the file's name", s)
    got = {name: seconds(w) for name, w in s["rows"]}
    want = {"%s pid: %s tid: %s" % (c, p, t): last - first for c, p, t, n, first, last in threads}
    check(sorted(got) == sorted(want), "perf importer's profiles are not one per thread: %s"
          % sorted(want), s)
    for c, p, t, n, first, last in threads:
        name = "%s pid: %s tid: %s" % (c, p, t)
        # a thread's samples weigh the time from each to the next: its span
        if n >= 100:
            check(abs(got[name] - want[name]) <= 0.01 * want[name] + 0.002,
                  "%s spans %gs in speedscope, %gs in the text" % (name, got[name], want[name]), s)
    print("speedscope perf import: %s; %d thread profiles" % (s["title"], len(got)))

    # The control: out of time order, speedscope's perf importer fails.
    s = load("swapped.perf")
    check("error" in s or "alert" in s, "speedscope accepted a perf text out of time order", s)
    why = [l for l in s["log"] if "Failed to load format" in l]
    print("speedscope refuses a perf text out of time order:",
          why[0].split("\n")[0] if why else s.get("alert", "error screen"))
finally:
    call("DELETE", sid)
EOF
exit 0
