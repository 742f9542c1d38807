<?php
// SPDX-License-Identifier: Apache-2.0
// Front controller reached through "RewriteRule ^ index.php" (an internal
// redirect): it reports exactly as t/php/report.php does.
require __DIR__ . '/../../php/report.php';
