# nginx (master + 2 workers) under wrk load on 127.0.0.1; perfsample attaches to every
# worker at once (-p W1,W2) with -g. The profile holds only the workers, both of them,
# nginx's own code (ngx_* names from .dynsym; Debian builds nginx without frame pointers,
# so its frames above a syscall are often cut short) and the kernel's network path, and
# under 0.1% of its samples are lost.
. "$TOP/tests/e2e/lib.sh"
need_root
for tool in nginx:nginx-light wrk:wrk; do
	cmd=${tool%%:*}
	command -v $cmd >/dev/null 2>&1 || [ -x /usr/sbin/$cmd ] ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${tool#*:} >/dev/null 2>&1
	command -v $cmd >/dev/null 2>&1 || [ -x /usr/sbin/$cmd ] || skip "$cmd missing (apt-get install ${tool#*:})"
done
nginx=$(command -v nginx || echo /usr/sbin/nginx)
port=$(free_port) || fail "no free port"
mkdir -p www logs
chmod 755 "$TMP" www
head -c 4096 /dev/urandom | od -x >www/index.html
cat >nginx.conf <<CONF
worker_processes 2;
user root root;
error_log $TMP/logs/error.log;
pid $TMP/nginx.pid;
events { worker_connections 256; }
http {
	access_log off;
	server {
		listen 127.0.0.1:$port;
		root $TMP/www;
	}
}
CONF
$nginx -p "$TMP" -c "$TMP/nginx.conf" -g 'daemon off;' >nginx.out 2>&1 &
master=$!
trap 'kill $master 2>/dev/null' EXIT
workers=""
for i in $(seq 1 100); do
	workers=$(pgrep -d, -P $master)
	[ "$(echo "$workers" | tr , '\n' | grep -c .)" = 2 ] && break
	kill -0 $master 2>/dev/null || { cat nginx.out logs/error.log; fail "nginx did not start"; }
	sleep 0.1
done
[ "$(echo "$workers" | tr , '\n' | grep -c .)" = 2 ] || fail "nginx workers: '$workers'"
timeout 30 wrk -t 2 -c 8 -d 6s "http://127.0.0.1:$port/index.html" >wrk.out 2>&1 &
load=$!
sleep 0.5
timeout 30 $PS record -q -F 499 -g -p "$workers" -d 4 -o nginx.data 2>rec.err || { cat rec.err; fail "record -p $workers failed"; }
wait $load
grep -E "requests in|Requests/sec" wrk.out
reqs=$(awk '/requests in/ { print $1 }' wrk.out)
[ "${reqs:-0}" -gt 1000 ] || { cat wrk.out; fail "wrk made only ${reqs:-0} requests"; }
samples=$(info_field nginx.data samples)
lost=$(info_field nginx.data lost)
echo "workers $workers: $samples samples, $lost lost"
[ "$samples" -gt 300 ] || fail "only $samples samples of loaded nginx workers"
awk -v l="$lost" -v s="$samples" 'BEGIN { exit !(l * 1000 < s) }' || fail "lost $lost of $samples (>= 0.1%)"
$PS fold --pid -i nginx.data >nginx.folded
seen=$(sed 's/;.*//' nginx.folded | sort -u | tr '\n' ' ')
echo "processes: $seen"
for w in $(echo "$workers" | tr , ' '); do
	grep -q "^nginx-$w;" nginx.folded || fail "no samples of worker $w"
done
others=$(grep -cvE "^nginx-($(echo "$workers" | tr , '|'));" nginx.folded)
[ "$others" = 0 ] || fail "$others stacks not of the workers"
ngx=$(share nginx.folded ';(ngx_[a-z_0-9]+|\[nginx\])(;|$)')
net=$(share nginx.folded ';(tcp_sendmsg|sock_sendmsg|do_sendfile|tcp_recvmsg|sock_recvmsg|__sys_accept4|tcp_v4_rcv)(;|$)')
echo "nginx code: $ngx%, kernel network: $net%"
awk -v s="$ngx" 'BEGIN { exit !(s > 5) }' || fail "nginx frames in only $ngx%"
awk -v s="$net" 'BEGIN { exit !(s > 10) }' || fail "kernel network frames in only $net%"
grep -q ';ngx_http_' nginx.folded || fail "no ngx_http_* frame"
exit 0
