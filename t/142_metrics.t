# SPDX-License-Identifier: Apache-2.0
# Prometheus metrics (docs/reference.md "Metrics"): "SetHandler twwebhook-metrics"
# serves the text exposition format 0.0.4, per server and per protected
# scope (the section whose TwWebhookSecret applies), counted in shared
# memory across all children. promtool (Debian's prometheus package) must
# accept every scrape; the numbers move by exactly what was sent, whichever
# child answers; a graceful restart keeps counting; mod_status still shows
# its counters and the version; Require protects the page.
#
# Its own httpd (t/lib/TwFleet.pm) under prefork, as t/141_status.t: one
# connection is one child.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempfile);
use Test::More;
use Time::HiRes qw(sleep time);
use TwTest;
use TwApxs ();
use TwFleet;

my $top = TwFleet::top_dir();
my ($version) = (slurp("$top/configure.ac") // '') =~ /^AC_INIT\(\[[^\]]*\],\s*\[([^\]]+)\]/m;
ok(defined $version, "configure.ac's AC_INIT names the version ($version)") or $version = '?';

my $promtool = TwApxs::find_program('promtool');
ok($promtool, 'promtool is installed (Debian: apt-get install prometheus)')
    or diag('scripts/bootstrap --test installs it');

my $srv = TwFleet->new(
    name => 'metrics', mpm => 'prefork', modules => [qw(status socache_shmcb authz_host)],
    routes => [qw(ma mb mv)],
    mpm_conf => <<'EOF',
StartServers 5
MinSpareServers 5
MaxSpareServers 10
ServerLimit 12
MaxRequestWorkers 12
EOF
    conf => <<"EOF");
LogFormat "%{X-Tw-Test-Id}i %P %>s" pids
CustomLog "access_log" pids
TwWebhookReplayCache "shmcb:metrics-cache(65536)"
<Location /ma>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookMaxBodySize 4096
</Location>
<Location /mb>
    TwWebhookSecret "$SECRET{old}"
    TwWebhookEvents page.*
</Location>
<Location /metrics>
    SetHandler twwebhook-metrics
    Require ip 127.0.0.1
</Location>
<Location /metrics-elsewhere>
    SetHandler twwebhook-metrics
    Require ip 192.0.2.1
</Location>
<Location /server-status>
    SetHandler server-status
</Location>
<VirtualHost *:*>
    ServerName hooks-a.test
</VirtualHost>
<VirtualHost *:*>
    ServerName hooks-b.test
    <Location /mv>
        TwWebhookSecret "$SECRET{a}"
    </Location>
</VirtualHost>
EOF
TwFleet::start_or_exit($srv, 'an httpd (prefork) with twwebhook-metrics starts on ' . $srv->hostport);
my $hostport = $srv->hostport;

like($srv->log_since(0) // '', qr/TWW0901: mod_twwebhook \Q$version\E ready: \d+ protected scope/,
     "the start-up line at info names version $version");

# promtool check metrics: the format, and its lint rules (names, units,
# HELP). Returns (exit status, output).
sub promtool_check {
    my ($text) = @_;
    return (-1, 'no promtool') unless $promtool;
    my ($fh, $file) = tempfile(DIR => $srv->dir, SUFFIX => '.prom');
    print {$fh} $text;
    close $fh;
    my $out = qx("$promtool" check metrics <"$file" 2>&1);
    my $rc = $? >> 8;
    unlink $file;
    return ($rc, $out);
}

# name{labels} -> value of every sample; dies on a line that is neither a
# comment nor a sample (promtool is the real judge; this finds the values).
sub samples {
    my ($text) = @_;
    my %s;
    for my $line (split /\n/, $text) {
        next if $line =~ /^# (?:HELP|TYPE) /;
        my ($key, $value) = $line =~ /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/
            or return undef;
        $s{$key} = $value;
    }
    return \%s;
}

my $sid = 0;
# Scrapes on $n connections at once (n children); all must agree.
sub scrape {
    my ($what, $n) = @_;
    $n //= 4;
    my $id = 'metrics' . ++$sid . "-$$";
    my @texts = TwFleet::http_get_many($hostport, '/metrics', $n, $id);
    my @pids = map { my $l = $srv->access_line("$id-$_"); $l && (split / /, $l)[1] } 0 .. $n - 1;
    my %pids = map { $_ => 1 } grep { defined } @pids;
    my $s;
    subtest "scrape $what, answered by " . scalar(keys %pids) . ' child(ren)' => sub {
        is(scalar(grep { defined } @texts), $n, "$n scrapes answered") or return;
        my ($rc, $out) = promtool_check($texts[0]);
        is($rc, 0, 'promtool check metrics accepts it') or diag($out . $texts[0]);
        is($out, '', 'promtool has nothing to say') or diag($out);
        $s = samples($texts[0]);
        ok($s, 'every line is a comment or a sample') or diag($texts[0]);
        is($texts[$_], $texts[0], "child $pids[$_] shows the same as child $pids[0]")
            for grep { defined $pids[$_] && defined $pids[0] } 1 .. $n - 1;
    };
    return $s // {};
}

my $before = scrape('before any delivery');
is($before->{qq(twwebhook_build_info{version="$version"})}, 1,
   "twwebhook_build_info{version=\"$version\"} 1");
# The first <VirtualHost *:*> is the default for every request without
# another's name: it answers the requests below, under its own name.
my $main = 'hooks-a.test';
ok(exists $before->{q(twwebhook_requests_total{server="localhost",location="/ma",outcome="verified"})},
   'the main server (ServerName localhost) has its series for <Location /ma>');
for my $loc ('/ma', '/mb') {
    is($before->{qq(twwebhook_requests_total{server="$main",location="$loc",outcome="verified"})}, 0,
       "a series for $loc is there from the start, at 0");
}
ok(exists $before->{q(twwebhook_requests_total{server="hooks-b.test",location="/mv",outcome="verified"})},
   'the virtual host hooks-b.test has its own series for its <Location /mv>');
ok(exists $before->{q(twwebhook_requests_total{server="hooks-a.test",location="/ma",outcome="verified"})},
   'hooks-a.test counts the main server\'s <Location /ma> under its own name');
ok(!exists $before->{q(twwebhook_requests_total{server="hooks-a.test",location="/mv",outcome="verified"})},
   'hooks-a.test has no series for the other virtual host\'s <Location /mv>');

my $stamp = int(time * 1000) . "-$$";
my $n = 0;
sub body { return qq({"event":"page.updated","m":"$stamp-) . ++$n . '"}' }
my (%expect, %bytes, %verified_bodies);
sub key { my ($server, $loc, $outcome) = @_;
          return qq(twwebhook_requests_total{server="$server",location="$loc",outcome="$outcome"}) }
sub send_ok {
    my ($name, $want, %a) = @_;
    my $res = tw_request(hostport => $hostport, event => 'page.updated', %a);
    is($res->{status}, $want, "$name: $want") or diag(describe($res));
    return $res;
}

# /ma: 3 verified (one of them twice: a duplicate), 2 forged, 1 unsigned,
# 1 GET, 1 over TwWebhookMaxBodySize
my @ma = map { body() } 1 .. 3;
for my $b (@ma) {
    send_ok('verified to /ma', 200, path => '/ma/report.cgi', body => $b, signature => sign($b, $SECRET{a}));
    $bytes{'/ma'} += length $b;
}
send_ok('the same body again', 200, path => '/ma/report.cgi', body => $ma[0], signature => sign($ma[0], $SECRET{a}));
$bytes{'/ma'} += length $ma[0];
for (1 .. 2) {
    my $b = body();
    send_ok('forged to /ma', 401, path => '/ma/report.cgi', body => $b, signature => sign($b, $SECRET{unknown}));
}
send_ok('unsigned to /ma', 401, path => '/ma/report.cgi', body => body());
send_ok('GET to /ma', 405, path => '/ma/report.cgi', method => 'GET');
{
    my $big = '{"x":"' . ('y' x 5000) . '"}';
    send_ok('too large for /ma', 413, path => '/ma/report.cgi', body => $big, signature => sign($big, $SECRET{a}));
}
$expect{key($main, '/ma', 'verified')} = 3;
$expect{key($main, '/ma', 'duplicate')} = 1;
$expect{key($main, '/ma', 'rejected-401')} = 3;
$expect{key($main, '/ma', 'rejected-405')} = 1;
$expect{key($main, '/ma', 'rejected-413')} = 1;
# /mb: 1 verified, 1 ignored event
{
    my $b = body();
    send_ok('verified to /mb', 200, path => '/mb/report.php', body => $b, signature => sign($b, $SECRET{old}));
    $bytes{'/mb'} += length $b;
    $b = body();
    send_ok('ignored event at /mb', 200, path => '/mb/report.cgi', body => $b,
            signature => sign($b, $SECRET{old}), event => 'task.created');
    $bytes{'/mb'} += length $b;
}
$expect{key($main, '/mb', 'verified')} = 1;
$expect{key($main, '/mb', 'ignored')} = 1;
# the virtual hosts
{
    my $b = body();
    send_ok('verified to hooks-b.test/mv', 200, path => '/mv/report.cgi', host => 'hooks-b.test',
            body => $b, signature => sign($b, $SECRET{a}));
    $b = body();
    send_ok('forged to hooks-b.test/ma', 401, path => '/ma/report.cgi', host => 'hooks-b.test',
            body => $b, signature => sign($b, $SECRET{old}));
}
$expect{key('hooks-b.test', '/mv', 'verified')} = 1;
$expect{key('hooks-b.test', '/ma', 'rejected-401')} = 1;

sleep 0.5;   # the replay cache settles as the response leaves
my $after = scrape('after the deliveries');
subtest 'twwebhook_requests_total moved by exactly what was sent' => sub {
    for my $k (sort grep { /^twwebhook_requests_total/ } keys %$after) {
        is($after->{$k} - ($before->{$k} // 0), $expect{$k} // 0, $k);
    }
    ok(exists $after->{$_}, "$_ exists") for sort keys %expect;
};
for my $loc ('/ma', '/mb') {
    is($after->{qq(twwebhook_verified_bytes_total{server="$main",location="$loc"})}
       - $before->{qq(twwebhook_verified_bytes_total{server="$main",location="$loc"})},
       $bytes{$loc}, "twwebhook_verified_bytes_total for $loc: +$bytes{$loc}");
}
{
    my $l = qq(server="$main",location="/ma");
    is($after->{"twwebhook_replay_cache_misses_total{$l}"} - $before->{"twwebhook_replay_cache_misses_total{$l}"},
       3, 'replay cache misses at /ma: the 3 first deliveries');
    is($after->{"twwebhook_replay_cache_hits_total{$l}"} - $before->{"twwebhook_replay_cache_hits_total{$l}"},
       1, 'replay cache hits at /ma: the duplicate');
    is($after->{"twwebhook_replay_cache_errors_total{$l}"}, 0, 'no replay cache errors');
    # bodies read to their end and compared: 4 matched, 2 forged (the
    # unsigned, the GET and the 413 are refused before or while reading)
    my $count = $after->{"twwebhook_verify_seconds_count{$l}"} - $before->{"twwebhook_verify_seconds_count{$l}"};
    is($count, 6, 'twwebhook_verify_seconds_count at /ma: +6 (4 matched, 2 mismatched)');
    my @le = map { /le="([^"]+)"/ ? $1 : () } grep { /^twwebhook_verify_seconds_bucket\{\Q$l\E,/ } keys %$after;
    my @sorted = sort { ($a eq '+Inf' ? 9e9 : $a) <=> ($b eq '+Inf' ? 9e9 : $b) } @le;
    my @vals = map { $after->{"twwebhook_verify_seconds_bucket{$l,le=\"$_\"}"} } @sorted;
    ok(@sorted > 5 && $sorted[-1] eq '+Inf', 'histogram buckets up to +Inf: ' . join(' ', @sorted));
    ok(!grep({ $vals[$_] < $vals[$_ - 1] } 1 .. $#vals), 'buckets are cumulative');
    is($vals[-1], $after->{"twwebhook_verify_seconds_count{$l}"}, 'the +Inf bucket equals _count');
    cmp_ok($after->{"twwebhook_verify_seconds_sum{$l}"}, '>', 0, '_sum is positive');
    cmp_ok($after->{"twwebhook_verify_seconds_sum{$l}"}, '<', 6 * 5, '_sum is plausible (< 5 s per body)');
}

# the headers, HEAD, other methods, Require
{
    my $r = tw_request(hostport => $hostport, path => '/metrics', method => 'GET');
    is($r->{status}, 200, 'GET /metrics: 200');
    is($r->{headers}{'content-type'}, 'text/plain; version=0.0.4; charset=utf-8',
       'Content-Type: text/plain; version=0.0.4; charset=utf-8');
    $r = tw_request(hostport => $hostport, path => '/metrics', method => 'HEAD');
    is($r->{status}, 200, 'HEAD /metrics: 200');
    $r = tw_request(hostport => $hostport, path => '/metrics', method => 'POST', body => 'x');
    is($r->{status}, 405, 'POST /metrics: 405');
    $r = tw_request(hostport => $hostport, path => '/metrics-elsewhere', method => 'GET');
    is($r->{status}, 403, 'a metrics location with Require ip 192.0.2.1: 403 from 127.0.0.1');
    unlike($r->{body} // '', qr/twwebhook_/, '... and no metrics in the answer');
}

# mod_status keeps working, and shows the version
{
    my ($auto) = TwFleet::http_get_many($hostport, '/server-status?auto', 1);
    like($auto // '', qr/^TwWebhookVersion: \Q$version\E$/m, "mod_status ?auto: TwWebhookVersion: $version");
    like($auto // '', qr/^TwWebhookVerified: \d+$/m, 'mod_status ?auto still shows TwWebhookVerified');
}

ok($srv->graceful, 'graceful restart') or diag($srv->log_since(0));
my $kept = scrape('after a graceful restart', 2);
is($kept->{key($main, '/ma', 'verified')}, $after->{key($main, '/ma', 'verified')},
   'a graceful restart keeps the counts');
{
    my $b = body();
    send_ok('verified to /ma after the restart', 200, path => '/ma/report.cgi', body => $b,
            signature => sign($b, $SECRET{a}));
    my $c = scrape('after one more delivery', 2);
    is($c->{key($main, '/ma', 'verified')} - $after->{key($main, '/ma', 'verified')}, 1,
       'and goes on counting');
}

$srv->stop;
my $log = slurp($srv->error_log) // '';
unlike($log, qr/exit signal|Segmentation fault/, 'no child crashed');
unlike($log, qr/TWW060[23]/, 'the metrics got their shared memory (no TWW0602/TWW0603)');

done_testing();
