#!/usr/bin/perl
# SPDX-License-Identifier: Apache-2.0
# scripts/stress step "slow": slow clients against a server with few
# workers. mod_reqtimeout ("RequestReadTimeout header=5 body=2,MinRate=500")
# must end a trickled body with 408 (the module's "body read timed out"),
# and free the worker: with 2 children x 2 threads (MaxRequestWorkers 4),
# more slow clients than workers, and a normal webhook sent right after
# them, the normal one still succeeds once they have timed out, and the
# server answers promptly afterwards.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TwStress;
use POSIX ();
use Time::HiRes qw(time sleep);

my $SLOW = 6;          # slow body senders (more than the 4 workers)
my $h = stress_server(name => 'slow', servers => 2, threads => 2, max_workers => 4,
                      reqtimeout => 'header=5 body=2,MinRate=500');
$h->start;
my $hp = $h->{hostport};

my $body = '{"event":"page.updated","page":{"id":1},"pad":"' . ('s' x 1900) . '"}';
my $sig = sign($body, $SECRET);
my $head = "POST /hook/rec.cgi HTTP/1.1\r\nHost: x\r\nSignature: $sig\r\nDelivery: slow-%d\r\n"
         . "X-Stress-Id: slow-%d\r\nContent-Length: " . length($body) . "\r\n\r\n";

sub normal_request {
    my ($id) = @_;
    return http_exchange(hostport => $hp, timeout => 30,
        data => build_request(path => '/hook/rec.cgi', body => $body,
                              headers => ['Signature' => $sig, 'Delivery' => "n-$id",
                                          'X-Stress-Id' => $id]));
}

# A normal request first: the server works and the CGI daemon is warm.
my $r0 = normal_request('before');
check($r0->{status} == 200, 'before: a normal webhook is delivered', "status $r0->{status}");

my $mark = length $h->error_log_text;
my $t0 = time;
# Each slow client runs in its own process and reports "status elapsed".
my %kids;
my $tmp = run_dir() . '/slow/results';
mkdir $tmp;
for my $i (1 .. $SLOW) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        # headers, then 10 bytes every 0.5 s: 20 bytes/s, far below 500
        my @plan = ([ sprintf($head, $i, $i), 0.5 ]);
        for (my $off = 0; $off < length($body) && @plan < 60; $off += 10) {
            push @plan, [ substr($body, $off, 10), 0.5 ];
        }
        my $r = http_exchange(hostport => $hp, plan => \@plan, timeout => 40);
        spew("$tmp/$i", sprintf("%s %.2f\n", $r->{status} || ($r->{error} // 'none'), $r->{answered_at} // $r->{elapsed}));
        POSIX::_exit(0);
    }
    $kids{$pid} = $i;
}
# and one client trickling its headers
my $hpid = fork // die "fork: $!";
if (!$hpid) {
    my @plan = map { [ $_, 0.5 ] } ("POST /hook/rec.cgi HTTP/1.1\r\n", map { "X-Slow-$_: y\r\n" } 1 .. 60);
    my $r = http_exchange(hostport => $hp, plan => \@plan, timeout => 40);
    spew("$tmp/headers", sprintf("%s %.2f\n", $r->{status} || ($r->{error} // 'none'), $r->{answered_at} // $r->{elapsed}));
    POSIX::_exit(0);
}
$kids{$hpid} = 'headers';

sleep 0.5;   # the slow clients hold every worker now
my $t_normal = time;
my $rn = normal_request('during');
my $normal_latency = time - $t_normal;

my $until = time + 60;
while (%kids && time < $until) {
    my $pid = waitpid(-1, POSIX::WNOHANG());
    if ($pid > 0) { delete $kids{$pid}; next }
    sleep 0.1;
}
kill 'KILL', keys %kids;
waitpid($_, 0) for keys %kids;

my (@slow_status, @slow_time);
for my $i (1 .. $SLOW) {
    my ($st, $el) = split ' ', (slurp("$tmp/$i") // 'none 0');
    push @slow_status, $st;
    push @slow_time, $el;
}
my ($hst, $hel) = split ' ', (slurp("$tmp/headers") // 'none 0');
figure(slow_statuses => join(',', @slow_status), slow_answered_s => join(',', @slow_time),
       header_trickle => "$hst\@${hel}s", normal_during_s => sprintf('%.2f', $normal_latency));

check(!grep({ $_ ne '408' } @slow_status), "all $SLOW trickled bodies got 408", "@slow_status");
check(!grep({ $_ > 12 } @slow_time),
      'each within 12 s of its start (body=2 plus waiting for a worker)', "@slow_time");
check($hst eq '408', 'a client trickling its headers got 408 (header=5)', "got $hst");
check($normal_latency >= 1.0,
      'the slow clients did hold every worker (the normal webhook waited for one)',
      sprintf('it was answered after %.2f s', $normal_latency));
check($rn->{status} == 200 && ($rn->{body} // '') =~ /^ok during/,
      sprintf('a normal webhook sent while they held every worker succeeded (after %.1f s)', $normal_latency),
      "status $rn->{status} " . ($rn->{error} // ''));

my $elog = substr($h->error_log_text, $mark);
my $n408 = () = $elog =~ /\[twwebhook:info\].*rejected with 408: body read timed out/g;
check($n408 == $SLOW, "the module logged $SLOW \"rejected with 408: body read timed out\" lines", "found $n408");

# afterwards: prompt answers, with all four workers at once
my @lat;
my %pids;
for my $i (1 .. 4) {
    my $pid = fork // die;
    if (!$pid) {
        my $t = time;
        my $r = normal_request("after-$i");
        spew("$tmp/after-$i", sprintf("%d %.3f\n", $r->{status}, time - $t));
        POSIX::_exit(0);
    }
    $pids{$pid} = 1;
}
waitpid($_, 0) for keys %pids;
my @after = map { [ split ' ', (slurp("$tmp/after-$_") // '0 99') ] } 1 .. 4;
figure(after_latency_s => join(',', map { $_->[1] } @after));
check(!grep({ $_->[0] != 200 || $_->[1] > 2 } @after),
      'afterwards 4 concurrent webhooks are each answered 200 within 2 s',
      join ', ', map { "$_->[0] in $_->[1] s" } @after);

my $recs = read_records($h->{downstream_log});
my @slow_ran = grep { $_->{id} =~ /^slow-/ } @$recs;
check(!@slow_ran, 'the downstream never ran for a slow client', map { $_->{line} } @slow_ran);
my @crash = $h->crash_lines;
check(!@crash, 'no child crashed', @crash);
my @left = glob "$h->{spool}/twwebhook.*";
check(!@left, 'no spool file left', @left);

exit done();
