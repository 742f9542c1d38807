# TwWebhookReplayCache (README): a body already handled with a 2xx within
# the window is acknowledged "200 duplicate" without running the app, also
# under another Delivery or signature spelling; a body whose app failed can
# be retried; concurrent copies reach the app exactly once.
#
# The cache is server-wide (server config only), so it gets its own small
# httpd here, started from a generated configuration on a free port and
# stopped at the end, instead of changing the shared test server.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(remove_tree make_path);
use IO::Socket::INET;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);
use TwTest;

my $top = dirname(abs_path($FindBin::Bin));
my $vars = tw_vars();
my $httpd = $vars->{httpd};
my $libexec = $vars->{src_dir};
my $dir = "$vars->{t_logs}/replay";
remove_tree($dir);
make_path($dir);

my $port = do {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, ReuseAddr => 1) or die "no free port: $!";
    my $p = $s->sockport;
    close $s;
    $p;
};
my $hostport = "127.0.0.1:$port";
my $conf = "$dir/httpd.conf";
{
    open my $fh, '>', $conf or die "write $conf: $!";
    print {$fh} <<"EOF_CONF";
ServerRoot "$dir"
ServerName localhost
Listen $hostport
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
LogLevel info twwebhook:debug
DefaultRuntimeDir "$dir"
Mutex file:$dir default
LoadModule mpm_event_module "$libexec/mod_mpm_event.so"
LoadModule authz_core_module "$libexec/mod_authz_core.so"
LoadModule alias_module "$libexec/mod_alias.so"
LoadModule cgid_module "$libexec/mod_cgid.so"
LoadModule env_module "$libexec/mod_env.so"
LoadModule socache_shmcb_module "$libexec/mod_socache_shmcb.so"
LoadModule twwebhook_module "$top/.libs/mod_twwebhook.so"
ScriptSock "$dir/cgisock"
SetEnv TW_TEST_LOG "$vars->{t_logs}/downstream.log"
ScriptAlias /replay/report.cgi "$FindBin::Bin/cgi-bin/report.cgi"
<Directory "$FindBin::Bin/cgi-bin">
    Require all granted
</Directory>
TwWebhookReplayCache "shmcb:$dir/replay-cache(131072)"
TwWebhookReplayWindow 3600
<Location /replay>
    TwWebhookSecret "$SECRET{a}"
</Location>
EOF_CONF
    close $fh;
}

my $started = 0;
sub stop_server {
    return unless $started;
    $started = 0;
    system($httpd, '-f', $conf, '-k', 'stop');
    my $until = time + 10;
    while (time < $until) {
        last unless -f "$dir/httpd.pid";
        sleep 0.1;
    }
}
END { my $rc = $?; stop_server(); $? = $rc }

my $out = qx("$httpd" -f "$conf" -k start 2>&1);
unless (is($?, 0, "a second httpd with TwWebhookReplayCache shmcb starts on $hostport")) {
    diag($out, slurp("$dir/error_log") // '');
    done_testing();
    exit 1;
}
$started = 1;
{
    my $until = time + 10;
    until (IO::Socket::INET->new(PeerAddr => $hostport, Timeout => 1)) {
        if (time > $until) {
            fail("the replay-cache server listens on $hostport");
            done_testing();
            exit 1;
        }
        sleep 0.1;
    }
}

sub post {
    my ($body, %a) = @_;
    my $q = delete $a{query};
    return tw_request(hostport => $hostport, path => '/replay/report.cgi' . ($q ? "?$q" : ''),
                      body => $body, event => 'page.updated', %a);
}

# handled once, then a duplicate, whatever the Delivery or signature spelling
my $body = '{"event":"page.updated","page":{"id":' . int(time * 1000) . '}}';
my $sig = sign($body, $SECRET{a});
my $res = post($body, signature => $sig);
check_delivered($res, 'cgi', $body, { TW_WEBHOOK_VERIFIED => '1' }, 'first delivery: handled');

for my $variant ([ 'same request again', signature => $sig ],
                 [ 'another Delivery value', signature => $sig, delivery => 'fresh-delivery-1' ],
                 [ 'uppercase signature', signature => uc $sig ],
                 [ 'sha256= prefix', signature => "sha256=$sig" ]) {
    my ($what, %a) = @$variant;
    $res = post($body, %a);
    is($res->{status}, 200, "replay ($what): 200") or diag(describe($res));
    like($res->{body} // '', qr/^duplicate: already handled/, "replay ($what): \"duplicate\"");
    is(downstream_ran($res->{id}), 0, "replay ($what): the app did not run");
}

# a wrong signature is refused and does not touch the cache
$res = post($body, signature => sign($body, $SECRET{unknown}));
is($res->{status}, 401, 'wrong signature on a handled body: 401') or diag(describe($res));

# the app failed (500): retries go through until it succeeds
my $body2 = '{"event":"page.updated","retry":' . int(time * 1000) . '}';
my $sig2 = sign($body2, $SECRET{a});
$res = post($body2, signature => $sig2, query => 'status=500');
is($res->{status}, 500, 'the app fails with 500') or diag(describe($res));
is(downstream_ran($res->{id}), 1, '... after running');
$res = post($body2, signature => $sig2, query => 'status=503');
is($res->{status}, 503, 'the retry reaches the app again (503)') or diag(describe($res));
is(downstream_ran($res->{id}), 1, '... it ran');
$res = post($body2, signature => $sig2);
check_delivered($res, 'cgi', $body2, { TW_WEBHOOK_VERIFIED => '1' }, 'the next retry succeeds');
$res = post($body2, signature => $sig2);
like($res->{body} // '', qr/^duplicate: already handled/, 'after the success: duplicate');
is(downstream_ran($res->{id}), 0, '... the app did not run');

# concurrent copies of a new body (the app takes 1.5 s): exactly one runs
my $body3 = '{"event":"page.updated","race":' . int(time * 1000) . '}';
my $sig3 = sign($body3, $SECRET{a});
my $copies = 6;
my @ids = map { new_id() } 1 .. $copies;
my %kid;
for my $i (0 .. $copies - 1) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $r = post($body3, signature => $sig3, id => $ids[$i], query => 'sleep=1.5');
        my $tag = ($r->{body} // '') =~ /^duplicate/ ? 'dup' : 'app';
        POSIX::_exit($r->{status} == 200 ? ($tag eq 'dup' ? 2 : 1)
                   : $r->{status} == 409 ? 3 : 9);
    }
    $kid{$pid} = $i;
}
my %outcome;
while ((my $pid = wait) > 0) {
    $outcome{$? >> 8}++;
}
my $ran = grep { downstream_ran($_) } @ids;
is($ran, 1, "$copies concurrent copies of one body: the app ran exactly once");
is($outcome{1} // 0, 1, 'one answered by the app');
is(($outcome{2} // 0) + ($outcome{3} // 0), $copies - 1,
   'the others: 409 (in progress) or 200 duplicate')
    or diag(explain(\%outcome));

stop_server();
my $log = slurp("$dir/error_log") // '';
like($log, qr/\[twwebhook:\w+\].*duplicate/, 'the replay server logged the duplicates');
unlike($log, qr/\Q$SECRET{a}\E/, 'its error log holds no secret');
unlike($log, qr/\Q$_\E/i, 'its error log holds no signature') for $sig, $sig2, $sig3;
unlike($log, qr/exit signal|Segmentation fault/, 'no child crashed');

done_testing();
