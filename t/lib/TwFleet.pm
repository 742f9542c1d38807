package TwFleet;
# Extra servers for the tests of server-wide features (replay cache,
# mod_status counters, access-log notes, a memcached shared by a fleet):
# each test starts its own small httpd from a generated configuration on a
# free loopback port, with its own directory t/logs/<name>/ (error_log,
# access_log, pid file, mutexes, cgid socket), instead of changing the
# shared test server. t/999_error_log.t reads every t/logs/*/error_log.
#
#   my $srv = TwFleet->new(name => 'replay', conf => $directives,
#                          modules => [qw(socache_shmcb)], routes => ['replay']);
#   $srv->start or BAIL...;  $srv->hostport;  $srv->stop;
#
# routes => [prefix, ...] maps /<prefix>/report.cgi to t/cgi-bin/report.cgi
# (mod_cgid) and /<prefix>/report.php to t/php/report.php on the suite's own
# php-fpm (t/TEST.PL starts it; its socket is t/logs/php-fpm.sock).
#
# A module or program the tests need that is missing is a failure (the
# caller turns start()'s false return into a failed test), never a skip.
# Servers and cache daemons (memcached, redis-server) started here are
# stopped at exit.
use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(remove_tree make_path);
use IO::Socket::INET;
use POSIX ();
use Test::More ();
use Time::HiRes qw(sleep time);

use TwHTTP ();
use TwTest ();

my $T_DIR = dirname(dirname(abs_path(__FILE__)));   # t/
my $TOP = dirname($T_DIR);
my (@SERVERS, @DAEMONS);
my $OWNER = $$;

# A test killed by a signal (an interrupted run) still stops what it
# started: exit() runs the END block below.
for my $sig (qw(TERM INT HUP)) {
    $SIG{$sig} = sub { exit 128 + 1 } unless ref $SIG{$sig};
}

END {
    if ($$ == $OWNER) {
        local $?;
        $_->stop for reverse @SERVERS;
        $_->stop for @DAEMONS;
    }
}

sub t_dir { $T_DIR }
sub top_dir { $TOP }

# A port nothing listens on right now (the kernel's choice).
sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, ReuseAddr => 1)
        or croak "no free port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub port_open {
    my ($hostport) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $hostport, Timeout => 1);
    return 0 unless $s;
    close $s;
    return 1;
}

sub find_program {
    for my $name (@_) {
        for my $dir (split(/:/, $ENV{PATH} // ''), qw(/usr/sbin /usr/bin /sbin /bin)) {
            my $p = "$dir/$name";
            return $p if -x $p && !-d $p;
        }
    }
    return undef;
}

my %STATIC;
sub static_modules {
    unless (%STATIC) {
        my $httpd = TwTest::tw_vars()->{httpd};
        %STATIC = map { /^\s*(\S+)\.c\s*$/ ? ($1 => 1) : () } qx("$httpd" -l);
        $STATIC{core} = 1;
    }
    return \%STATIC;
}

# LoadModule line for mod_<name>, '' when built in, undef when missing.
sub load_line {
    my ($name) = @_;
    return '' if static_modules()->{"mod_$name"};
    my $so = TwTest::tw_vars()->{src_dir} . "/mod_$name.so";
    return undef unless -f $so;
    return qq(LoadModule ${name}_module "$so");
}

# ---------------------------------------------------------------------------
# httpd

# new(name, conf, modules, routes, mpm (event|prefork), mpm_conf, log_level)
sub new {
    my ($class, %a) = @_;
    my $vars = TwTest::tw_vars();
    my $name = $a{name} or croak 'TwFleet->new: name required';
    my $dir = "$vars->{t_logs}/$name";
    remove_tree($dir);
    make_path($dir);
    my $port = $a{port} // free_port();
    my $self = bless {
        name => $name, dir => $dir, port => $port,
        hostport => "127.0.0.1:$port", conf_file => "$dir/httpd.conf",
        error_log => "$dir/error_log", access_log => "$dir/access_log",
        pid_file => "$dir/httpd.pid", started => 0, missing => [],
    }, $class;

    my $mpm = $a{mpm} // 'event';
    my @modules = ("mpm_$mpm", qw(unixd authz_core alias env mime log_config cgid
                                  proxy proxy_fcgi), @{ $a{modules} // [] });
    my (%seen, @load);
    for my $m (grep { !$seen{$_}++ } @modules) {
        my $line = load_line($m);
        if (!defined $line) {
            push @{ $self->{missing} },
                "mod_$m ($vars->{src_dir}/mod_$m.so)";
            next;
        }
        push @load, $line if length $line;
    }
    my $so = "$TOP/.libs/mod_twwebhook.so";
    push @{ $self->{missing} }, "mod_twwebhook ($so, not built)" unless -f $so;
    push @load, qq(LoadModule twwebhook_module "$so");

    my $routes = '';
    if (my @r = @{ $a{routes} // [] }) {
        my $alt = join '|', map { quotemeta } @r;
        $routes = <<"EOF";
ScriptAliasMatch "^/($alt)/report\\.cgi\$" "$T_DIR/cgi-bin/report.cgi"
AliasMatch "^/($alt)/report\\.php\$" "$T_DIR/php/report.php"
EOF
    }
    my $mpm_conf = $a{mpm_conf} // '';
    my $log_level = $a{log_level} // 'info twwebhook:debug';
    my $t_logs = $vars->{t_logs};
    $self->{text} = <<"EOF";
# Generated by t/lib/TwFleet.pm for ${\ (TwFleet::caller_file()) }
ServerRoot "$dir"
ServerName localhost
Listen $self->{hostport}
PidFile "$self->{pid_file}"
ErrorLog "$self->{error_log}"
LogLevel $log_level
DefaultRuntimeDir "$dir"
Mutex file:$dir default
${\ join("\n", @load) }
$mpm_conf
ScriptSock "$dir/cgisock"
TypesConfig /dev/null
DocumentRoot "$T_DIR/htdocs"
SetEnv TW_TEST_LOG "$t_logs/downstream.log"
SetEnv TW_TEST_SPOOL_DIR "$dir/spool"
TwWebhookSpoolDir "$dir/spool"
<Directory "$T_DIR/cgi-bin">
    Require all granted
</Directory>
<Directory "$T_DIR/php">
    Require all granted
</Directory>
<Directory "$T_DIR/htdocs">
    Require all granted
</Directory>
<FilesMatch "\\.php\$">
    SetHandler "proxy:unix:$t_logs/php-fpm.sock|fcgi://localhost"
</FilesMatch>
$routes
$a{conf}
EOF
    make_path("$dir/spool");
    open my $fh, '>', $self->{conf_file} or croak "write $self->{conf_file}: $!";
    print {$fh} $self->{text};
    close $fh or croak "close $self->{conf_file}: $!";
    return $self;
}

sub caller_file {
    my $i = 0;
    while (my @c = caller($i++)) {
        return $c[1] if $c[1] =~ /\.t$/;
    }
    return 'a test';
}

sub _write_conf {
    my ($self) = @_;
    open my $fh, '>', $self->{conf_file} or croak "write $self->{conf_file}: $!";
    print {$fh} $self->{text};
    close $fh or croak "close $self->{conf_file}: $!";
}

sub _move_to_port {
    my ($self, $port) = @_;
    my $old = $self->{hostport};
    $self->{port} = $port;
    $self->{hostport} = "127.0.0.1:$port";
    $self->{text} =~ s/^Listen \Q$old\E$/Listen $self->{hostport}/m;
    $self->_write_conf;
}

# replace_conf($from, $to): changes the configuration file (the text $from,
# which must be there, becomes $to), for a restart to read.
sub replace_conf {
    my ($self, $from, $to) = @_;
    $self->{text} =~ s/\Q$from\E/$to/ or croak "replace_conf: '$from' is not in the configuration";
    $self->_write_conf;
}

sub name { $_[0]{name} }
sub dir { $_[0]{dir} }
sub port { $_[0]{port} }
sub hostport { $_[0]{hostport} }
sub conf_file { $_[0]{conf_file} }
sub error_log { $_[0]{error_log} }
sub access_log { $_[0]{access_log} }
sub output { $_[0]{output} // '' }

# Why the last start() failed (for diag), with the error log.
sub why {
    my ($self) = @_;
    return join "\n", ($self->{why} // ''), $self->output,
        'error_log: ' . (TwTest::slurp($self->{error_log}) // '(none)');
}

sub httpd_pid {
    my ($self) = @_;
    my $text = TwTest::slurp($self->{pid_file}) // '';
    my ($pid) = $text =~ /(\d+)/;
    return $pid;
}

sub pid_alive {
    my ($pid) = @_;
    return 0 unless $pid && kill 0, $pid;
    open my $st, '<', "/proc/$pid/stat" or return 1;
    my $stat = <$st> // '';
    return $stat =~ /^\d+ \(.*\) Z/ ? 0 : 1;
}

# Starts the server and waits until it is up and accepts connections; 1 or
# 0 (then $self->why says why: a missing module, httpd's own message). The
# port free_port() found may be taken by the time httpd binds it (other
# servers start on this machine too): then it tries another port, 3 times.
sub start {
    my ($self) = @_;
    if (@{ $self->{missing} }) {
        $self->{why} = "modules missing:\n  " . join("\n  ", @{ $self->{missing} })
            . "\n(Debian: apt-get install apache2)";
        return 0;
    }
    my $httpd = TwTest::tw_vars()->{httpd};
    my $bind_error = qr/could not bind|Address already in use|no listening sockets/;
    for my $try (1 .. 3) {
        my $mark = -s $self->{error_log} || 0;
        $self->{output} = qx("$httpd" -f "$self->{conf_file}" -k start 2>&1);
        if ($? != 0) {
            $self->{why} = "httpd -k start exited " . ($? >> 8);
            return 0 unless $self->{output} =~ $bind_error && $try < 3;
            $self->_move_to_port(free_port());
            next;
        }
        $self->{started} = 1;
        push @SERVERS, $self unless grep { $_ == $self } @SERVERS;
        my $until = time + 15;
        while (1) {
            my $log = $self->log_since($mark);
            if ($log =~ $bind_error) {
                $self->{why} = "httpd could not bind $self->{hostport}";
                last;
            }
            return 1 if $log =~ /resuming normal operations/ && port_open($self->{hostport});
            if (time > $until) {
                $self->{why} = "httpd did not come up on $self->{hostport} within 15 s";
                return 0;
            }
            sleep 0.05;
        }
        # the bind failed: the daemon exits by itself
        my $pid = $self->httpd_pid;
        my $until2 = time + 5;
        sleep 0.05 while $pid && pid_alive($pid) && time < $until2;
        $self->{started} = 0;
        return 0 if $try == 3;
        $self->_move_to_port(free_port());
    }
    return 0;
}

sub stop {
    my ($self) = @_;
    return unless $self->{started};
    $self->{started} = 0;
    my $pid = $self->httpd_pid;
    my $httpd = TwTest::tw_vars()->{httpd};
    system("\"$httpd\" -f \"$self->{conf_file}\" -k stop >/dev/null 2>&1");
    my $until = time + 15;
    sleep 0.05 while $pid && pid_alive($pid) && time < $until;
    if ($pid && pid_alive($pid)) {
        kill 'KILL', $pid;   # our own server only, by its pid file
    }
}

# "httpd -k graceful" (or restart: SIGHUP, the parent stays, the children
# are stopped at once), then waits until the new generation is up.
sub graceful { my ($self) = @_; return $self->_restart('graceful') }
sub restart { my ($self) = @_; return $self->_restart('restart') }

sub _restart {
    my ($self, $how) = @_;
    my $mark = -s $self->{error_log} || 0;
    my $httpd = TwTest::tw_vars()->{httpd};
    my $out = qx("$httpd" -f "$self->{conf_file}" -k $how 2>&1);
    return 0 if $? != 0;
    return defined $self->wait_log($mark, qr/resuming normal operations/, 15) ? 1 : 0;
}

# Error-log position and what was logged since, as in TwTest.
sub log_mark { my ($self) = @_; return -s $self->{error_log} || 0 }

sub log_since {
    my ($self, $mark) = @_;
    open my $fh, '<:raw', $self->{error_log} or return '';
    seek $fh, $mark // 0, 0;
    local $/;
    my $s = <$fh>;
    return $s // '';
}

sub wait_log {
    my ($self, $mark, $re, $timeout) = @_;
    my $until = time + ($timeout // 3);
    while (1) {
        for my $line (split /\n/, $self->log_since($mark)) {
            return $line if $line =~ $re;
        }
        return undef if time >= $until;
        sleep 0.05;
    }
}

# The access-log line whose first field is $id (waits: it is written after
# the response), or undef.
sub access_line {
    my ($self, $id, $timeout) = @_;
    my $until = time + ($timeout // 5);
    while (1) {
        my $log = TwTest::slurp($self->{access_log}) // '';
        for my $line (split /\n/, $log) {
            return $line if index($line, "$id ") == 0;
        }
        return undef if time >= $until;
        sleep 0.05;
    }
}

# retry_409(sub { tw_request(...) }): a copy sent at once after the 2xx of
# its delivery may still find that delivery "in progress": the module
# settles the replay-cache entry in the log_transaction hook, after the
# response has left, so the client can be faster (README: 409, retryable).
# Sends again while the answer is 409, for up to 2 s, 0.1 s apart, as a
# sender retrying would. The last response gets ids (every attempt's
# X-Tw-Test-Id: none may have reached the app) and n409.
sub retry_409 {
    my ($send) = @_;
    my ($res, @ids);
    my $n409 = 0;
    my $until = time + 2;
    while (1) {
        $res = $send->();
        push @ids, $res->{id};
        last unless ($res->{status} // 0) == 409 && time < $until;
        $n409++;
        sleep 0.1;
    }
    $res->{ids} = \@ids;
    $res->{n409} = $n409;
    return $res;
}

# one_child($threads): the event MPM's settings for a server of exactly one
# child with $threads threads (mpm_conf). apr_memcache keeps its "server
# dead" state per process, so one child makes outage and recovery steps
# deterministic.
sub one_child {
    my ($threads) = @_;
    return "StartServers 1\nServerLimit 1\nThreadsPerChild $threads\nMinSpareThreads 1\n"
         . "MaxSpareThreads $threads\nMaxRequestWorkers $threads\n";
}

# start_or_exit($server_or_daemon, $name): starts it as one test named
# $name; when it does not start, says why and ends the test file there
# (nothing after it could pass).
sub start_or_exit {
    my ($it, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    return 1 if Test::More::ok($it->start, $name);
    Test::More::diag($it->why);
    Test::More::done_testing();
    exit 1;
}

# signed_body($key, $what, \%sigs) -> ($body, $signature): a new Teamwork-like
# body, {"event":"page.updated","$key":"$what-<unique>"}, signed with
# $SECRET{a}; the signature is added to %sigs (a test checks none of them
# reaches an error log).
my $BODY_STAMP = int(time * 1000) . "-$$";
sub signed_body {
    my ($key, $what, $sigs) = @_;
    my $body = qq({"event":"page.updated","$key":"$what-$BODY_STAMP-) . int(rand 1e9) . '"}';
    my $sig = TwTest::sign($body, $TwSecrets::SECRET{a});
    $sigs->{$sig} = 1 if $sigs;
    return ($body, $sig);
}

# check_logs($srv, \%sigs): the server's error log holds no secret, none of
# the signatures sent (mod_socache_memcache logs its keys on errors: a
# signature is the MAC of a body), and no child crashed.
sub check_logs {
    my ($srv, $sigs) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $log = TwTest::slurp($srv->error_log) // '';
    my $n = $srv->name;
    Test::More::unlike($log, qr/\Q$TwSecrets::SECRET{a}\E/, "$n: no secret in its error log");
    my %in_log = map { lc($_) => 1 } $log =~ /(?<![0-9A-Fa-f])([0-9A-Fa-f]{64})(?![0-9A-Fa-f])/g;
    my @leaked = grep { $in_log{$_} } sort keys %$sigs;
    Test::More::is(scalar @leaked, 0, "$n: no signature (= MAC of a body) in its error log")
        or Test::More::diag("e.g. the line: " . (grep { /\Q$leaked[0]\E/i } split /\n/, $log)[0]);
    Test::More::unlike($log, qr/exit signal|Segmentation fault/, "$n: no child crashed");
}

# is_duplicate($res, $name): a subtest: the answer is the module's 200
# "duplicate: already handled" and the app ran for none of the attempts
# (retry_409's ids).
sub is_duplicate {
    my ($res, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    Test::More::subtest($name => sub {
        Test::More::is($res->{status}, 200, 'status 200') or Test::More::diag(TwTest::describe($res));
        Test::More::like($res->{body} // '', qr/^duplicate: already handled/,
                         '"duplicate: already handled"');
        Test::More::is(scalar(grep { TwTest::downstream_ran($_) } @{ $res->{ids} || [$res->{id}] }),
                       0, 'the app did not run');
    });
    Test::More::diag("$name: answered 409 $res->{n409} time(s) first (delivery not yet settled)")
        if $res->{n409};
}

# cache_back($srv, $engine, $send): once a replay cache's daemon is back,
# the server uses it again: $send->($srv, $id) delivers a new body with that
# X-Tw-Test-Id, up to 5 times (a first request may still meet a stale
# connection), until one is a 200 with no cache fault (TWW0703, TWW0410)
# logged. One ok() saying after how many.
sub cache_back {
    my ($srv, $engine, $send) = @_;
    my ($tries, $ok) = (0, 0);
    while (!$ok && $tries < 5) {
        $tries++;
        my $id = TwTest::new_id();
        TwTest::expect_fault($id);
        my $m = $srv->log_mark;
        my $r = $send->($srv, $id);
        $ok = $r->{status} == 200 && $srv->log_since($m) !~ /TWW0703|TWW0410/;
    }
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    return Test::More::ok($ok, $srv->name . ": uses $engine again after $tries request(s)");
}

# parallel_requests(\%tw_request_args, ...): every request on its own
# connection from its own process, all started at the same instant; returns
# the responses in order (status, reason, body, id, delivery, json, error).
sub parallel_requests {
    my @specs = @_;
    require JSON::PP;
    my $dir = TwTest::tw_vars()->{t_logs} . "/parallel.$$";
    make_path($dir);
    my $go = time + 0.3;
    my @pids;
    for my $i (0 .. $#specs) {
        my $pid = fork // croak "fork: $!";
        if (!$pid) {
            sleep($go - time) if $go > time;
            my $r = TwTest::tw_request(%{ $specs[$i] });
            my %out = map { $_ => $r->{$_} } qw(status reason body id delivery json error);
            if (open my $fh, '>', "$dir/$i.json") {
                print {$fh} JSON::PP->new->encode(\%out);
                close $fh;
            }
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    waitpid $_, 0 for @pids;
    my @res;
    for my $i (0 .. $#specs) {
        my $text = TwTest::slurp("$dir/$i.json");
        push @res, defined $text ? JSON::PP->new->decode($text)
                                 : { error => 'the request process reported nothing',
                                     id => $specs[$i]{id} };
    }
    remove_tree($dir);
    return @res;
}

# last_byte_requests(\%tw_request_args, ...): the requests all arrive at
# the same instant, as closely as a test can make it: every one on its own
# connection, written but for the last byte of its body, held until the
# servers have read that far; then the last bytes go out in one loop. Returns
# the responses in order (status, body, id, json, error), as tw_request.
sub last_byte_requests {
    my @specs = @_;
    require JSON::PP;
    my (@socks, @tail, @res);
    for my $i (0 .. $#specs) {
        my %a = %{ $specs[$i] };
        my ($head, $body, $id, $delivery) = TwTest::build_request(%a);
        croak 'last_byte_requests: a body is needed' unless length $body;
        $res[$i] = { id => $id, delivery => $delivery };
        my $s = IO::Socket::INET->new(PeerAddr => $a{hostport}, Timeout => 10);
        unless ($s) {
            $res[$i]{error} = "connect $a{hostport}: $!";
            next;
        }
        binmode $s;
        $s->autoflush(1);
        print {$s} $head, substr($body, 0, -1);
        $socks[$i] = $s;
        $tail[$i] = substr($body, -1);
    }
    sleep 0.5;   # each server reads all but the last byte and waits
    for my $i (0 .. $#specs) {
        syswrite($socks[$i], $tail[$i]) if $socks[$i];
    }
    for my $i (0 .. $#specs) {
        my $s = $socks[$i] or next;
        local $/;
        my $in = <$s> // '';
        close $s;
        my ($resp) = TwHTTP::parse_response($in, 1, 0);
        if (!$resp || $resp->{nostatus}) {
            $res[$i]{error} = 'no complete response';
            next;
        }
        @{ $res[$i] }{keys %$resp} = values %$resp;
        $res[$i]{json} = eval { JSON::PP->new->decode($resp->{body}) }
            if ($resp->{headers}{'content-type'} // '') =~ /json/;
    }
    return @res;
}

# http_get_many($hostport, $path, $n): $n GET requests, each on its own
# connection, all connections opened first and held before any request is
# written, so that under prefork $n different children answer. Returns the
# bodies (undef for a failed one), in order. Each request carries
# "X-Tw-Test-Id: <id>-<i>" when $id is given.
sub http_get_many {
    my ($hostport, $path, $n, $id) = @_;
    my @socks;
    for my $i (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => $hostport, Timeout => 5) or last;
        push @socks, $s;
    }
    sleep 0.4;   # every connection accepted by a child of its own
    for my $i (0 .. $#socks) {
        my $s = $socks[$i];
        print {$s} "GET $path HTTP/1.1\r\nHost: $hostport\r\nConnection: close\r\n"
                   . (defined $id ? "X-Tw-Test-Id: $id-$i\r\n" : '') . "\r\n";
    }
    my @bodies;
    for my $s (@socks) {
        local $/;
        my $resp = <$s> // '';
        close $s;
        my ($r) = TwHTTP::parse_response($resp, 1, 0);
        push @bodies, $r && $r->{status} == 200 ? $r->{body} : undef;
    }
    push @bodies, undef while @bodies < $n;
    return @bodies;
}

# ---------------------------------------------------------------------------
# A cache daemon (memcached, redis-server) started by a test as the test
# user on a loopback port, in the foreground, stopped at exit. The engines
# below say only which program and which command line; starting, waiting
# for the port and stopping are shared here.

package TwFleet::Daemon;

use Carp qw(croak);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);

# new(port => optional, log => file for its output); start() 1 or 0, why()
sub new {
    my ($class, %a) = @_;
    my $port = $a{port} // TwFleet::free_port();
    return bless { port => $port, hostport => "127.0.0.1:$port", fixed => defined $a{port},
                   log => $a{log}, pid => undef }, $class;
}

sub binary { my ($self) = @_; return TwFleet::find_program($self->program) }
sub port { $_[0]{port} }
sub hostport { $_[0]{hostport} }
sub why { $_[0]{why} // '' }
sub running { my ($self) = @_; return $self->{pid} && TwFleet::pid_alive($self->{pid}) }

# Starts the daemon and waits until it listens; on a port taken meanwhile
# (not one given to new) it tries another, 3 times. A restart after stop()
# uses the same port.
sub start {
    my ($self) = @_;
    for my $try (1 .. 3) {
        return 1 if $self->_start_once;
        return 0 if $self->{fixed} || $self->{started_once} || !$self->binary;
        $self->{port} = TwFleet::free_port();
        $self->{hostport} = "127.0.0.1:$self->{port}";
    }
    return 0;
}

sub _start_once {
    my ($self) = @_;
    my $bin = $self->binary;
    unless ($bin) {
        $self->{why} = $self->program . ' not found (Debian: apt-get install '
            . $self->package . ')';
        return 0;
    }
    my @cmd = ($bin, $self->arguments);
    my $pid = fork // croak "fork: $!";
    if (!$pid) {
        POSIX::setsid();
        open STDIN, '<', '/dev/null';
        if ($self->{log}) {
            open STDOUT, '>>', $self->{log};
            open STDERR, '>&', \*STDOUT;
        }
        exec @cmd or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    push @DAEMONS, $self unless grep { $_ == $self } @DAEMONS;
    my $until = time + 10;
    while (1) {
        # listening, and still alive a moment later (not someone else's port)
        if (TwFleet::port_open($self->{hostport})) {
            sleep 0.1;
            last if TwFleet::pid_alive($pid);
        }
        if (!TwFleet::pid_alive($pid) || time > $until) {
            kill 'KILL', $pid if TwFleet::pid_alive($pid);
            waitpid $pid, 0;
            $self->{why} = $self->program . " (@cmd) did not start listening";
            $self->{pid} = undef;
            return 0;
        }
        sleep 0.05;
    }
    $self->{started_once} = 1;
    return 1;
}

sub stop {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    $self->{pid} = undef;
    kill 'TERM', $pid;
    my $until = time + 10;
    while (time < $until) {
        last if waitpid($pid, POSIX::WNOHANG()) == $pid;
        sleep 0.05;
    }
    if (TwFleet::pid_alive($pid)) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }
    # the port is closed once the process is gone
    $until = time + 5;
    sleep 0.05 while TwFleet::port_open($self->{hostport}) && time < $until;
}

# One request line, the reply's lines up to one matching $end (or the
# first line when $end is undef); undef when the daemon cannot be reached.
sub _ask {
    my ($self, $request, $end) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $self->{hostport}, Timeout => 3)
        or return undef;
    print {$s} $request;
    my @lines;
    while (my $line = <$s>) {
        push @lines, $line;
        last if !defined $end || $line =~ $end;
    }
    close $s;
    return \@lines;
}

# ---------------------------------------------------------------------------
# memcached

package TwFleet::Memcached;
our @ISA = ('TwFleet::Daemon');

sub program { 'memcached' }
sub package { 'memcached' }
sub arguments {
    my ($self) = @_;
    return ('-l', '127.0.0.1', '-p', $self->{port}, '-U', '0', '-m', '16', '-c', '512', '-t', '2',
            $> == 0 ? ('-u', 'nobody') : ());   # memcached refuses root without -u
}

# "stats" as a hash (curr_items, cmd_get, cmd_set, get_hits, ...).
sub stats {
    my ($self) = @_;
    my $lines = $self->_ask("stats\r\n", qr/^END/) or return {};
    return { map { /^STAT (\S+) (\S+)/ ? ($1 => $2) : () } @$lines };
}

sub flush_all {
    my ($self) = @_;
    my $lines = $self->_ask("flush_all\r\n") or return 0;
    return ($lines->[0] // '') =~ /^OK/ ? 1 : 0;
}

# ---------------------------------------------------------------------------
# redis-server: no persistence (nothing written to disk), loopback only

package TwFleet::Redis;
our @ISA = ('TwFleet::Daemon');

sub program { 'redis-server' }
sub package { 'redis-server' }
sub arguments {
    my ($self) = @_;
    return ('--bind', '127.0.0.1', '--port', $self->{port}, '--save', '', '--appendonly', 'no',
            '--dir', TwTest::tw_vars()->{t_logs}, '--databases', '1', '--loglevel', 'warning');
}

# DBSIZE: the number of keys, or undef.
sub dbsize {
    my ($self) = @_;
    my $lines = $self->_ask("DBSIZE\r\n") or return undef;
    return ($lines->[0] // '') =~ /^:(\d+)/ ? $1 : undef;
}

1;
