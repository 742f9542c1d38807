# SPDX-License-Identifier: Apache-2.0
# twwebhook-inbox and the entries' states (tw/store.h, docs/inbox.md): list
# prints the state column and --state filters by it; requeue makes held,
# dead (and, by id, direct) entries queued for the dispatcher and leaves an
# entry whose dispatch is in flight alone; redeliver --all leaves queued
# entries to the dispatcher; an entry written by 0.1.0 (no state line)
# reads as direct. The entries are written here in the documented format
# (docs/internals.md), so no server is needed for them; a Redis store that
# cannot be reached is an error, not an empty list, for the tool and (its
# own httpd) for the module, which refuses the delivery with 503.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Path qw(remove_tree make_path);
use Test::More;
use TwTest;
use TwFleet;

my $tool = TwFleet::inbox_tool_path();
ok(-x $tool, "twwebhook-inbox is built ($tool)") or BAIL_OUT('twwebhook-inbox not built');

my $dir = TwTest::tw_vars()->{t_logs} . '/inbox-states';
remove_tree($dir);
make_path($dir);
chmod 0700, $dir;

my $now = time * 1_000_000;
my %id = map { $_ => sprintf('%064x', $_ eq 'old' ? 1 : $_ eq 'held' ? 2 : $_ eq 'dead' ? 3 : 4) }
         qw(old held dead flight);

# one entry file as the module writes it; $store: the lines after status
sub put_entry {
    my ($name, $received, $status, $store, $event) = @_;
    my $body = qq({"entry":"$name"});
    my $text = "twwebhook-inbox 1\nreceived $received\nupdated $received\nattempts 1\n"
             . "status $status\n$store" . "path /hooks/$name\nheader Event: $event\n"
             . "header Delivery: d-$name\nlength " . length($body) . "\n\n$body";
    my $file = "$dir/$id{$name}";
    open my $fh, '>:raw', $file or die "write $file: $!";
    print {$fh} $text;
    close $fh;
    chmod 0600, $file;
}
put_entry('old', $now - 4_000_000, 503, '', 'page.updated');     # written by 0.1.0
put_entry('held', $now - 3_000_000, 500, "state held\nsecret-index 2\nscope localhost /h\n",
          'task.created');
put_entry('dead', $now - 2_000_000, 502, "state dead\n", 'task.updated');
put_entry('flight', $now - 1_000_000, 0,
          "state queued\nnext " . ($now + 3_600_000_000) . "\nowner web9:99\n",
          'task.deleted');

# "list" -> { id => { state, status, event, delivery } }; dies on a line
# that is not 8 fields
sub listed {
    my @args = @_;
    my ($rc, $out) = TwFleet::inbox_tool('list', $dir, @args);
    my %e;
    for (split /\n/, $out) {
        my @f = split / /;
        die "list: not 8 fields: $_" unless @f == 8;
        $e{$f[0]} = { event => $f[2], delivery => $f[3], attempts => $f[5], state => $f[6],
                      status => $f[7] };
    }
    return ($rc, \%e);
}

{
    my ($rc, $e) = listed();
    is($rc, 0, 'list: exit 0');
    is(scalar keys %$e, 4, '... four entries');
    is($e->{ $id{old} }{state}, 'direct', '... the 0.1.0 entry (no state line) is direct');
    is($e->{ $id{old} }{status}, 503, '... with its status');
    is($e->{ $id{held} }{state}, 'held', '... held');
    is($e->{ $id{dead} }{state}, 'dead', '... dead');
    is($e->{ $id{flight} }{state}, 'queued', '... queued');
    is($e->{ $id{held} }{event}, 'task.created', '... the event column is still the third');

    ($rc, $e) = listed('--state', 'held,dead');
    is($rc, 0, 'list --state held,dead: exit 0');
    is_deeply([ sort keys %$e ], [ sort @id{qw(held dead)} ], '... exactly the held and the dead');
    ($rc, $e) = listed('--state', 'queued');
    is_deeply([ keys %$e ], [ $id{flight} ], 'list --state queued: the queued one');
    ($rc) = listed('--state', 'sleeping');
    is($rc, 2, 'list --state sleeping: usage error (exit 2)');
    ($rc) = listed('--state');
    is($rc, 2, 'list --state without a value: usage error');
}

{
    my ($rc, $out) = TwFleet::inbox_tool('show', $dir, $id{held});
    is($rc, 0, 'show of the held entry: exit 0');
    like($out, qr/^state: held$/m, '... state: held');
    like($out, qr/^secret index: 2$/m, '... secret index: 2');
    like($out, qr{^scope: localhost /h$}m, '... its scope');
}

# redeliver --all: what waits for a person, never a queued entry; the target
# is a closed port, so each one tried says "failed"
{
    my $closed = TwFleet::free_port();
    my ($rc, $out) = TwFleet::inbox_tool('redeliver', $dir, '--url', "http://127.0.0.1:$closed",
                                         '--connect-timeout', '2', '--all');
    isnt($rc, 0, 'redeliver --all to a closed port: non-zero exit');
    my %tried = map { $_ => 1 } $out =~ /^([0-9a-f]{64}) failed: /mg;
    is_deeply([ sort keys %tried ], [ sort @id{qw(old held dead)} ],
              '... tried the direct, held and dead entries, not the queued one') or diag($out);
}

{
    my ($rc, $out) = TwFleet::inbox_tool('requeue', $dir, '--all');
    is($rc, 0, 'requeue --all: exit 0') or diag($out);
    is_deeply([ sort $out =~ /^([0-9a-f]{64}) queued$/mg ], [ sort @id{qw(held dead)} ],
              '... "<id> queued" for the held and the dead') or diag($out);
    my $e;
    ($rc, $e) = listed();
    is($e->{ $id{held} }{state}, 'queued', '... the held one is queued');
    is($e->{ $id{held} }{status}, 500, '... its last status kept');
    is($e->{ $id{dead} }{state}, 'queued', '... the dead one is queued');
    is($e->{ $id{old} }{state}, 'direct', '... the direct one untouched (not asked for)');
    ($rc, $out) = TwFleet::inbox_tool('show', $dir, $id{dead});
    like($out, qr/^next: \d{4}-\d\d-\d\dT/m, '... due now: show prints its next');

    ($rc, $out) = TwFleet::inbox_tool('requeue', $dir, $id{old}, $id{flight});
    is($rc, 0, 'requeue of the 0.1.0 entry and of the one in flight, by id: exit 0') or diag($out);
    ($rc, $e) = listed('--state', 'queued');
    is(scalar keys %$e, 4, '... all four queued now');
    my $flight = join '', do { open my $fh, '<', "$dir/$id{flight}" or die $!; <$fh> };
    like($flight, qr/^owner web9:99$/m, '... the one in flight kept its dispatcher (owner)');
    like($flight, qr/^next ${\($now + 3_600_000_000)}$/m, '... and its lease');
    my $old = join '', do { open my $fh, '<', "$dir/$id{old}" or die $!; <$fh> };
    like($old, qr/\nstate queued\nnext \d+\npath /, '... the 0.1.0 entry now has the store\'s lines');
    like($old, qr/\nlength 15\n\n\{"entry":"old"\}\z/, '... its body kept byte for byte');

    ($rc, $out) = TwFleet::inbox_tool('requeue', $dir, '--all', '--state', 'queued');
    is($rc, 2, 'requeue --state queued: usage error');
    ($rc, $out) = TwFleet::inbox_tool('requeue', $dir);
    is($rc, 2, 'requeue without ids or --all: usage error');
    ($rc, $out) = TwFleet::inbox_tool('requeue', $dir, $id{old}, '--all');
    is($rc, 2, 'requeue with ids and --all: usage error');
    ($rc, $out) = TwFleet::inbox_tool('requeue', $dir, $id{old}, '--state', 'held');
    is($rc, 2, 'requeue --state without --all: usage error');
    ($rc, $out) = TwFleet::inbox_tool('requeue', $dir, 'e' x 64);
    is($rc, 1, 'requeue of an unknown id: exit 1');
}

{
    my ($rc, $out) = TwFleet::inbox_tool('drop', $dir, @id{qw(old held dead flight)});
    is($rc, 0, 'drop all four: exit 0') or diag($out);
    my $e;
    ($rc, $e) = listed();
    is(scalar keys %$e, 0, '... the store is empty');
}

# a Redis store nobody answers (or this build's engine cannot reach): an error
{
    my $port = TwFleet::free_port();
    my ($rc, $out) = TwFleet::inbox_tool('list', "redis:127.0.0.1:$port");
    is($rc, 1, "list redis:127.0.0.1:$port (nothing listens): exit 1");
    ($rc, $out) = TwFleet::inbox_tool('list', 'redis:127.0.0.1');
    is($rc, 1, 'list redis:127.0.0.1 (no port): exit 1');
}

# The module with TwWebhookInbox on a Redis nobody answers: configtest
# accepts it, and every delivery is refused with 503 (TWW0418) without the
# app running; the next one tries the store again.
{
    my $port = TwFleet::free_port();
    # A Redis inbox has a dispatcher, which logs TWW0453 once it ticks
    # while the server lives: provoked here, as in t/163 (whether a tick
    # comes before the stop depends on the machine's speed).
    TwTest::expect_fault("TWW0453: cannot take queued entries from redis:127.0.0.1:$port");
    my $srv = TwFleet->new(name => 'inbox-redis', routes => ['rds'], conf => <<"EOF");
<Location /rds>
    TwWebhookSecret "$SECRET{a}"
    TwWebhookInbox redis:127.0.0.1:$port
</Location>
EOF
    TwFleet::start_or_exit($srv, "an httpd with TwWebhookInbox redis:127.0.0.1:$port starts");
    for my $try (1, 2) {
        my $body = sprintf '{"event":"page.updated","redis":"%d-%d"}', $$, $try;
        my $id = new_id();
        TwTest::expect_fault($id);
        my $mark = $srv->log_mark;
        my $res = tw_request(hostport => $srv->hostport, path => '/rds/report.cgi', body => $body,
                             event => 'page.updated', signature => sign($body, $SECRET{a}),
                             id => $id);
        is($res->{status}, 503, "redis store unreachable, delivery $try: 503") or diag(describe($res));
        is(downstream_ran($id), 0, '... the app did not run');
        ok($srv->wait_log($mark, rejection_re('TWW0418', 503, 'cannot record the delivery in '
                                              . "TwWebhookInbox redis:127.0.0.1:$port "
                                              . '(disk full or not writable?): the app is not run',
                                              $id)),
           '... TWW0418 names the store') or diag($srv->log_since($mark));
    }
    $srv->stop;
}

remove_tree($dir);
done_testing();
