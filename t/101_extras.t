# SPDX-License-Identifier: Apache-2.0
# The documented extras beyond the core interface (docs/reference.md "Directives"):
# TwWebhook On without a secret, TwWebhookEvents, TwWebhookRequireJSON,
# TwWebhookExportJSON and the configurable header names. The main test
# server has /events, /json and /hdrs (GitHub's names); the rest (deeper
# pointers, ~0/~1 escapes, array indices, unsafe values, Teamwork Projects'
# header names) runs on a second httpd generated here (t/lib/TwFleet.pm),
# with the same CGI and php-fpm downstreams, and the variable-name checks
# on `httpd -t`.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;
use TwFleet;

# --- TwWebhook On where no secret applies: fails closed ----------------------
for my $ds (downstreams()) {
    my $body = '{}';
    my $mark = log_mark();
    my $res = tw_request(path => url('onnosecret', $ds), body => $body,
                         signature => sign($body, $SECRET{a}));
    TwTest::expect_fault($res->{id});
    check_rejected($res, 500, 'TWW0408', 'TwWebhook On, but no TwWebhookSecret applies here',
                   $mark, "$ds: TwWebhook On without a secret: 500, TWW0408 at error");
}

# --- TwWebhookEvents page.* comment.created *.deleted ---------------------------
for my $ds (downstreams()) {
    for my $event (qw(page.updated comment.created task.deleted)) {
        my $body = qq({"event":"$event"});
        my $res = tw_request(path => url('events', $ds), body => $body, event => $event,
                             signature => sign($body, $SECRET{a}));
        check_delivered($res, $ds, $body,
                        { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => $event },
                        "$ds: event $event matches TwWebhookEvents: delivered");
    }
    for my $event ('task.created', 'comment.updated', 'pages.updated', undef) {
        my $what = defined $event ? "event $event" : 'no Event header';
        my $body = '{"event":"other"}';
        my $res = tw_request(path => url('events', $ds), body => $body, event => $event,
                             signature => sign($body, $SECRET{a}));
        is($res->{status}, 200, "$ds: $what outside TwWebhookEvents: 200")
            or diag(describe($res));
        like($res->{body} // '', qr/^ignored: event not handled here/,
             "$ds: $what: answered \"ignored\" by the module");
        is(downstream_ran($res->{id}), 0, "$ds: $what: the app did not run");
    }
    my $body = '{"event":"task.created"}';
    my $mark = log_mark();
    my $res = tw_request(path => url('events', $ds), body => $body, event => 'task.created',
                         signature => sign($body, $SECRET{unknown}));
    check_rejected($res, 401, 'TWW0110', 'signature mismatch', $mark,
                   "$ds: an unwanted event with a wrong signature is still a 401");
}

# --- TwWebhookRequireJSON On, TwWebhookExportJSON --------------------------------
for my $ds (downstreams()) {
    my $body = qq({"page":{"id":42,"title":"T"},"space":{"code":"ENG"},"flags":[true,false]}\n);
    my $res = tw_request(path => url('json', $ds), body => $body,
                         headers => ['TW-PAGE-ID' => '999'],
                         signature => sign($body, $SECRET{a}));
    check_delivered($res, $ds, $body,
                    { TW_WEBHOOK_VERIFIED => '1' }, "$ds: JSON body delivered");
    is_deeply($res->{json} && { map { $_ => $res->{json}{tw_env}{$_} }
                                grep { !/^TW_WEBHOOK_/ } keys %{ $res->{json}{tw_env} } },
              { TW_PAGE_ID => '42', TW_SPACE_CODE => 'ENG', TW_FIRST_FLAG => 'true' },
              "$ds: TwWebhookExportJSON exported number, string and boolean, nothing else");

    $body = '{"page":{"id":null},"space":{"code":{"nested":1}},"flags":["a\u0001b"]}';
    $res = tw_request(path => url('json', $ds), body => $body,
                      headers => ['TW-PAGE-ID' => '999', 'TW_PAGE_ID' => '999'],
                      signature => sign($body, $SECRET{a}));
    is($res->{status}, 200, "$ds: null, object, control character: delivered")
        or diag(describe($res));
    is_deeply($res->{json} && [ grep { !/^TW_WEBHOOK_/ } sort keys %{ $res->{json}{tw_env} } ],
              [], "$ds: ... and none of them exported (headers cannot set them either)");

    for my $bad ('not json', '{"a":1}{"b":2}', '{"a":', '') {
        my $mark = log_mark();
        $res = tw_request(path => url('json', $ds), body => $bad,
                          signature => sign($bad, $SECRET{a}));
        check_rejected($res, 400, 'TWW0117', 'body is not one JSON document that every parser '
                       . 'reads alike (TwWebhookRequireJSON): body is not one JSON document',
                       $mark, "$ds: TwWebhookRequireJSON On: body '$bad' refused with 400");
    }
}

# --- TwWebhookSignatureHeader / EventHeader / DeliveryHeader (GitHub's names) ---
for my $ds (downstreams()) {
    my $body = '{"action":"opened","number":1}';
    my $delivery = '72d3162e-cc78-11e3-81ab-4c9367dc0958';
    my $res = tw_request(path => url('hdrs', $ds), body => $body, delivery => undef,
                         headers => ['X-Hub-Signature-256' => 'sha256=' . sign($body, $SECRET{a}),
                                     'X-GitHub-Event' => 'pull_request',
                                     'X-GitHub-Delivery' => $delivery]);
    check_delivered($res, $ds, $body,
                    { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => 'pull_request',
                      TW_WEBHOOK_DELIVERY => $delivery },
                    "$ds: X-Hub-Signature-256 / X-GitHub-Event / X-GitHub-Delivery");

    my $mark = log_mark();
    $res = tw_request(path => url('hdrs', $ds), body => $body, event => 'pull_request',
                      delivery => undef, signature => sign($body, $SECRET{a}));
    check_rejected($res, 401, 'TWW0102', 'signature header missing', $mark,
                   "$ds: the default Signature header does not count there");

    $mark = log_mark();
    $res = tw_request(path => url('hdrs', $ds), body => $body, delivery => undef,
                      headers => ['X-Hub-Signature-256' => 'sha256=' . sign($body, $SECRET{a}),
                                  'X-GitHub-Event' => 'Pull Request']);
    check_rejected($res, 400, 'TWW0111', 'Event header not plain', $mark,
                   "$ds: the configured Event header is validated");
}

# --- TwWebhookExportJSON in depth, on a generated server -------------------------
my $long_ok = 'L' x 1024;   # TW_JSON_VALUE_MAX
my @EXPORTS = (
    # pointer            variable          expected value (undef: not exported)
    ['/page/id',         'TW_PAGE_ID',     '42'],
    ['/a/b/c/d',         'TW_DEEP',        'deep'],
    ['/items/1/id',      'TW_ITEM1',       'second'],
    ['/items/0/tags/2',  'TW_TAG',         't2'],
    ['/a~1b',            'TW_SLASH_KEY',   'slash'],
    ['/m~0n',            'TW_TILDE_KEY',   'tilde'],
    ['/c~01',            'TW_TILDE_ONE',   'tilde-one'],
    ['/x y',             'TW_SPACE_KEY',   'space'],
    ['/num',             'TW_NUM',         '1.50'],
    ['/exp',             'TW_EXP',         '2E+3'],
    ['/neg',             'TW_NEG',         '-17'],
    ['/big',             'TW_BIG',         '12345678901234567890'],
    ['/bool',            'TW_BOOL',        'false'],
    ['/utf',             'TW_UTF',         "caf\xc3\xa9 \xe2\x82\xac"],
    ['/empty',           'TW_EMPTY',       ''],
    ['/max',             'TW_MAX',         $long_ok],
    ['/title',           'TW_TITLE',       undef],   # "a\nb": control character
    ['/tab',             'TW_TAB',         undef],   # "a\tb"
    ['/cr',              'TW_CR',          undef],   # "a\rb"
    ['/del',             'TW_DEL',         undef],   # U+007F
    ['/nulchar',         'TW_NULCHAR',     undef],   # "a\u0000b"
    ['/long',            'TW_LONG',        undef],   # 1025 bytes
    ['/huge',            'TW_HUGE',        undef],   # beyond uint64: clamped by json-c
    ['/obj',             'TW_OBJ',         undef],   # object
    ['/arr',             'TW_ARR',         undef],   # array
    ['/nul',             'TW_NUL',         undef],   # null
    ['/items/01',        'TW_LEADING_ZERO', undef],  # not an array index
    ['/items/-',         'TW_DASH',        undef],   # past the end
    ['/items/9',         'TW_OUT_OF_RANGE', undef],
    ['/missing',         'TW_MISSING',     undef],
);
my $json_body = '{"page":{"id":42},"a":{"b":{"c":{"d":"deep"}}},'
    . '"items":[{"id":"first","tags":["t0","t1","t2"]},{"id":"second"}],'
    . '"a/b":"slash","m~n":"tilde","c~1":"tilde-one","x y":"space",'
    . '"num":1.50,"exp":2E+3,"neg":-17,"big":12345678901234567890,"bool":false,'
    . '"utf":"caf\u00e9 \u20ac","empty":"","max":"' . $long_ok . '",'
    . '"title":"a\nb","tab":"a\tb","cr":"a\rb","del":"a\u007fb","nulchar":"a\u0000b",'
    . '"long":"' . ('L' x 1025) . '","huge":99999999999999999999,'
    . '"obj":{"k":1},"arr":[1,2],"nul":null}';

my $x = TwFleet->new(
    name => 'extras', routes => [qw(deep proj tuned)],
    conf => join("\n",
        '# a setting whose only secret is in a <Directory> that never matches it:',
        '# configtest cannot tell; each request fails closed (TWW0408)',
        '<Directory "/nonexistent-twwebhook">',
        qq(    TwWebhookSecret "$SECRET{a}"),
        '</Directory>',
        '<Location /tuned>',
        '    TwWebhookProfile github',
        '</Location>',
        '<Location /deep>',
        qq(    TwWebhookSecret "$SECRET{a}"),
        (map { qq(    TwWebhookExportJSON "$_->[0]" $_->[1]) } @EXPORTS),
        '</Location>',
        '# Teamwork.com Projects (README)',
        '<Location /proj>',
        qq(    TwWebhookSecret "$SECRET{a}"),
        '    TwWebhookSignatureHeader X-Projects-Signature',
        '    TwWebhookEventHeader     X-Projects-Event',
        '    TwWebhookDeliveryHeader  X-Projects-Delivery',
        '</Location>', ''));
my $xok = ok($x->start, 'a second httpd for the export and header-name cases starts')
    or diag($x->why);

if ($xok) {
    # (its line names no delivery: github's profile reads another header)
    TwTest::expect_fault('TWW0408: rejected with 500: TwWebhookProfile (');
    for my $ds (downstreams()) {
        my $mark = $x->log_mark;
        my $res = tw_request(hostport => $x->hostport, path => url('tuned', $ds), body => '{}',
                             signature => undef);
        is($res->{status}, 500, "$ds: a section with a setting and no secret at run time: 500")
            or diag(describe($res));
        is(downstream_ran($res->{id}), 0, '... the app did not run');
        ok($x->wait_log($mark, rejection_re('TWW0408', 500, qr/TwWebhookProfile \(\S+:\d+\), but no TwWebhookSecret applies here/, undef)),
           '... TWW0408 names the directive and where it is set')
            or diag($x->log_since($mark));
    }
    for my $ds (downstreams()) {
        my $mark = $x->log_mark;
        my $res = tw_request(hostport => $x->hostport, path => url('deep', $ds), body => $json_body,
                             headers => ['TW-DEEP' => 'from-a-header', 'TW_DEEP' => 'again'],
                             signature => sign($json_body, $SECRET{a}));
        check_delivered($res, $ds, $json_body, { TW_WEBHOOK_VERIFIED => '1' },
                        "$ds: the body with every kind of value is delivered");
        my $env = $res->{json} && $res->{json}{tw_env} || {};
        for my $e (@EXPORTS) {
            my ($ptr, $name, $want) = @$e;
            if (defined $want) {
                my $got = $env->{$name};
                # php's json_encode escapes UTF-8 as \uXXXX: back to bytes
                utf8::encode($got) if $ds eq 'php' && defined $got;
                is($got, $want, "$ds: $ptr exported as $name"
                   . (length $want > 40 ? ' (' . length($want) . ' bytes)' : " = \"$want\""));
            }
            else {
                ok(!exists $env->{$name}, "$ds: $ptr not exported ($name unset)")
                    or diag("$name = " . ($env->{$name} // 'undef'));
            }
        }
        my @extra = grep { my $k = $_; !/^TW_WEBHOOK_/ && !grep { $_->[1] eq $k } @EXPORTS }
            sort keys %$env;
        is_deeply(\@extra, [], "$ds: no other TW_* variable");
        ok($x->wait_log($mark, qr/\[twwebhook:info\].* TWW0202: TW_TITLE not exported from \/title: /),
           "$ds: the control character in /title is logged at info (TWW0202)")
            or diag($x->log_since($mark));
        my $lines = $x->log_since($mark);
        unlike($lines, qr/TW_TITLE not exported.*a\\nb|a\nb/, "$ds: ... without the value itself");

        # RequireJSON Off: a body that is not JSON is delivered, nothing exported
        my $plain = 'page 42 updated';
        $res = tw_request(hostport => $x->hostport, path => url('deep', $ds), body => $plain,
                          signature => sign($plain, $SECRET{a}));
        check_delivered($res, $ds, $plain, { TW_WEBHOOK_VERIFIED => '1', TW_PAGE_ID => undef },
                        "$ds: not JSON (TwWebhookRequireJSON Off): delivered, nothing exported");
    }

    # --- Teamwork Projects' header names ---
    for my $ds (downstreams()) {
        my $body = '{"event":"TASK.CREATED","task":{"id":7}}';
        my $sig = sign($body, $SECRET{a});
        for my $spelling ([plain => $sig], ['sha256= prefix' => "sha256=$sig"],
                          [uppercase => uc $sig]) {
            my $res = tw_request(hostport => $x->hostport, path => url('proj', $ds), body => $body,
                                 delivery => undef,
                                 headers => ['X-Projects-Signature' => $spelling->[1],
                                             'X-Projects-Event' => 'task.created',
                                             'X-Projects-Delivery' => '1234567']);
            check_delivered($res, $ds, $body,
                            { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => 'task.created',
                              TW_WEBHOOK_DELIVERY => '1234567' },
                            "$ds: X-Projects-Signature ($spelling->[0]) / -Event / -Delivery");
        }
        # the default names mean nothing there
        my $mark = $x->log_mark;
        my $res = tw_request(hostport => $x->hostport, path => url('proj', $ds), body => $body,
                             signature => $sig, event => 'task.created');
        is($res->{status}, 401, "$ds: only the default Signature header: 401") or diag(describe($res));
        is(downstream_ran($res->{id}), 0, "$ds: ... the app did not run");
        ok($x->wait_log($mark, rejection_re('TWW0102', 401, 'signature header missing')),
           "$ds: ... logged \"signature header missing\" (TWW0102)")
            or diag($x->log_since($mark));
        $res = tw_request(hostport => $x->hostport, path => url('proj', $ds), body => $body,
                          signature => sign($body, $SECRET{unknown}), event => 'task.created',
                          headers => ['X-Projects-Signature' => $sig]);
        check_delivered($res, $ds, $body,
                        { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => undef,
                          TW_WEBHOOK_DELIVERY => undef },
                        "$ds: a wrong default Signature beside the right X-Projects-Signature is "
                        . 'ignored, so are Event and Delivery');
        $mark = $x->log_mark;
        $res = tw_request(hostport => $x->hostport, path => url('proj', $ds), body => $body,
                          delivery => undef,
                          headers => ['X-Projects-Signature' => sign($body, $SECRET{unknown}),
                                      'X-Projects-Delivery' => 'proj-forged-1'],
                          signature => $sig);
        is($res->{status}, 401, "$ds: a wrong X-Projects-Signature beside a right Signature: 401")
            or diag(describe($res));
        ok($x->wait_log($mark, rejection_re('TWW0110', 401, 'signature mismatch', 'proj-forged-1')),
           "$ds: ... logged (TWW0110) with the X-Projects-Delivery value")
            or diag($x->log_since($mark));
    }
    $x->stop;
}

# --- variable names refused at configtest, with file and line ---------------------
{
    my $vars = tw_vars();
    my $dir = "$vars->{t_logs}/extras-configtest";
    require File::Path;
    File::Path::remove_tree($dir);
    File::Path::make_path($dir);
    my $so = TwFleet::top_dir() . '/.libs/mod_twwebhook.so';
    my $i = 0;
    for my $name (qw(HTTP_X tw_page_id Tw_Page_Id HTTP_ REDIRECT_X TW_WEBHOOK_X PHP_VALUE
                     9LIVES TW-PAGE)) {
        my $file = sprintf '%s/case%02d.conf', $dir, ++$i;
        my @lines = (qq(ServerRoot "$dir"), 'ServerName localhost', qq(ErrorLog "$dir/error_log"),
                     qq(PidFile "$dir/httpd.pid"), qq(DefaultRuntimeDir "$dir"),
                     qq(LoadModule mpm_event_module "$vars->{src_dir}/mod_mpm_event.so"),
                     qq(LoadModule twwebhook_module "$so"),
                     '<Location /h>', qq(    TwWebhookSecret "$SECRET{a}"),
                     "    TwWebhookExportJSON /page/id $name", '</Location>');
        open my $fh, '>', $file or die "write $file: $!";
        print {$fh} map { "$_\n" } @lines;
        close $fh;
        my $out = qx("$vars->{httpd}" -t -f "$file" 2>&1);
        my $rc = $? >> 8;
        subtest "TwWebhookExportJSON /page/id $name: configtest fails" => sub {
            isnt($rc, 0, 'httpd -t exits non-zero') or diag($out);
            like($out, qr/line 10 of \Q$file\E/, 'names the file and line 10') or diag($out);
            like($out, qr/TwWebhookExportJSON: '\Q$name\E' cannot be used as a variable name/,
                 'says why') or diag($out);
            unlike($out, qr/\Q$SECRET{a}\E/, 'shows no secret');
        };
    }
}

done_testing();
